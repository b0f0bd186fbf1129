// libFuzzer: the checks made on untrusted text before anything parses it
// (patchbay/text.h), each against an independent oracle:
// - isUtf8 against a decoder that computes each code point and checks its
//   range (no overlong forms, no surrogates, nothing above U+10FFFF);
// - jsonNestsDeeperThan against the depth of what nlohmann/json parses;
// - matchesPattern (input split at its first NUL: pattern, name) against a
//   table of which prefixes match which;
// - asciiEqualsIgnoringCase (the same split) against comparing the two
//   halves lowered by asciiLower.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "patchbay/text.h"

namespace {

bool referenceUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int length = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + static_cast<size_t>(length) > s.size()) return false;
    uint32_t cp = length == 1 ? b : length == 2 ? (b & 0x1F) : length == 3 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static const uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(length);
  }
  return true;
}

// The deepest nesting of a parsed value (iteratively: the input may be deep).
size_t depthOf(const nlohmann::json& root) {
  size_t deepest = 0;
  std::vector<std::pair<const nlohmann::json*, size_t>> stack{{&root, 0}};
  while (!stack.empty()) {
    auto [value, depth] = stack.back();
    stack.pop_back();
    if (!value->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *value) stack.emplace_back(&child, depth + 1);
  }
  return deepest;
}

// matches[i][j]: pattern[0, i) matches name[0, j).
bool referenceMatch(std::string_view pattern, std::string_view name) {
  std::vector<std::vector<char>> matches(pattern.size() + 1, std::vector<char>(name.size() + 1, 0));
  matches[0][0] = 1;
  for (size_t i = 1; i <= pattern.size(); ++i) {
    for (size_t j = 0; j <= name.size(); ++j) {
      if (pattern[i - 1] == '*') {
        matches[i][j] = matches[i - 1][j] || (j > 0 && matches[i][j - 1]);
      } else {
        matches[i][j] = j > 0 && matches[i - 1][j - 1] && pattern[i - 1] == name[j - 1];
      }
    }
  }
  return matches[pattern.size()][name.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (patchbay::isUtf8(text) != referenceUtf8(text)) __builtin_trap();
  if (size > 0 && patchbay::utf8SequenceLength(text, 0) > size) __builtin_trap();
  if (size_t nul = text.find('\0'); nul != std::string_view::npos && size <= 512) {
    const auto pattern = text.substr(0, nul), name = text.substr(nul + 1);
    if (patchbay::matchesPattern(pattern, name) != referenceMatch(pattern, name)) __builtin_trap();
    if (patchbay::asciiEqualsIgnoringCase(pattern, name) != (patchbay::asciiLower(pattern) == patchbay::asciiLower(name))) __builtin_trap();
  }
  // Depth: wherever nlohmann parses the text, the scan must agree with the
  // parsed depth at every bound around it.
  if (patchbay::jsonNestsDeeperThan(text, 64)) return 0;  // never parsed deeper: nlohmann would recurse on copies
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return 0;
  const size_t depth = depthOf(parsed);
  // Never less than what was parsed: the bound holds for what gets built.
  if (depth > 64) __builtin_trap();
  if (depth > 0 && !patchbay::jsonNestsDeeperThan(text, depth - 1)) __builtin_trap();
  // Exactly it, unless nlohmann stopped early at a NUL byte (it ends the
  // input there; the scan goes on and may count more, the safe way).
  if (text.find('\0') == std::string_view::npos && patchbay::jsonNestsDeeperThan(text, depth)) __builtin_trap();
  return 0;
}
