// How the runtime's watchdog sleeps while there is nothing to time: it
// looks at the plugins every few milliseconds only while one of them runs
// a task or has a request waiting for it, and otherwise sleeps until
// whoever starts such work rings. Ringing costs one atomic load while the
// watchdog is awake (the common case under load).
// Internal to the runtime.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace patchbay {

class WatchdogBell {
 public:
  // After the work is visible to busy() (seq_cst: either the watchdog sees
  // the work, or this sees it asleep and wakes it).
  void ring() {
    if (!asleep_.load()) return;
    {
      std::lock_guard lock(mu_);
      rung_ = true;
    }
    wake_.notify_one();
  }

  // The watchdog's side: sleeps until rung or stopped, unless `busy()`,
  // asked once the sleep is announced, finds work already.
  template <class Busy>
  void sleepUnless(Busy busy) {
    asleep_.store(true);
    if (!busy()) {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return rung_ || stopped_; });
      rung_ = false;
    }
    asleep_.store(false);
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    wake_.notify_one();
  }

 private:
  std::atomic<bool> asleep_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  bool rung_ = false, stopped_ = false;  // guarded by mu_
};

}  // namespace patchbay
