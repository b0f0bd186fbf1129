// Cron schedules: the grammar, errors that name the field, and agreement
// with Debian's python3-croniter on generated expressions.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "patchbay/cron.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

using namespace std::chrono;

system_clock::time_point utc(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return system_clock::from_time_t(timegm(&tm));
}

std::string nextOf(const std::string& expr, system_clock::time_point from) {
  auto s = CronSchedule::parse(expr);
  if (!s) return "error: " + s.error().message;
  auto n = s->next(from);
  if (!n) return "never";
  std::time_t t = system_clock::to_time_t(*n);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

TEST(Cron, Grammar) {
  auto sunday = utc(2026, 11, 22, 13, 7);  // a Sunday
  EXPECT_EQ(nextOf("* * * * *", sunday), "2026-11-22 13:08");
  EXPECT_EQ(nextOf("*/15 * * * *", sunday), "2026-11-22 13:15");
  EXPECT_EQ(nextOf("0 9 * * MON-FRI", sunday), "2026-11-23 09:00");
  EXPECT_EQ(nextOf("0 0 1 * *", sunday), "2026-12-01 00:00");  // seed 004's billing cycle
  EXPECT_EQ(nextOf("0 9 * * *", sunday), "2026-11-23 09:00");   // seed 004's reminders
  EXPECT_EQ(nextOf("30 2 * JAN,jul 0", sunday), "2027-01-03 02:30");
  EXPECT_EQ(nextOf("0 0 * * 7", sunday), "2026-11-29 00:00");  // 7 is Sunday too
  EXPECT_EQ(nextOf("0 12 13 * 5", sunday), "2026-11-27 12:00");  // day of month OR Friday
  EXPECT_EQ(nextOf("5/20 * * * *", sunday), "2026-11-22 13:25");
  EXPECT_EQ(nextOf("@hourly", sunday), "2026-11-22 14:00");
  EXPECT_EQ(nextOf("@daily", sunday), "2026-11-23 00:00");
  EXPECT_EQ(nextOf("@weekly", sunday), "2026-11-29 00:00");
  EXPECT_EQ(nextOf("@monthly", sunday), "2026-12-01 00:00");
  EXPECT_EQ(nextOf("0 0 29 2 *", sunday), "2028-02-29 00:00");
  EXPECT_EQ(nextOf("0 0 30 2 *", sunday), "never");
  EXPECT_TRUE(CronSchedule::parse("0 9 * * *")->matches(utc(2026, 11, 23, 9, 0) + seconds(42)));
  EXPECT_FALSE(CronSchedule::parse("0 9 * * *")->matches(utc(2026, 11, 23, 9, 1)));
}

TEST(Cron, ErrorsNameTheField) {
  for (const auto& [expr, expected] : std::vector<std::pair<std::string, std::string>>{
           {"* * * *", "needs 5 fields"},
           {"60 * * * *", "minute: \"60\" is outside 0-59"},
           {"* 24 * * *", "hour: \"24\" is outside 0-23"},
           {"* * 0 * *", "day of month: \"0\" is outside 1-31"},
           {"* * * 13 *", "month: \"13\" is outside 1-12"},
           {"* * * * 8", "day of week: \"8\" is outside 0-7"},
           {"*/0 * * * *", "the step must be a positive number"},
           {"5-1 * * * *", "the range runs backwards"},
           {"a * * * *", "minute: \"a\" is not a number"},
           {"* * * FOO *", "month: \"FOO\" is not a number or name"},
           {"1,,2 * * * *", "an empty list item"},
           {"@often", "unknown shorthand"}}) {
    auto s = CronSchedule::parse(expr);
    ASSERT_FALSE(s.ok()) << expr;
    EXPECT_NE(s.error().message.find(expected), std::string::npos) << expr << ": " << s.error().message;
  }
}

TEST(Cron, AgreesWithCroniter) {
  auto out = test::run(std::string("/usr/bin/python3 '") + PATCHBAY_SOURCE_DIR + "/tests/oracle/cron_cases.py' 3000 7");
  ASSERT_EQ(out.exitCode, 0) << out.output << " (scripts/setup installs python3-croniter)";
  std::istringstream lines(out.output);
  std::string line;
  size_t cases = 0, agree = 0;
  while (std::getline(lines, line)) {
    auto c = nlohmann::json::parse(line);
    auto s = CronSchedule::parse(c["expr"].get<std::string>());
    ASSERT_TRUE(s.ok()) << c["expr"] << ": " << s.error().message;
    auto next = s->next(system_clock::from_time_t(c["start"].get<int64_t>()));
    ++cases;
    if (next && system_clock::to_time_t(*next) == c["next"].get<int64_t>()) {
      ++agree;
    } else {
      ADD_FAILURE() << c["expr"] << " from " << c["start"] << ": croniter " << c["next"] << ", we "
                    << (next ? std::to_string(system_clock::to_time_t(*next)) : std::string("never"));
    }
  }
  EXPECT_GT(cases, 2500u);
  EXPECT_EQ(agree, cases);
}

}  // namespace
}  // namespace patchbay
