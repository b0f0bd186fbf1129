// How a runtime thread with nothing to do sleeps until there is: the
// watchdog sleeps while no plugin runs a task or has a request waiting (it
// looks every few milliseconds while one does), the supervisor while no
// plugin has failed; whoever makes work for them rings. Ringing costs one
// atomic load while the sleeper is awake (the common case under load).
// Internal to the runtime.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace patchbay {

class WakeBell {
 public:
  // After the work is visible to busy() (seq_cst: either the sleeper sees
  // the work, or this sees it asleep and wakes it).
  void ring() {
    if (!asleep_.load()) return;
    {
      std::lock_guard lock(mu_);
      rung_ = true;
    }
    wake_.notify_one();
  }

  // The sleeper's side: sleeps until rung or stopped, unless `busy()`,
  // asked once the sleep is announced, finds work already. Once stopped it
  // no longer sleeps.
  // With `until`, it sleeps no later than that.
  template <class Busy>
  void sleepUnless(Busy busy, std::optional<std::chrono::steady_clock::time_point> until = std::nullopt) {
    asleep_.store(true);
    if (!busy()) {
      std::unique_lock lock(mu_);
      auto woken = [this] { return rung_ || stopped_; };
      if (until) {
        wake_.wait_until(lock, *until, woken);
      } else {
        wake_.wait(lock, woken);
      }
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
