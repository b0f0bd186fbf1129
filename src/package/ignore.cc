// .patchbayignore: a gitignore-like subset, and the default exclusions.
#include <fstream>
#include <sstream>

#include "patchbay/package.h"

namespace patchbay {

namespace {

// Glob match over "/"-separated paths: "*" and "?" stay within one
// component, "**" spans any number of components.
bool globMatch(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0;
  size_t starP = std::string_view::npos, starS = 0;
  bool starCrossesSlash = false;
  while (si < s.size()) {
    if (pi + 1 < p.size() && p[pi] == '*' && p[pi + 1] == '*') {
      pi += 2;
      if (pi < p.size() && p[pi] == '/') ++pi;  // "**/" also matches nothing
      starP = pi;
      starS = si;
      starCrossesSlash = true;
    } else if (pi < p.size() && p[pi] == '*') {
      ++pi;
      starP = pi;
      starS = si;
      starCrossesSlash = false;
    } else if (pi < p.size() && (p[pi] == s[si] || (p[pi] == '?' && s[si] != '/'))) {
      ++pi;
      ++si;
    } else if (starP != std::string_view::npos && (starCrossesSlash || s[starS] != '/')) {
      pi = starP;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

IgnoreRules IgnoreRules::fromText(std::string_view text, std::string_view pluginId) {
  IgnoreRules rules;
  rules.pluginId_ = std::string(pluginId);
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Rule r;
    if (line[0] == '!') {
      r.negate = true;
      line.erase(0, 1);
    }
    if (!line.empty() && line.back() == '/') {
      r.directoryOnly = true;
      line.pop_back();
    }
    if (!line.empty() && line[0] == '/') {
      r.anchored = true;
      line.erase(0, 1);
    } else if (line.find('/') != std::string::npos) {
      r.anchored = true;  // gitignore: a slash in the middle anchors too
    }
    if (line.empty()) continue;
    r.pattern = line;
    rules.rules_.push_back(std::move(r));
  }
  return rules;
}

IgnoreRules IgnoreRules::forFolder(const std::string& dir, std::string_view pluginId) {
  std::ifstream in(dir + "/.patchbayignore");
  std::stringstream text;
  if (in) text << in.rdbuf();
  return fromText(text.str(), pluginId);
}

bool IgnoreRules::ignored(std::string_view rel, bool isDirectory) const {
  size_t slash = rel.rfind('/');
  std::string_view base = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  const bool topLevel = slash == std::string_view::npos;
  bool ignore = false;
  // Defaults.
  if (!base.empty() && base[0] == '.') ignore = true;
  if (isDirectory && base == "node_modules") ignore = true;
  // An editor's and tsc's settings (patchbay init writes one): no host reads them.
  if (topLevel && !isDirectory && (base == "tsconfig.json" || base == "jsconfig.json")) ignore = true;
  if (topLevel && !isDirectory && !pluginId_.empty()) {
    std::string prefix = pluginId_ + "_v";
    if (base.starts_with(prefix) && (base.ends_with(".zip") || base.ends_with(".zip.minisig"))) ignore = true;
  }
  for (const auto& r : rules_) {
    if (r.directoryOnly && !isDirectory) continue;
    bool hit = r.anchored ? globMatch(r.pattern, rel) : globMatch(r.pattern, base);
    if (hit) ignore = !r.negate;
  }
  return ignore;
}

}  // namespace patchbay
