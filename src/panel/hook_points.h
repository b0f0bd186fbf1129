// Where the panel emits seed 004's hook points: awaited ones on workers
// (a handler may take up to the runtime's hook timeout; no IO thread
// waits for it), after-the-fact ones on one thread, in order.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>

#include "patchbay/panel.h"
#include "patchbay/worker_pool.h"

namespace patchbay::panel {

class HookPoints {
 public:
  // `warn` hears about hooks dropped because too many wait.
  explicit HookPoints(std::function<void(const std::string&)> warn) : warn_(std::move(warn)) {}
  ~HookPoints() { connect(nullptr); }

  // Emits to `emit` from now on; nullptr disconnects, once the emits under
  // way have finished (so that the emitter may go away after). `listening`
  // (optional) tells which events anyone hears.
  void connect(HookEmitter emit, HookListeners listening = {});
  // Whether `event` would reach a handler: callers skip building the
  // context of an after-the-fact event nobody hears.
  bool listens(const std::string& event);
  // Runs the chain on the calling thread (a worker's: see awaiting()).
  HookResult await(const std::string& event, const nlohmann::ordered_json& context);
  // After the fact: queued for the hook thread (unless nobody listens).
  void after(std::string event, nlohmann::ordered_json context);
  // Runs `job` on a worker that may wait for hooks; false when too many wait.
  bool awaiting(std::function<void()> job) { return awaiting_.post(std::move(job)); }

 private:
  std::function<void(const std::string&)> warn_;
  std::shared_mutex mu_;  // shared while emitting; connect() takes it whole
  HookEmitter emit_;
  HookListeners listening_;
  // Last: their queued jobs run while the rest still lives.
  WorkerPool after_{"pb-hook-after", 1, 4096};
  WorkerPool awaiting_{"pb-hook-wait", 2, 256};
};

}  // namespace patchbay::panel
