// Isolates made ahead of time. `v8::Isolate::New` and a context are most of
// a plugin's activation here (3-5 ms and 1.5 ms: snapshots deserialized into
// a fresh heap whose pages fault in one by one); background threads make
// them while nothing waits, so an activation takes a ready one and only adds
// the prelude's API object and the plugin's module.
// Internal to the runtime.
#pragma once

#include <v8.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace patchbay {

// A fresh isolate with its base context (base_context.h), and the
// ArrayBuffer allocator it was made with (capped at its heap size). No
// plugin code has run in it and no thread holds it.
struct FreshIsolate {
  v8::Isolate* isolate = nullptr;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator;
  v8::Global<v8::Context> context;
  v8::Global<v8::Function> preludeFactory;
  std::string failure;  // why there is no base context (a runtime script threw), else empty
  bool madeAhead = false;  // by the pool's threads, before it was asked for

  // Lets go of the context and disposes the isolate (if not taken over).
  void dispose();
};

// Makes an isolate for a plugin whose JS heap is limited to `heapBytes` (and
// its ArrayBuffers likewise), and its base context, on the calling thread.
// V8's own limit is kHeapHeadroom above it (see makeIsolate).
constexpr size_t kHeapHeadroom = size_t{1} << 30;
FreshIsolate makeIsolate(size_t heapBytes);

class IsolatePool {
 public:
  // The process's pool, shared by every runtime: made on first use, its
  // thread stopped and its spare isolates disposed when the last holder
  // lets go.
  static std::shared_ptr<IsolatePool> shared();

  // `spares`: how many ready isolates it keeps for each heap size asked
  // for; `makers`: how many threads make them.
  IsolatePool(size_t spares, size_t makers);
  ~IsolatePool();
  IsolatePool(const IsolatePool&) = delete;
  IsolatePool& operator=(const IsolatePool&) = delete;

  // A ready isolate of `heapBytes` when there is one, else one made now on
  // this thread. Either way the pool then makes spares of that size.
  FreshIsolate take(size_t heapBytes);

  // How many ready isolates of `heapBytes` it holds now (for tests).
  size_t ready(size_t heapBytes);

 private:
  void refill();

  const size_t spares_;
  const size_t makers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<size_t, std::deque<FreshIsolate>> ready_;  // by heap size; guarded by mu_
  std::map<size_t, size_t> making_;                   // being made, by heap size; guarded by mu_
  bool stopping_ = false;                             // guarded by mu_
  std::vector<std::thread> threads_;                  // started by the first take; guarded by mu_
};

}  // namespace patchbay
