// npm-style version ranges.
//
// A range is desugared in stages, each a transform of the range text, and the
// result is a list of plain comparators ("<", "<=", ">", ">=", "=" with a
// full version). The stages follow the order npm's implementation applies
// them, because the order is observable in edge cases ("1.2.3 - 2" is a
// hyphen range only when it is the whole comparator set; "v"/"=" prefixes
// survive only where a version is copied verbatim):
//   1. collapse whitespace, split on "||"                       (parse)
//   2. drop build metadata ("+..."), which ranges ignore         (stripBuilds)
//   3. "A - B" as the whole set                                  (expandHyphen)
//   4. join operators to their versions ("> 1" -> ">1")          (joinOperators)
//   5. per word: caret, tilde, x-range, star                     (desugarWord)
//   6. each resulting word must be OP? FULL-VERSION or empty     (parseComparator)
#include <string>

#include "package/semver_lex.h"
#include "patchbay/semver.h"

namespace patchbay {
namespace {

using namespace semver_lex;

// Bounds-safe character access: '\0' past the end.
char at(std::string_view s, size_t i) { return i < s.size() ? s[i] : '\0'; }

bool isX(std::string_view id) { return id.empty() || id == "x" || id == "X" || id == "*"; }
bool isVersionPrefix(char c) { return c == 'v' || c == '=' || isSpace(c); }
bool isVersionStart(char c) { return isDigit(c) || c == 'x' || c == 'X' || c == '*'; }

// ---------------------------------------------------------------------------
// Scanning helpers. Each returns the end of what it recognised at `i`, or `i`
// itself when nothing is there.

size_t digitsEnd(std::string_view s, size_t i) {
  while (isDigit(at(s, i))) ++i;
  return i;
}

size_t identCharsEnd(std::string_view s, size_t i) {
  while (isIdentChar(at(s, i))) ++i;
  return i;
}

// A number: "0", or digits without a leading zero (strict); any digits (loose).
size_t numberEnd(std::string_view s, size_t i, bool loose) {
  if (!loose && at(s, i) == '0') return i + 1;
  return digitsEnd(s, i);
}

// One pre-release identifier: digits then a letter or hyphen then identifier
// characters, or else a number.
size_t prereleaseIdEnd(std::string_view s, size_t i, bool loose) {
  size_t d = digitsEnd(s, i);
  if (isAlpha(at(s, d)) || at(s, d) == '-') return identCharsEnd(s, d + 1);
  return numberEnd(s, i, loose);
}

size_t prereleaseEnd(std::string_view s, size_t i, bool loose) {
  bool hyphen = at(s, i) == '-';
  if (!loose && !hyphen) return i;
  size_t idStart = i + (hyphen ? 1 : 0);
  size_t end = prereleaseIdEnd(s, idStart, loose);
  if (end == idStart) {
    if (!loose || !hyphen) return i;
    end = prereleaseIdEnd(s, i, loose);  // a lone "-" is an identifier when loose
  }
  while (at(s, end) == '.') {
    size_t next = prereleaseIdEnd(s, end + 1, loose);
    if (next == end + 1) break;
    end = next;
  }
  return end;
}

size_t buildEnd(std::string_view s, size_t i) {
  if (at(s, i) != '+') return i;
  size_t end = identCharsEnd(s, i + 1);
  if (end == i + 1) return i;
  while (at(s, end) == '.') {
    size_t next = identCharsEnd(s, end + 1);
    if (next == end + 1) break;
    end = next;
  }
  return end;
}

// Where a version-looking run that starts at `i` ends: a loose full version
// (1.02.3beta) if there is one, else a partial x-range (1.x, 2, *).
size_t versionTextEnd(std::string_view s, size_t i) {
  size_t end = i;
  bool full = true;
  for (int k = 0; k < 3 && full; ++k) {
    size_t next = numberEnd(s, end, /*loose=*/true);
    if (next == end) { full = false; break; }
    end = next;
    if (k < 2) {
      if (at(s, end) != '.') { full = false; break; }
      ++end;
    }
  }
  if (full) return buildEnd(s, prereleaseEnd(s, end, /*loose=*/true));

  auto componentEnd = [&](size_t j) -> size_t {
    if (isDigit(at(s, j))) return numberEnd(s, j, /*loose=*/false);
    return isVersionStart(at(s, j)) ? j + 1 : j;
  };
  end = componentEnd(i);
  for (int k = 0; k < 2; ++k) {
    if (at(s, end) != '.') return end;
    size_t next = componentEnd(end + 1);
    if (next == end + 1) return end;
    end = next;
  }
  return buildEnd(s, prereleaseEnd(s, end, /*loose=*/false));
}

// ---------------------------------------------------------------------------
// An x-range word: [v= ]* ID ( . ID ( . ID PRERELEASE? BUILD? )? )?
// where ID is a number, "x", "X" or "*". Matches the whole of `s` or nothing.
struct XRange {
  std::string major, minor, patch, prerelease;  // empty = absent
};

size_t xIdEnd(std::string_view s, size_t i) {
  char c = at(s, i);
  if (c == 'x' || c == 'X' || c == '*' || c == '0') return i + 1;
  if (c >= '1' && c <= '9') return digitsEnd(s, i + 1);
  return i;
}

std::optional<XRange> matchXRange(std::string_view s) {
  XRange xr;
  size_t i = 0;
  while (isVersionPrefix(at(s, i))) ++i;
  size_t e = xIdEnd(s, i);
  if (e == i) return std::nullopt;
  xr.major = std::string(s.substr(i, e - i));
  i = e;
  if (at(s, i) == '.') {
    e = xIdEnd(s, i + 1);
    if (e == i + 1) return std::nullopt;
    xr.minor = std::string(s.substr(i + 1, e - i - 1));
    i = e;
    if (at(s, i) == '.') {
      e = xIdEnd(s, i + 1);
      if (e == i + 1) return std::nullopt;
      xr.patch = std::string(s.substr(i + 1, e - i - 1));
      i = e;
      if (at(s, i) == '-') {
        e = prereleaseEnd(s, i, /*loose=*/false);
        if (e == i) return std::nullopt;
        xr.prerelease = std::string(s.substr(i + 1, e - i - 1));
        i = e;
      }
      i = buildEnd(s, i);
    }
  }
  if (i != s.size()) return std::nullopt;
  return xr;
}

// "+N + 1" on a decimal string. Past 2^53-1 the result is a number that the
// final version parse rejects, as npm's arithmetic does.
std::string plusOne(std::string_view digits) {
  auto n = parseSafeInteger(digits);
  if (!n) return "99999999999999999999";
  return std::to_string(*n + 1);
}

// ---------------------------------------------------------------------------
// Stages.

std::string collapseWhitespace(std::string_view s) {
  s = trim(s);
  std::string out;
  out.reserve(s.size());
  bool inSpace = false;
  for (char c : s) {
    if (isSpace(c)) {
      if (!inSpace) out += ' ';
      inSpace = true;
    } else {
      out += c;
      inSpace = false;
    }
  }
  return out;
}

// Removes "+build.meta" runs: all of them, or only the first.
std::string stripBuilds(std::string_view s, bool all) {
  std::string out;
  size_t i = 0;
  bool done = false;
  while (i < s.size()) {
    if (!done && s[i] == '+') {
      size_t e = buildEnd(s, i);
      if (e != i) {
        i = e;
        done = !all;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// "A - B" where the whole set is exactly two x-ranges around " - ".
std::optional<std::string> expandHyphen(std::string_view s, bool incPr) {
  for (size_t k = s.find(" - "); k != std::string_view::npos; k = s.find(" - ", k + 1)) {
    std::string_view fromText = s.substr(0, k), toText = s.substr(k + 3);
    auto from = matchXRange(fromText), to = matchXRange(toText);
    if (!from || !to) continue;
    const char* z = incPr ? "-0" : "";
    std::string lo, hi;
    if (isX(from->major)) lo = "";
    else if (isX(from->minor)) lo = ">=" + from->major + ".0.0" + z;
    else if (isX(from->patch)) lo = ">=" + from->major + "." + from->minor + ".0" + z;
    else if (!from->prerelease.empty()) lo = ">=" + std::string(fromText);
    else lo = ">=" + std::string(fromText) + z;

    if (isX(to->major)) hi = "";
    else if (isX(to->minor)) hi = "<" + plusOne(to->major) + ".0.0-0";
    else if (isX(to->patch)) hi = "<" + to->major + "." + plusOne(to->minor) + ".0-0";
    else if (!to->prerelease.empty()) hi = "<=" + to->major + "." + to->minor + "." + to->patch + "-" + to->prerelease;
    else if (incPr) hi = "<" + to->major + "." + to->minor + "." + plusOne(to->patch) + "-0";
    else hi = "<=" + std::string(toText);
    return std::string(trim(lo + " " + hi));
  }
  return std::nullopt;
}

// Removes the one space between an operator and the version that follows
// it: "> 1.2" -> ">1.2", ">= v1" -> ">=v1". Scans version-looking runs
// whole, so text inside a version is never mistaken for an operator.
std::string joinOperators(std::string_view r) {
  std::string out;
  size_t copyFrom = 0, cur = 0;
  while (cur < r.size()) {
    size_t start = cur;
    if (r[cur] == '<' || r[cur] == '>') {
      ++cur;
    } else if (!isVersionPrefix(r[cur]) && !isVersionStart(r[cur])) {
      ++cur;
      continue;
    }
    while (cur < r.size() && isVersionPrefix(r[cur])) ++cur;
    if (!isVersionStart(at(r, cur))) continue;
    size_t p = start;
    if (isSpace(at(r, p))) ++p;
    if (at(r, p) == '<' || at(r, p) == '>') ++p;
    if (at(r, p) == '=') ++p;
    if (isSpace(at(r, p))) {
      out.append(r.substr(copyFrom, p - copyFrom));
      copyFrom = p + 1;
    }
    cur = versionTextEnd(r, cur);
  }
  out.append(r.substr(copyFrom));
  return out;
}

// "~ 1.2" -> "~1.2", "~> 1.2" -> "~1.2", "^ 1.2" -> "^1.2".
std::string joinTildeAndCaret(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '~') {
      size_t j = i + 1;
      if (at(s, j) == '>' && isSpace(at(s, j + 1))) ++j;
      if (isSpace(at(s, j))) { out += '~'; i = j + 1; continue; }
    } else if (s[i] == '^' && isSpace(at(s, i + 1))) {
      out += '^';
      i += 2;
      continue;
    }
    out += s[i++];
  }
  return out;
}

std::string desugarCaret(const std::string& w, bool incPr) {
  if (w.empty() || w[0] != '^') return w;
  auto x = matchXRange(std::string_view(w).substr(1));
  if (!x) return w;
  const std::string z = incPr ? "-0" : "";
  const std::string &M = x->major, &m = x->minor, &p = x->patch, &pr = x->prerelease;
  if (isX(M)) return "";
  if (isX(m)) return ">=" + M + ".0.0" + z + " <" + plusOne(M) + ".0.0-0";
  if (isX(p)) {
    if (M == "0") return ">=" + M + "." + m + ".0" + z + " <" + M + "." + plusOne(m) + ".0-0";
    return ">=" + M + "." + m + ".0" + z + " <" + plusOne(M) + ".0.0-0";
  }
  const std::string lo = ">=" + M + "." + m + "." + p + (pr.empty() ? (M == "0" ? z : "") : "-" + pr);
  if (M == "0") {
    if (m == "0") return lo + " <" + M + "." + m + "." + plusOne(p) + "-0";
    return lo + " <" + M + "." + plusOne(m) + ".0-0";
  }
  return lo + " <" + plusOne(M) + ".0.0-0";
}

std::string desugarTilde(const std::string& w, bool incPr) {
  if (w.empty() || w[0] != '~') return w;
  std::string_view rest = std::string_view(w).substr(1);
  if (at(rest, 0) == '>') rest.remove_prefix(1);
  auto x = matchXRange(rest);
  if (!x) return w;
  const std::string z = incPr ? "-0" : "";
  const std::string &M = x->major, &m = x->minor, &p = x->patch, &pr = x->prerelease;
  if (isX(M)) return "";
  if (isX(m)) return ">=" + M + ".0.0" + z + " <" + plusOne(M) + ".0.0-0";
  if (isX(p)) return ">=" + M + "." + m + ".0" + z + " <" + M + "." + plusOne(m) + ".0-0";
  if (!pr.empty()) return ">=" + M + "." + m + "." + p + "-" + pr + " <" + M + "." + plusOne(m) + ".0-0";
  return ">=" + M + "." + m + "." + p + " <" + M + "." + plusOne(m) + ".0-0";
}

std::string desugarXRange(const std::string& w, bool incPr) {
  size_t i = 0;
  if (at(w, i) == '<' || at(w, i) == '>') ++i;
  if (at(w, i) == '=') ++i;
  std::string op = w.substr(0, i);
  auto x = matchXRange(std::string_view(w).substr(i));
  if (!x) return w;
  std::string M = x->major, m = x->minor, p = x->patch;
  // "*.1" and "1.x.3" are not x-ranges; left as they are, they fail later.
  if ((isX(M) && !isX(m)) || (isX(m) && !p.empty() && !isX(p))) return w;
  const bool xM = isX(M), xm = xM || isX(m), xp = xm || isX(p);
  if (op == "=" && xp) op = "";
  std::string pr = incPr ? "-0" : "";
  if (xM) return (op == ">" || op == "<") ? "<0.0.0-0" : "*";
  if (!op.empty() && xp) {
    if (xm) m = "0";
    p = "0";
    if (op == ">") {
      op = ">=";
      if (xm) { M = plusOne(M); m = "0"; } else { m = plusOne(m); }
    } else if (op == "<=") {
      op = "<";
      if (xm) M = plusOne(M); else m = plusOne(m);
    }
    if (op == "<") pr = "-0";
    return op + M + "." + m + "." + p + pr;
  }
  if (xm) return ">=" + M + ".0.0" + pr + " <" + plusOne(M) + ".0.0-0";
  if (xp) return ">=" + M + "." + m + ".0" + pr + " <" + M + "." + plusOne(m) + ".0-0";
  return w;  // a full version with an operator: left for parseComparator
}

// Drops the first "*" (with the operator before it): what is left of a "*"
// after x-range expansion means "no constraint".
std::string dropFirstStar(std::string_view s) {
  s = trim(s);
  for (size_t i = 0; i < s.size(); ++i) {
    size_t j = i;
    if (at(s, j) == '<' || at(s, j) == '>') ++j;
    if (at(s, j) == '=') ++j;
    if (isSpace(at(s, j))) ++j;
    if (at(s, j) == '*') return std::string(s.substr(0, i)) + std::string(s.substr(j + 1));
  }
  return std::string(s);
}

template <class F>
std::string mapWords(std::string_view s, F f) {
  std::string out;
  std::string_view rest = trim(s);
  bool first = true;
  while (true) {
    size_t sp = 0;
    while (sp < rest.size() && !isSpace(rest[sp])) ++sp;
    if (!first) out += ' ';
    out += f(std::string(rest.substr(0, sp)));
    first = false;
    if (sp >= rest.size()) break;
    rest.remove_prefix(sp);
    rest = trim(rest);
  }
  return out;
}

std::string desugarWord(std::string_view word, bool incPr) {
  std::string s = stripBuilds(word, /*all=*/false);
  s = mapWords(s, [&](const std::string& w) { return desugarCaret(w, incPr); });
  s = mapWords(s, [&](const std::string& w) { return desugarTilde(w, incPr); });
  s = mapWords(s, [&](const std::string& w) { return desugarXRange(w, incPr); });
  return dropFirstStar(s);
}

Result<Range::Comparator> parseComparator(std::string_view c) {
  Range::Comparator out;
  if (c.empty()) return out;  // any
  size_t i = 0;
  if (c[0] == '<' || c[0] == '>') ++i;
  if (at(c, i) == '=') ++i;
  std::string_view op = c.substr(0, i), rest = c.substr(i);
  if (rest.size() > kMaxVersionLength) return Error::invalid("version longer than 256 characters");
  auto v = parseStrictVersion(rest, rest);
  if (!v) return v.error();
  out.version = std::move(v.value());
  if (op.empty() || op == "=") out.op = Range::Op::kEq;
  else if (op == "<") out.op = Range::Op::kLt;
  else if (op == "<=") out.op = Range::Op::kLe;
  else if (op == ">") out.op = Range::Op::kGt;
  else out.op = Range::Op::kGe;
  return out;
}

bool comparatorAccepts(const Range::Comparator& c, const Version& v) {
  if (c.op == Range::Op::kAny) return true;
  int cmp = compareVersions(v, c.version);
  switch (c.op) {
    case Range::Op::kLt: return cmp < 0;
    case Range::Op::kLe: return cmp <= 0;
    case Range::Op::kGt: return cmp > 0;
    case Range::Op::kGe: return cmp >= 0;
    case Range::Op::kEq: return cmp == 0;
    case Range::Op::kAny: return true;
  }
  return false;
}

}  // namespace

Result<Range> Range::parse(std::string_view text, RangeOptions options) {
  Range range;
  range.options_ = options;
  range.text_ = collapseWhitespace(text);
  const bool incPr = options.includePrerelease;
  std::string_view all = range.text_;
  while (true) {
    size_t bar = all.find("||");
    std::string_view setText = trim(all.substr(0, bar));
    std::string s = stripBuilds(setText, /*all=*/true);
    if (auto hyphen = expandHyphen(s, incPr)) s = *hyphen;
    s = joinTildeAndCaret(joinOperators(s));

    std::vector<Comparator> set;
    size_t pos = 0;
    while (true) {  // words separated by single spaces (empty words mean "any")
      size_t sp = s.find(' ', pos);
      std::string_view word = std::string_view(s).substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
      std::string desugared = desugarWord(word, incPr);
      std::string_view rest = desugared;
      while (true) {
        rest = trim(rest);
        size_t e = 0;
        while (e < rest.size() && !isSpace(rest[e])) ++e;
        auto c = parseComparator(rest.substr(0, e));
        if (!c) {
          return Error::invalid("invalid range \"" + range.text_ + "\": \"" + std::string(word) +
                                "\" is not a version, comparator, or x-range (" + c.error().message + ")");
        }
        set.push_back(std::move(c.value()));
        rest.remove_prefix(e);
        if (trim(rest).empty()) break;
      }
      if (sp == std::string::npos) break;
      pos = sp + 1;
    }
    range.sets_.push_back(std::move(set));
    if (bar == std::string_view::npos) break;
    all.remove_prefix(bar + 2);
  }
  return range;
}

bool Range::satisfiedBy(const Version& v) const {
  for (const auto& set : sets_) {
    bool all = true;
    for (const auto& c : set) {
      if (!comparatorAccepts(c, v)) { all = false; break; }
    }
    if (!all) continue;
    if (!v.isPrerelease() || options_.includePrerelease) return true;
    // Pre-release rule: some comparator must name a pre-release of the same
    // major.minor.patch as `v`.
    for (const auto& c : set) {
      if (c.op == Op::kAny || !c.version.isPrerelease()) continue;
      if (c.version.major == v.major && c.version.minor == v.minor && c.version.patch == v.patch) return true;
    }
  }
  return false;
}

bool Range::satisfiedBy(std::string_view version) const {
  auto v = Version::parse(version);
  return v && satisfiedBy(v.value());
}

std::string Range::canonical() const {
  static constexpr const char* kOps[] = {"", "<", "<=", ">", ">=", ""};
  std::string out;
  for (size_t i = 0; i < sets_.size(); ++i) {
    if (i) out += " || ";
    std::string set;
    for (const auto& c : sets_[i]) {
      if (c.op == Op::kAny) continue;
      if (!set.empty()) set += ' ';
      set += kOps[static_cast<int>(c.op)];
      set += c.version.toString();
    }
    out += set.empty() ? "*" : set;
  }
  return out;
}

std::optional<size_t> maxSatisfying(std::span<const Version> versions, const Range& range) {
  std::optional<size_t> best;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (!range.satisfiedBy(versions[i])) continue;
    if (!best || compareVersions(versions[*best], versions[i]) < 0) best = i;
  }
  return best;
}

}  // namespace patchbay
