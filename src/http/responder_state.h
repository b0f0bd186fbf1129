// What a Responder holds (internal to src/http): where its answer goes,
// until it is answered or the server detaches it.
#pragma once

#include <functional>
#include <mutex>

#include "patchbay/http.h"

namespace patchbay::http {

struct Responder::State {
  std::mutex mutex;
  std::function<void(Response)> deliver;  // guarded by mutex; empty once answered or detached
  ErrorShape errorShape = ErrorShape::kCodeAndMessage;  // of the 500 below

  // Where the answer goes (once); empty when answered or detached.
  std::function<void(Response)> take() {
    std::lock_guard lock(mutex);
    return std::move(deliver);
  }
  // Delivers under the lock, so that a server detaching its waiting
  // requests (take(), before its IO threads end) waits for a delivery in
  // progress: none reaches a connection after its server has stopped.
  void send(Response response) {
    std::lock_guard lock(mutex);
    if (!deliver) return;
    auto once = std::move(deliver);
    once(std::move(response));
  }
  // Dropped without an answer: a bug in the handler costs this request a
  // 500, not a connection that hangs until the client gives up.
  ~State() {
    if (deliver) deliver(Response::error(500, "internal", "the handler finished without an answer", errorShape));
  }
};

}  // namespace patchbay::http
