// patchbay/semver.h — SemVer 2.0 versions and npm-style ranges.
//
// Versions follow semver.org 2.0.0 exactly (an optional leading "v" is
// accepted, as npm does). Ranges follow the grammar npm users know:
// comparators (<, <=, >, >=, =), caret (^1.2), tilde (~1.2.3, ~>1.2),
// x-ranges (1.x, 1.2.*, *), hyphen ranges (1.2 - 2.3.4), and "||" between
// comparator sets; a set may mix them ("^1.2 <1.8").
//
// The pre-release rule: a version with a pre-release tag satisfies a range
// only if some comparator in the matching set names a pre-release of the
// same major.minor.patch (^1.2.3-beta.1 admits 1.2.3-beta.2 but not
// 1.2.4-alpha), unless the range is parsed with includePrerelease.
//
// Agreement with node-semver (npm's own implementation) on satisfies and
// maxSatisfying is tested on generated inputs; see tests/unit/semver_oracle_test.cc.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

// One dot-separated pre-release identifier: numeric ("1") or not ("beta").
struct PrereleaseId {
  bool numeric = false;
  uint64_t number = 0;
  std::string text;  // the identifier as written (also for numeric ones)
  bool operator==(const PrereleaseId&) const = default;
};

struct Version {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::vector<PrereleaseId> prerelease;
  std::vector<std::string> build;  // ignored by comparisons

  // Parses "1.2.3", "1.2.3-rc.1+build.5", "v1.2.3" (surrounding whitespace
  // is ignored). Components above 2^53-1 and strings over 256 characters are
  // rejected, as npm does.
  static Result<Version> parse(std::string_view text);

  bool isPrerelease() const { return !prerelease.empty(); }
  // Canonical form without "v": "1.2.3-rc.1+build.5".
  std::string toString() const;
};

// SemVer precedence: <0, 0 or >0. Build metadata is ignored.
int compareVersions(const Version& a, const Version& b);
inline bool operator<(const Version& a, const Version& b) { return compareVersions(a, b) < 0; }
inline bool operator==(const Version& a, const Version& b) { return compareVersions(a, b) == 0; }

struct RangeOptions {
  // Let pre-release versions match any range that contains them.
  bool includePrerelease = false;
};

class Range {
 public:
  enum class Op { kAny, kLt, kLe, kGt, kGe, kEq };
  struct Comparator {
    Op op = Op::kAny;
    Version version;  // unused for kAny
  };

  // Parses a range. An empty string or "*" is any version. The error names
  // the offending part ("invalid comparator \">=1.2.x.4\" in range ...").
  static Result<Range> parse(std::string_view text, RangeOptions options = {});

  bool satisfiedBy(const Version& version) const;
  // Parses the version first; an invalid version satisfies nothing.
  bool satisfiedBy(std::string_view version) const;

  // The range as written, whitespace collapsed.
  const std::string& text() const { return text_; }
  // The desugared form, e.g. "^1.2" -> ">=1.2.0 <2.0.0-0".
  std::string canonical() const;
  const std::vector<std::vector<Comparator>>& sets() const { return sets_; }

 private:
  std::string text_;
  RangeOptions options_;
  std::vector<std::vector<Comparator>> sets_;  // OR of ANDs
};

// Index of the highest version in `versions` that satisfies `range`, or
// nullopt. Among versions of equal precedence the first one wins.
std::optional<size_t> maxSatisfying(std::span<const Version> versions, const Range& range);

}  // namespace patchbay
