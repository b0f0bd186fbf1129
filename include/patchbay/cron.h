// patchbay/cron.h — cron schedules (sodium.cron.register), in UTC with
// one-minute resolution.
//
//   "M H DoM Mon DoW"   each field: *  N  */N  A-B  A-B/N  lists "1,15,30"
//   months and weekdays also by name (JAN..DEC, SUN..SAT); weekday 7 = 0 = Sunday
//   @hourly @daily (@midnight) @weekly @monthly @yearly (@annually)
//
// When both day-of-month and day-of-week are restricted (neither admits
// every value), a day matches when either does, as in Vixie cron; a field
// that admits every value ("*", "*/1", "0-6") leaves the other to decide.
// (Vixie cron looks at the text: "*/2" counts as "*" there. We look at the
// values, as croniter does; tests/unit/cron_test.cc compares with it.)
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "patchbay/result.h"

namespace patchbay {

class CronSchedule {
 public:
  // Errors name the field and what is wrong with it.
  static Result<CronSchedule> parse(std::string_view expression);

  // Whether the minute containing `t` (UTC) is a run time.
  bool matches(std::chrono::system_clock::time_point t) const;
  // The first run time strictly after `t` (to the minute); nullopt when
  // there is none within eight years (e.g. "0 0 30 2 *").
  std::optional<std::chrono::system_clock::time_point> next(std::chrono::system_clock::time_point t) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> daysOfMonth_;  // 1..31
  std::bitset<13> months_;       // 1..12
  std::bitset<7> daysOfWeek_;    // 0..6, Sunday = 0
  bool anyDayOfMonth_ = false, anyDayOfWeek_ = false;
};

}  // namespace patchbay
