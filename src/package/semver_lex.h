// Character classes and strict version parsing shared by semver.cc and
// range.cc. Internal to src/package.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "patchbay/result.h"
#include "patchbay/semver.h"

namespace patchbay::semver_lex {

inline constexpr uint64_t kMaxSafeInteger = 9007199254740991ULL;  // 2^53-1, npm's limit
inline constexpr size_t kMaxVersionLength = 256;

inline bool isDigit(char c) { return c >= '0' && c <= '9'; }
inline bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool isIdentChar(char c) { return isDigit(c) || isAlpha(c) || c == '-'; }
inline bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Digits to a number no larger than 2^53-1; nullopt when larger or empty.
std::optional<uint64_t> parseSafeInteger(std::string_view digits);

// "v"? MAJOR.MINOR.PATCH ("-" pre-release)? ("+" build)? with nothing
// around it. `original` is what error messages quote.
Result<Version> parseStrictVersion(std::string_view s, std::string_view original);

}  // namespace patchbay::semver_lex
