#include "patchbay/cron.h"

#include <array>
#include <cctype>
#include <ctime>
#include <vector>

namespace patchbay {

namespace {

struct FieldSpec {
  const char* name;
  int min, max;
  const char* const* names;  // 3-letter names for min.., or nullptr
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

const FieldSpec kFields[] = {
    {"minute", 0, 59, nullptr}, {"hour", 0, 23, nullptr}, {"day of month", 1, 31, nullptr},
    {"month", 1, 12, kMonthNames}, {"day of week", 0, 7, kDayNames},
};

std::optional<int> parseNumber(std::string_view s, const FieldSpec& f) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  if (f.names && std::isalpha(static_cast<unsigned char>(s[0]))) {
    if (s.size() != 3) return std::nullopt;
    std::string upper;
    for (char c : s) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const int count = f.max - f.min + (f.names == kDayNames ? 0 : 1);
    for (int i = 0; i < count; ++i) {
      if (upper == f.names[i]) return f.min + i;
    }
    return std::nullopt;
  }
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Fills `bits` (index = value) from one field; returns an error message or "".
std::string parseField(std::string_view text, const FieldSpec& f, std::vector<bool>& bits) {
  bits.assign(static_cast<size_t>(f.max + 1), false);
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) return "an empty list item";
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      auto s = parseNumber(item.substr(slash + 1), {f.name, 1, 0, nullptr});
      if (!s || *s == 0) return "\"" + std::string(item) + "\": the step must be a positive number";
      step = *s;
      item = item.substr(0, slash);
    }
    int lo = f.min, hi = f.max;
    if (item != "*") {
      size_t dash = item.find('-');
      auto a = parseNumber(item.substr(0, dash), f);
      if (!a) return "\"" + std::string(item) + "\" is not a number" + (f.names ? " or name" : "");
      lo = hi = *a;
      if (dash != std::string_view::npos) {
        auto b = parseNumber(item.substr(dash + 1), f);
        if (!b) return "\"" + std::string(item) + "\" is not a range A-B";
        hi = *b;
      } else if (step != 1) {
        hi = f.max;  // "5/15": from 5 every 15
      }
      if (lo < f.min || hi > f.max) {
        return "\"" + std::string(item) + "\" is outside " + std::to_string(f.min) + "-" + std::to_string(f.max);
      }
      if (lo > hi) return "\"" + std::string(item) + "\": the range runs backwards";
    }
    for (int v = lo; v <= hi; v += step) bits[static_cast<size_t>(v)] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return "";
}

std::tm utcOf(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

Result<CronSchedule> CronSchedule::parse(std::string_view expression) {
  std::string_view e = expression;
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.front()))) e.remove_prefix(1);
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.back()))) e.remove_suffix(1);
  std::string_view source = e;
  if (e.starts_with("@")) {
    static const std::pair<std::string_view, std::string_view> kMacros[] = {
        {"@hourly", "0 * * * *"}, {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"}, {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}};
    bool found = false;
    for (const auto& [name, expansion] : kMacros) {
      if (e == name) {
        e = expansion;
        found = true;
      }
    }
    if (!found) return Error::invalid("cron \"" + std::string(source) + "\": unknown shorthand (use @hourly, @daily, @weekly, @monthly or @yearly)");
  }
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < e.size()) {
    while (i < e.size() && std::isspace(static_cast<unsigned char>(e[i]))) ++i;
    size_t j = i;
    while (j < e.size() && !std::isspace(static_cast<unsigned char>(e[j]))) ++j;
    if (j > i) fields.push_back(e.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    return Error::invalid("cron \"" + std::string(source) + "\": needs 5 fields (minute hour day-of-month month day-of-week), found " +
                          std::to_string(fields.size()));
  }
  CronSchedule s;
  s.text_ = std::string(source);
  std::vector<bool> bits[5];
  for (size_t k = 0; k < 5; ++k) {
    std::string problem = parseField(fields[k], kFields[k], bits[k]);
    if (!problem.empty()) return Error::invalid("cron \"" + std::string(source) + "\": " + kFields[k].name + ": " + problem);
  }
  for (int v = 0; v < 60; ++v) s.minutes_[static_cast<size_t>(v)] = bits[0][static_cast<size_t>(v)];
  for (int v = 0; v < 24; ++v) s.hours_[static_cast<size_t>(v)] = bits[1][static_cast<size_t>(v)];
  for (int v = 1; v <= 31; ++v) s.daysOfMonth_[static_cast<size_t>(v)] = bits[2][static_cast<size_t>(v)];
  for (int v = 1; v <= 12; ++v) s.months_[static_cast<size_t>(v)] = bits[3][static_cast<size_t>(v)];
  for (int v = 0; v <= 7; ++v) {
    if (bits[4][static_cast<size_t>(v)]) s.daysOfWeek_[static_cast<size_t>(v % 7)] = true;
  }
  // A day field that admits every value ("*", "*/1", "1-31", "0-6") does not
  // restrict the day: then the other day field alone decides.
  s.anyDayOfMonth_ = s.daysOfMonth_.count() == 31;
  s.anyDayOfWeek_ = s.daysOfWeek_.count() == 7;
  return s;
}

bool CronSchedule::matches(std::chrono::system_clock::time_point t) const {
  std::tm tm = utcOf(t);
  if (!minutes_[static_cast<size_t>(tm.tm_min)] || !hours_[static_cast<size_t>(tm.tm_hour)] ||
      !months_[static_cast<size_t>(tm.tm_mon + 1)]) {
    return false;
  }
  bool dom = daysOfMonth_[static_cast<size_t>(tm.tm_mday)], dow = daysOfWeek_[static_cast<size_t>(tm.tm_wday)];
  if (anyDayOfMonth_ || anyDayOfWeek_) return dom && dow;  // "*" in one: the other decides
  return dom || dow;
}

std::optional<std::chrono::system_clock::time_point> CronSchedule::next(std::chrono::system_clock::time_point t) const {
  using namespace std::chrono;
  auto minute = time_point_cast<minutes>(t) + minutes(1);
  // Whole days that cannot match are skipped at once; then minute by minute.
  const auto limit = minute + hours(24 * 366 * 8);
  while (minute < limit) {
    std::tm tm = utcOf(minute);
    bool monthOk = months_[static_cast<size_t>(tm.tm_mon + 1)];
    bool dom = daysOfMonth_[static_cast<size_t>(tm.tm_mday)], dow = daysOfWeek_[static_cast<size_t>(tm.tm_wday)];
    bool dayOk = (anyDayOfMonth_ || anyDayOfWeek_) ? (dom && dow) : (dom || dow);
    if (!monthOk || !dayOk) {
      minute += minutes(60 * (24 - tm.tm_hour) - tm.tm_min);  // to the next midnight
      continue;
    }
    if (!hours_[static_cast<size_t>(tm.tm_hour)]) {
      minute += minutes(60 - tm.tm_min);
      continue;
    }
    if (minutes_[static_cast<size_t>(tm.tm_min)]) return system_clock::time_point(minute);
    minute += minutes(1);
  }
  return std::nullopt;
}

}  // namespace patchbay
