#include "panel/throttle.h"

#include <algorithm>

#include "patchbay/text.h"

namespace patchbay::panel {

void Throttle::expire(std::deque<Clock::time_point>& times, Clock::time_point now) const {
  while (!times.empty() && now - times.front() >= window_) times.pop_front();
}

std::chrono::seconds Throttle::wait(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return std::chrono::seconds(0);
  expire(it->second, now);
  if (it->second.size() < limit_) return std::chrono::seconds(0);
  // Until the oldest counted failure leaves the window, rounded up.
  const auto left = it->second.front() + window_ - now;
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(left));
}

void Throttle::record(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (failures_.size() >= maxKeys_ && !failures_.contains(key)) {
    // Full: drop what has expired, and if that is not enough, the key whose last failure is oldest.
    for (auto it = failures_.begin(); it != failures_.end();) {
      expire(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
    if (failures_.size() >= maxKeys_) {
      auto quietest = std::min_element(failures_.begin(), failures_.end(),
                                       [](const auto& a, const auto& b) { return a.second.back() < b.second.back(); });
      failures_.erase(quietest);
    }
  }
  auto& times = failures_[key];
  expire(times, now);
  times.push_back(now);
  if (times.size() > limit_) times.pop_front();  // only the last `limit_` matter
}

std::string Throttle::keyOf(std::string_view username) { return asciiLower(username.substr(0, 64)); }

void Throttle::clear(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

}  // namespace patchbay::panel
