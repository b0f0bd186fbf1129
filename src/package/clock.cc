#include "patchbay/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace patchbay {

namespace {

std::string format(std::chrono::system_clock::time_point t, bool millis) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!millis) return std::string(buf) + "Z";
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

}  // namespace

std::string utcNow() { return format(std::chrono::system_clock::now(), false); }
std::string utcNowMillis() { return format(std::chrono::system_clock::now(), true); }
std::string utcToday() { return utcNow().substr(0, 10); }

}  // namespace patchbay
