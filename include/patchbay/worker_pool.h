// patchbay/worker_pool.h — a few threads for CPU-heavy work (bundling,
// compression) that must not run on a server's IO threads, with a bounded
// queue so that a burst of such work is refused instead of piling up.
//
//   WorkerPool pool("pb-publish", 1, 8);
//   if (!pool.post([done, body] { done.send(publish(body)); })) {
//     done.send(busy503());   // 8 jobs already wait
//   }
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace patchbay {

class WorkerPool {
 public:
  // `threads` workers (at least one) named `name` (top -H, perf); at most
  // `maxQueued` jobs waiting beyond the ones running.
  WorkerPool(std::string name, size_t threads, size_t maxQueued);
  // Runs the jobs already queued, then joins the workers.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; false (and the job is not run) when maxQueued jobs wait.
  // Thread-safe. A job must not throw.
  bool post(std::function<void()> job);
  // Jobs waiting (not counting the running ones).
  size_t queued() const;

 private:
  void work();
  const size_t maxQueued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace patchbay
