// libFuzzer: cron expressions. Parsing must not crash; a parsed schedule's
// next run must be later than the start and match the schedule.
#include <chrono>
#include <cstdint>
#include <string_view>

#include "patchbay/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto s = patchbay::CronSchedule::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!s) return 0;
  auto start = std::chrono::system_clock::from_time_t(1795000000);
  auto next = s->next(start);
  if (next && (*next <= start || !s->matches(*next))) __builtin_trap();
  return 0;
}
