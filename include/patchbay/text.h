// patchbay/text.h — checks on untrusted text, made before anything parses
// or copies it: well-formed UTF-8, and how deep JSON nests; and the name
// someone probably meant when they mistyped one; '*' patterns.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace patchbay {

// The length of the well-formed UTF-8 sequence that starts at s[at]: 1 for
// ASCII, 2-4 for a multi-byte sequence, 0 when ill-formed (a stray
// continuation byte, a truncated sequence, an overlong form, a surrogate,
// a code point above U+10FFFF). `at` must be < s.size().
size_t utf8SequenceLength(std::string_view s, size_t at);

// Whether all of `s` is well-formed UTF-8.
bool isUtf8(std::string_view s);

// Characters as people count them: the code points of valid UTF-8 (for
// length limits on names and passwords).
size_t utf8Length(std::string_view s);

// `s` with A-Z turned to a-z and every other byte kept: names compared
// whatever their case (usernames, header names), locale-free.
std::string asciiLower(std::string_view s);
// Whether `a` and `b` are equal but for the case of A-Z (HTTP's field
// names and tokens), without copying either.
bool asciiEqualsIgnoringCase(std::string_view a, std::string_view b);

// How deep JSON from outside may nest (request bodies, manifests, hook
// contexts, what plugins answer, config files): deep enough for any real
// document, shallow enough that every recursive walk of a parsed value
// (copies, dumps, our validators) stays far inside a thread's stack. A
// document nested 100,000 levels deep overflowed the registry's stack.
constexpr size_t kMaxJsonDepth = 256;

// Whether JSON text nests arrays and objects deeper than `maxDepth`.
// Brackets inside strings do not count; the text need not be valid JSON
// (the parser that runs next says what else is wrong). One pass, no
// allocation.
bool jsonNestsDeeperThan(std::string_view text, size_t maxDepth = kMaxJsonDepth);

// The candidate closest to `word` in edits (insert, delete, replace a
// character), if it is at most `maxEdits` away: "pakc" -> "pack",
// "servers:raed" -> "servers:read". Empty when none is that close.
std::string_view nearestName(std::string_view word, std::span<const std::string_view> candidates, size_t maxEdits = 2);

// Whether `name` matches `pattern`, where each '*' stands for any run of
// characters (none too) and every other character for itself: the hook
// patterns "*", "server:*", "*:before*". Linear in their lengths.
bool matchesPattern(std::string_view pattern, std::string_view name);

}  // namespace patchbay
