// Agreement with node-semver, npm's own implementation, on generated cases:
// validity of the range, satisfies() and maxSatisfying(). The cases and the
// oracle's answers come from tests/oracle/semver_cases.js (run with node);
// scripts/setup installs the oracle.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "patchbay/semver.h"

namespace patchbay {
namespace {

std::string runOracle(int count, int seed) {
  std::string cmd = std::string("cd '") + PATCHBAY_SOURCE_DIR + "/tests/oracle' && node semver_cases.js " +
                    std::to_string(count) + " " + std::to_string(seed);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  if (!pipe) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  return out;
}

void checkAgreement(int count, int seed) {
  std::string lines = runOracle(count, seed);
  ASSERT_FALSE(lines.empty()) << "node-semver oracle produced nothing (run scripts/setup)";
  int cases = 0, disagreements = 0;
  size_t pos = 0;
  while (pos < lines.size()) {
    size_t nl = lines.find('\n', pos);
    std::string line = lines.substr(pos, nl - pos);
    pos = nl == std::string::npos ? lines.size() : nl + 1;
    if (line.empty()) continue;
    auto c = nlohmann::json::parse(line);
    ++cases;
    const std::string rangeText = c["r"];
    auto range = Range::parse(rangeText, {c["p"].get<bool>()});
    std::string ours, theirs;
    if (range.ok() != c["ok"].get<bool>()) {
      ours = range.ok() ? "valid: " + range->canonical() : "invalid: " + range.error().message;
      theirs = c["ok"].get<bool>() ? "valid" : "invalid";
    } else if (c.contains("v")) {
      bool s = range.ok() && range->satisfiedBy(c["v"].get<std::string>());
      if (s != c["s"].get<bool>()) {
        ours = s ? "satisfies" : "does not satisfy";
        theirs = c["s"].get<bool>() ? "satisfies" : "does not satisfy";
        ours += " (" + (range.ok() ? range->canonical() : std::string("invalid")) + ")";
      }
    } else {
      std::vector<Version> vs;
      for (const auto& v : c["vs"]) vs.push_back(Version::parse(v.get<std::string>()).value());
      std::optional<size_t> m = range.ok() ? maxSatisfying(vs, range.value()) : std::nullopt;
      int expected = c["m"].is_null() ? -1 : c["m"].get<int>();
      int got = m ? static_cast<int>(*m) : -1;
      if (got != expected) {
        ours = "maxSatisfying index " + std::to_string(got);
        theirs = "index " + std::to_string(expected);
      }
    }
    if (!ours.empty() && ++disagreements <= 25) {
      ADD_FAILURE() << line << "\n  patchbay: " << ours << "\n  node-semver: " << theirs;
    }
  }
  EXPECT_EQ(disagreements, 0) << "out of " << cases << " cases";
  EXPECT_EQ(cases, count);
}

TEST(SemverOracle, AgreesWithNodeSemverOnDefaultSeed) { checkAgreement(12000, 1); }
TEST(SemverOracle, AgreesWithNodeSemverOnSecondSeed) { checkAgreement(12000, 20261122); }

}  // namespace
}  // namespace patchbay
