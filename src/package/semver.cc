// SemVer 2.0 versions: parsing, printing and precedence.
#include "patchbay/semver.h"

#include "package/semver_lex.h"

namespace patchbay {

using semver_lex::isDigit;
using semver_lex::isIdentChar;
using semver_lex::kMaxSafeInteger;
using semver_lex::kMaxVersionLength;

Result<Version> semver_lex::parseStrictVersion(std::string_view s, std::string_view original) {
  auto fail = [&](const std::string& why) {
    return Error::invalid("invalid version \"" + std::string(original) + "\": " + why);
  };
  size_t i = 0;
  if (i < s.size() && s[i] == 'v') ++i;
  Version v;
  uint64_t* parts[3] = {&v.major, &v.minor, &v.patch};
  static constexpr const char* kNames[3] = {"major", "minor", "patch"};
  for (int k = 0; k < 3; ++k) {
    if (k > 0) {
      if (i >= s.size() || s[i] != '.') return fail("expected MAJOR.MINOR.PATCH");
      ++i;
    }
    size_t start = i;
    while (i < s.size() && isDigit(s[i])) ++i;
    if (i == start) return fail("expected MAJOR.MINOR.PATCH");
    if (s[start] == '0' && i - start > 1) {
      return fail(std::string(kNames[k]) + " version has a leading zero");
    }
    auto n = parseSafeInteger(s.substr(start, i - start));
    if (!n) return fail(std::string(kNames[k]) + " version is larger than 2^53-1");
    *parts[k] = *n;
  }
  if (i < s.size() && s[i] == '-') {
    ++i;
    while (true) {
      size_t start = i;
      bool allDigits = true;
      while (i < s.size() && isIdentChar(s[i])) {
        allDigits = allDigits && isDigit(s[i]);
        ++i;
      }
      std::string_view id = s.substr(start, i - start);
      if (id.empty()) return fail("empty pre-release identifier");
      PrereleaseId pid;
      pid.text = std::string(id);
      if (allDigits) {
        if (id.size() > 1 && id[0] == '0') {
          return fail("numeric pre-release identifier \"" + pid.text + "\" has a leading zero");
        }
        pid.numeric = true;
        auto n = parseSafeInteger(id);
        pid.number = n ? *n : kMaxSafeInteger + 1;  // oversized: compared by text
      }
      v.prerelease.push_back(std::move(pid));
      if (i < s.size() && s[i] == '.') { ++i; continue; }
      break;
    }
  }
  if (i < s.size() && s[i] == '+') {
    ++i;
    while (true) {
      size_t start = i;
      while (i < s.size() && isIdentChar(s[i])) ++i;
      if (i == start) return fail("empty build identifier");
      v.build.emplace_back(s.substr(start, i - start));
      if (i < s.size() && s[i] == '.') { ++i; continue; }
      break;
    }
  }
  if (i != s.size()) return fail("unexpected \"" + std::string(s.substr(i, 1)) + "\" at offset " + std::to_string(i));
  return v;
}

std::optional<uint64_t> semver_lex::parseSafeInteger(std::string_view digits) {
  // 2^53-1 has 16 digits; callers have rejected leading zeros already.
  if (digits.empty() || digits.size() > 16) return std::nullopt;
  uint64_t n = 0;
  for (char c : digits) n = n * 10 + static_cast<uint64_t>(c - '0');
  if (n > kMaxSafeInteger) return std::nullopt;
  return n;
}

Result<Version> Version::parse(std::string_view text) {
  if (text.size() > kMaxVersionLength) {
    return Error::invalid("invalid version: longer than 256 characters");
  }
  return semver_lex::parseStrictVersion(semver_lex::trim(text), text);
}

std::string Version::toString() const {
  std::string out = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  for (size_t i = 0; i < prerelease.size(); ++i) {
    out += (i == 0 ? "-" : ".");
    out += prerelease[i].text;
  }
  for (size_t i = 0; i < build.size(); ++i) {
    out += (i == 0 ? "+" : ".");
    out += build[i];
  }
  return out;
}

namespace {

int compareIds(const PrereleaseId& a, const PrereleaseId& b) {
  if (a.numeric && b.numeric) {
    if (a.number != b.number) return a.number < b.number ? -1 : 1;
    if (a.number <= kMaxSafeInteger) return 0;
    // Both beyond 2^53-1: compare exactly by magnitude.
    if (a.text.size() != b.text.size()) return a.text.size() < b.text.size() ? -1 : 1;
    return a.text.compare(b.text) < 0 ? -1 : (a.text == b.text ? 0 : 1);
  }
  if (a.numeric) return -1;  // numeric identifiers have lower precedence
  if (b.numeric) return 1;
  int c = a.text.compare(b.text);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

int compareVersions(const Version& a, const Version& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
  // A version without pre-release ranks above one with.
  if (a.prerelease.empty() || b.prerelease.empty()) {
    if (a.prerelease.empty() && b.prerelease.empty()) return 0;
    return a.prerelease.empty() ? 1 : -1;
  }
  size_t n = std::min(a.prerelease.size(), b.prerelease.size());
  for (size_t i = 0; i < n; ++i) {
    if (int c = compareIds(a.prerelease[i], b.prerelease[i])) return c;
  }
  if (a.prerelease.size() == b.prerelease.size()) return 0;
  return a.prerelease.size() < b.prerelease.size() ? -1 : 1;
}

}  // namespace patchbay
