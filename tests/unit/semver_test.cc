// Hand-written SemVer and range cases: the rules users rely on, one by one.
#include <gtest/gtest.h>

#include "patchbay/semver.h"

namespace patchbay {
namespace {

Version V(const char* s) {
  auto v = Version::parse(s);
  EXPECT_TRUE(v.ok()) << s << ": " << (v.ok() ? "" : v.error().message);
  return v.ok() ? v.value() : Version{};
}

bool sat(const char* range, const char* version, bool incPr = false) {
  auto r = Range::parse(range, {incPr});
  EXPECT_TRUE(r.ok()) << range << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() && r->satisfiedBy(std::string_view(version));
}

TEST(Version, ParsesFullForm) {
  Version v = V("1.2.3-rc.1+build.5");
  EXPECT_EQ(v.major, 1u);
  EXPECT_EQ(v.minor, 2u);
  EXPECT_EQ(v.patch, 3u);
  ASSERT_EQ(v.prerelease.size(), 2u);
  EXPECT_EQ(v.prerelease[0].text, "rc");
  EXPECT_TRUE(v.prerelease[1].numeric);
  EXPECT_EQ(v.build, (std::vector<std::string>{"build", "5"}));
  EXPECT_EQ(v.toString(), "1.2.3-rc.1+build.5");
  EXPECT_EQ(V("v1.0.0").toString(), "1.0.0");
}

TEST(Version, RejectsWithReason) {
  struct Case { const char* text; const char* why; };
  for (auto c : {Case{"1.2", "expected MAJOR.MINOR.PATCH"}, Case{"01.2.3", "major version has a leading zero"},
                 Case{"1.2.3-01", "leading zero"}, Case{"1.2.3-", "empty pre-release identifier"},
                 Case{"1.2.3+", "empty build identifier"}, Case{"1.2.3.4", "unexpected \".\""},
                 Case{"9007199254740992.0.0", "larger than 2^53-1"}, Case{"=1.2.3", "expected"}}) {
    auto v = Version::parse(c.text);
    ASSERT_FALSE(v.ok()) << c.text;
    EXPECT_NE(v.error().message.find(c.why), std::string::npos) << v.error().message;
    EXPECT_NE(v.error().message.find(c.text), std::string::npos) << v.error().message;
  }
}

TEST(Version, PrecedenceFollowsSemverOrg) {
  // The example chain from semver.org section 11.
  const char* chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                         "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) {
    EXPECT_LT(compareVersions(V(chain[i]), V(chain[i + 1])), 0) << chain[i] << " < " << chain[i + 1];
    EXPECT_GT(compareVersions(V(chain[i + 1]), V(chain[i])), 0);
  }
  EXPECT_EQ(compareVersions(V("1.0.0+a"), V("1.0.0+b")), 0);  // build ignored
}

TEST(Range, Caret) {
  EXPECT_TRUE(sat("^1.2.3", "1.9.9"));
  EXPECT_FALSE(sat("^1.2.3", "2.0.0"));
  EXPECT_FALSE(sat("^1.2.3", "1.2.2"));
  EXPECT_TRUE(sat("^0.2.3", "0.2.9"));
  EXPECT_FALSE(sat("^0.2.3", "0.3.0"));
  EXPECT_TRUE(sat("^0.0.3", "0.0.3"));
  EXPECT_FALSE(sat("^0.0.3", "0.0.4"));
  EXPECT_TRUE(sat("^1.2", "1.9.0"));
  EXPECT_TRUE(sat("^1.x", "1.0.0"));
  EXPECT_TRUE(sat("^ 1.2", "1.3.0"));
}

TEST(Range, TildeXRangeHyphen) {
  EXPECT_TRUE(sat("~1.2.3", "1.2.9"));
  EXPECT_FALSE(sat("~1.2.3", "1.3.0"));
  EXPECT_TRUE(sat("~>1.2", "1.2.0"));
  EXPECT_TRUE(sat("~1", "1.9.0"));
  EXPECT_TRUE(sat("1.x", "1.4.2"));
  EXPECT_FALSE(sat("1.x", "2.0.0"));
  EXPECT_TRUE(sat("1.2.*", "1.2.7"));
  EXPECT_TRUE(sat("*", "3.0.0"));
  EXPECT_TRUE(sat("", "3.0.0"));
  EXPECT_TRUE(sat("1.2 - 2.3.4", "2.3.4"));
  EXPECT_FALSE(sat("1.2 - 2.3.4", "2.3.5"));
  EXPECT_TRUE(sat("1.2.3 - 2.3", "2.3.9"));
  EXPECT_FALSE(sat("1.2.3 - 2.3", "2.4.0"));
  EXPECT_TRUE(sat(">=1 <2", "1.5.0"));
  EXPECT_TRUE(sat("> 1.0.0 < 2", "1.5.0"));
  EXPECT_TRUE(sat("<1.0.0 || >=2.3.1 <2.4.5 || >=2.5.2 <3.0.0", "2.4.0"));
  EXPECT_FALSE(sat("<1.0.0 || >=2.3.1 <2.4.5 || >=2.5.2 <3.0.0", "2.5.0"));
  EXPECT_TRUE(sat("<=1.2", "1.2.9"));
  EXPECT_FALSE(sat(">1.2", "1.2.9"));
}

TEST(Range, PrereleaseRule) {
  EXPECT_TRUE(sat("^1.2.3-beta.1", "1.2.3-beta.2"));
  EXPECT_FALSE(sat("^1.2.3-beta.1", "1.2.4-alpha"));
  EXPECT_TRUE(sat("^1.2.3-beta.1", "1.2.4"));
  EXPECT_FALSE(sat(">=1.0.0", "1.5.0-rc.1"));
  EXPECT_TRUE(sat(">=1.0.0", "1.5.0-rc.1", /*incPr=*/true));
  EXPECT_FALSE(sat("*", "1.0.0-rc.1"));
  EXPECT_TRUE(sat("*", "1.0.0-rc.1", true));
}

TEST(Range, CanonicalForm) {
  auto r = Range::parse("^1.2 || ~0.3.1 || 1.x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->canonical(), ">=1.2.0 <2.0.0-0 || >=0.3.1 <0.4.0-0 || >=1.0.0 <2.0.0-0");
}

TEST(Range, InvalidRangesNameThePart) {
  for (const char* bad : {"foo", ">=1.2.x.4", "1.2.3 -", "1.x.3", ">>1", "^1.2.3.4 || 1"}) {
    auto r = Range::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("invalid range"), std::string::npos) << r.error().message;
  }
}

TEST(Range, MaxSatisfyingPicksHighestFirstOfEqual) {
  std::vector<Version> vs = {V("1.2.3"), V("1.4.0+a"), V("1.4.0+b"), V("2.0.0"), V("1.5.0-rc.1")};
  auto r = Range::parse("^1.2");
  ASSERT_TRUE(r.ok());
  auto i = maxSatisfying(vs, r.value());
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(*i, 1u);
  auto none = Range::parse(">3");
  EXPECT_FALSE(maxSatisfying(vs, none.value()).has_value());
}

}  // namespace
}  // namespace patchbay
