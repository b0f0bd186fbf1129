// Isolates made ahead of time. `v8::Isolate::New` is most of a plugin's
// activation here (3-5 ms: the startup snapshot is deserialized into a fresh
// heap whose pages fault in one by one); a background thread makes them
// while nothing waits, so an activation takes a ready one and only adds its
// context, the runtime's scripts and the plugin's module.
// Internal to the runtime.
#pragma once

#include <v8.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace patchbay {

// A fresh isolate and the ArrayBuffer allocator it was made with (capped at
// its heap size). Nothing has run in it and no thread holds it.
struct FreshIsolate {
  v8::Isolate* isolate = nullptr;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator;
};

// Makes an isolate whose JS heap is limited to `heapBytes` (and its
// ArrayBuffers likewise), on the calling thread.
FreshIsolate makeIsolate(size_t heapBytes);

class IsolatePool {
 public:
  // The process's pool, shared by every runtime: made on first use, its
  // thread stopped and its spare isolates disposed when the last holder
  // lets go.
  static std::shared_ptr<IsolatePool> shared();

  // `spares`: how many ready isolates it keeps for each heap size asked for.
  explicit IsolatePool(size_t spares);
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
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<size_t, std::deque<FreshIsolate>> ready_;  // by heap size; guarded by mu_
  bool stopping_ = false;                             // guarded by mu_
  std::thread thread_;                                // started by the first take
};

}  // namespace patchbay
