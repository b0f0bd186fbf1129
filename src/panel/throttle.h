// Failed sign-ins counted per key (an account, an address) in a sliding
// window: past the limit, the key waits until its oldest failure leaves
// the window. In memory, bounded: a flood of new keys evicts the quietest.
// Internal to the panel (auth_routes.cc).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace patchbay::panel {

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;
  Throttle(size_t limit, std::chrono::seconds window, size_t maxKeys = 100000) : limit_(limit), window_(window), maxKeys_(maxKeys) {}

  // How long `key` must wait before its next try; zero when it may go on.
  std::chrono::seconds wait(const std::string& key, Clock::time_point now = Clock::now());
  // Counts one failure (or, for a throttle of attempts, one attempt).
  void record(const std::string& key, Clock::time_point now = Clock::now());
  // Forgets `key`'s failures (a sign-in that succeeded).
  void clear(const std::string& key);
  // An account's key: its name as the panel compares names (ASCII case folded).
  static std::string keyOf(std::string_view username);

 private:
  void expire(std::deque<Clock::time_point>& times, Clock::time_point now) const;
  const size_t limit_;
  const std::chrono::seconds window_;
  const size_t maxKeys_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> failures_;  // guarded by mu_
};

}  // namespace patchbay::panel
