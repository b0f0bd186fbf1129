// The panel's sign-in over real HTTP: Sodium's /api/auth routes and texts,
// the session cookie and its CSRF and Origin checks, Bearer tokens for
// scripts, sessions that end, and passwords that never come back.
#include <gtest/gtest.h>

#include <filesystem>
#include <atomic>

#include <nlohmann/json.hpp>

#include "patchbay/host_state.h"
#include "patchbay/http.h"
#include "patchbay/http_client.h"
#include "patchbay/panel.h"
#include "patchbay/sql_database.h"
#include "support/panel_harness.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

using nlohmann::json;

class PanelAuthTest : public test::PanelHarness {};

TEST_F(PanelAuthTest, RegisterLogInMeAndLogOutAsSodiumAnswersThem) {
  auto first = call("POST", "/api/auth/register", R"({"username":"alice","password":"correct horse","email":"alice@example.com"})");
  ASSERT_EQ(first.status, 200) << first.body;
  json j = body(first);
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["user"]["username"], "alice");
  EXPECT_EQ(j["user"]["email"], "alice@example.com");
  EXPECT_EQ(j["user"]["isAdmin"], true) << "the first user administers the panel, as Sodium's";
  ASSERT_TRUE(j["token"].is_string());
  EXPECT_EQ(first.body.find("correct horse"), std::string::npos);
  EXPECT_EQ(first.body.find("argon2"), std::string::npos);  // no hash either
  // The session cookie: HttpOnly and SameSite=Strict; the CSRF cookie readable by the page.
  const std::string session = cookie(first, "pb_session");
  EXPECT_NE(session.find("HttpOnly"), std::string::npos) << session;
  EXPECT_NE(session.find("SameSite=Strict"), std::string::npos) << session;
  EXPECT_EQ(session.find("Secure"), std::string::npos) << "not asked for";
  EXPECT_EQ(cookie(first, "pb_csrf").find("HttpOnly"), std::string::npos);

  auto second = call("POST", "/api/auth/register", R"({"username":"bob","password":"hunter22"})");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(body(second)["user"]["isAdmin"], false);
  EXPECT_TRUE(body(second)["user"]["email"].is_null());

  // The token is the session: usable as Bearer by scripts.
  auto me = call("GET", "/api/auth/me", "", {{"Authorization", "Bearer " + body(second)["token"].get<std::string>()}});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(body(me)["user"]["username"], "bob");
  // And the cookie is the same session.
  auto byCookie = call("GET", "/api/auth/me", "", {{"Cookie", cookiesOf(first)}});
  ASSERT_EQ(byCookie.status, 200) << byCookie.body;
  EXPECT_EQ(body(byCookie)["user"]["username"], "alice");

  auto login = call("POST", "/api/auth/login", R"({"username":"ALICE","password":"correct horse"})");  // names match whatever their case
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_NE(body(login)["token"], body(first)["token"]) << "every login is a new session";

  // Logging out with a script's token ends that session only.
  const std::string bobToken = body(second)["token"];
  EXPECT_EQ(call("POST", "/api/auth/logout", "", {{"Authorization", "Bearer " + bobToken}}).status, 200);
  auto after = call("GET", "/api/auth/me", "", {{"Authorization", "Bearer " + bobToken}});
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(body(after)["error"], "Invalid or expired token");
  EXPECT_EQ(call("GET", "/api/auth/me", "", {{"Cookie", cookiesOf(first)}}).status, 200);
  EXPECT_EQ(body(call("GET", "/api/auth/me"))["error"], "No token provided");
}

TEST_F(PanelAuthTest, BadInputGetsSodiumsTextsAndChangesNothing) {
  ASSERT_EQ(call("POST", "/api/auth/register", R"({"username":"alice","password":"secret1","email":"a@example.com"})").status, 200);
  struct Case {
    const char* body;
    int status;
    const char* error;
  };
  for (const Case& c : {Case{R"({"username":"carol"})", 400, "Username and password are required"},
                        Case{R"({"username":"carol","password":"secret1","email":"not-an-address"})", 400, "Invalid email format"},
                        Case{R"({"username":"c!","password":"secret1"})", 400, "Username must be 3-20 characters (letters, numbers, underscore only)"},
                        Case{R"({"username":"carol","password":"12345"})", 400, "Password must be between 6 and 128 characters"},
                        Case{R"({"username":"Alice","password":"secret1"})", 400, "Username already exists"},
                        Case{R"({"username":"carol","password":"secret1","email":"A@example.com"})", 400, "Email already in use"},
                        Case{R"({"username":7,"password":"secret1"})", 400, "username must be a string"},
                        Case{R"(["alice"])", 400, "The body must be a JSON object: {\"username\": \"...\", \"password\": \"...\"}"}}) {
    auto r = call("POST", "/api/auth/register", c.body);
    EXPECT_EQ(r.status, c.status) << c.body;
    EXPECT_EQ(body(r)["error"], c.error) << c.body;
  }
  EXPECT_EQ(panel_->accounts().userCount(), 1u);
  // A wrong password and an unknown name read alike.
  auto wrong = call("POST", "/api/auth/login", R"({"username":"alice","password":"secret2"})");
  auto unknown = call("POST", "/api/auth/login", R"({"username":"nobody","password":"secret2"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(body(wrong)["error"], "Invalid credentials");
  // An oversized body is refused before it is read.
  EXPECT_EQ(call("POST", "/api/auth/login", std::string(64 << 10, 'x')).status, 413);
}

TEST_F(PanelAuthTest, ACookieActsOnlyWithTheCsrfTokenAndFromThePanelsOrigin) {
  auto signedUp = call("POST", "/api/auth/register", R"({"username":"alice","password":"secret1"})");
  ASSERT_EQ(signedUp.status, 200);
  const std::string cookies = cookiesOf(signedUp);
  const std::string csrfCookie = cookie(signedUp, "pb_csrf");
  const std::string csrf = csrfCookie.substr(8, csrfCookie.find(';') - 8);
  ASSERT_EQ(csrf.size(), 32u) << csrfCookie;

  // A form posted from another page carries the cookie but not the token.
  auto noToken = call("POST", "/api/auth/logout", "", {{"Cookie", cookies}});
  EXPECT_EQ(noToken.status, 403);
  EXPECT_NE(body(noToken)["error"].get<std::string>().find("CSRF"), std::string::npos);
  EXPECT_EQ(call("POST", "/api/auth/logout", "", {{"Cookie", cookies}, {"X-CSRF-Token", std::string(32, '0')}}).status, 403);
  // A script on another origin that somehow has the token is refused by Origin.
  auto elsewhere = call("POST", "/api/auth/logout", "", {{"Cookie", cookies}, {"X-CSRF-Token", csrf}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(elsewhere.status, 403);
  EXPECT_EQ(body(elsewhere)["error"], "Cross-origin request refused");
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"username":"alice","password":"secret1"})", {{"Origin", "null"}}).status, 403);
  EXPECT_EQ(call("GET", "/api/auth/me", "", {{"Cookie", cookies}}).status, 200) << "still signed in: nothing above acted";
  // The panel's own page: token and Origin.
  auto out = call("POST", "/api/auth/logout", "", {{"Cookie", cookies}, {"X-CSRF-Token", csrf}, {"Origin", origin()}});
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_NE(cookie(out, "pb_session").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/auth/me", "", {{"Cookie", cookies}}).status, 401) << "the session ended on the server, not only in the browser";
}

TEST_F(PanelAuthTest, ASessionTokenIsNotGuessableOrForgeable) {
  ASSERT_EQ(call("POST", "/api/auth/register", R"({"username":"alice","password":"secret1"})").status, 200);
  for (const std::string& forged : {std::string("pbs_") + std::string(64, '0'), std::string("pbs_"), std::string(""), std::string("' OR 1=1 --"),
                                    std::string(5000, 'a')}) {
    EXPECT_EQ(call("GET", "/api/auth/me", "", {{"Authorization", "Bearer " + forged}}).status, 401) << forged.substr(0, 40);
    EXPECT_EQ(call("GET", "/api/auth/me", "", {{"Cookie", "pb_session=" + forged}}).status, 401) << forged.substr(0, 40);
  }
  // The database keeps only the token's SHA-256, so a copy of it opens no session.
  auto db = openSqlDatabase(dir_.str() + "/host.db");
  ASSERT_TRUE(db.ok());
  auto rows = (*db)->query("SELECT token_hash FROM panel_sessions");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(call("GET", "/api/auth/me", "", {{"Authorization", "Bearer pbs_" + rows->front()[0]}}).status, 401);
  auto hashes = (*db)->query("SELECT password_hash FROM panel_users");
  ASSERT_TRUE(hashes.ok());
  EXPECT_TRUE(hashes->front()[0].starts_with("$argon2id$")) << hashes->front()[0];
}

TEST_F(PanelAuthTest, TheFirstAdministratorIsMadeAtFirstStartWithAPasswordOnlyTheOperatorReads) {
  const std::string file = dir_.str() + "/admin-password";
  auto made = panel::ensureFirstAdministrator(panel_->accounts(), file);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_TRUE(*made);
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string password = test::readFile(file);
  password.pop_back();  // the newline
  EXPECT_EQ(password.size(), 24u);
  auto again = panel::ensureFirstAdministrator(panel_->accounts(), file);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again) << "only when the panel has no user";
  EXPECT_EQ(test::readFile(file), password + "\n") << "the password is not replaced";

  auto admin = call("POST", "/api/auth/login", json{{"username", "admin"}, {"password", password}}.dump());
  ASSERT_EQ(admin.status, 200) << admin.body;
  EXPECT_EQ(body(admin)["user"]["isAdmin"], true);
  auto someone = call("POST", "/api/auth/register", R"({"username":"first_visitor","password":"secret1"})");
  ASSERT_EQ(someone.status, 200) << someone.body;
  EXPECT_EQ(body(someone)["user"]["isAdmin"], false) << "the first to register does not take the panel";
}

TEST_F(PanelAuthTest, GuessingIsThrottledPerAccountAndPerAddressWithRetryAfter) {
  // A clock the test moves: the window passes when the test says, however slow the machine.
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  start({.loginFailuresPerAccount = 3,
         .loginFailuresPerAddress = 5,
         .registrationsPerAddress = 4,
         .throttleWindow = std::chrono::seconds(60),
         .clock = [offset] { return std::chrono::steady_clock::now() + std::chrono::seconds(offset->load()); }});
  ASSERT_EQ(call("POST", "/api/auth/register", R"({"username":"alice","password":"secret1"})").status, 200);
  ASSERT_EQ(call("POST", "/api/auth/register", R"({"username":"bob","password":"secret1"})").status, 200);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call("POST", "/api/auth/login", R"({"username":"alice","password":"guess"})").status, 401);
  // The account waits, even with the right password: a guesser learns nothing.
  auto locked = call("POST", "/api/auth/login", R"({"username":"Alice","password":"secret1"})");
  EXPECT_EQ(locked.status, 429);
  EXPECT_EQ(body(locked)["error"], "Too many attempts, try again later");
  const int retryAfter = std::atoi(locked.header("retry-after").c_str());
  EXPECT_GE(retryAfter, 50);
  EXPECT_LE(retryAfter, 60);
  // Another account from the same address is not locked out by alice's.
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"username":"bob","password":"secret1"})").status, 200);
  // After the wait, alice signs in.
  *offset += retryAfter;
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"username":"alice","password":"secret1"})").status, 200);

  // Spraying many names from one address: the address waits.
  for (const char* name : {"carol", "dave", "erin", "frank", "grace"}) {
    EXPECT_EQ(call("POST", "/api/auth/login", json{{"username", name}, {"password", "guess"}}.dump()).status, 401) << name;
  }
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"username":"bob","password":"secret1"})").status, 429);
  // Registrations count per address too.
  start({.registrationsPerAddress = 2, .throttleWindow = std::chrono::seconds(600)});
  EXPECT_EQ(call("POST", "/api/auth/register", R"({"username":"heidi","password":"secret1"})").status, 200);
  EXPECT_EQ(call("POST", "/api/auth/register", R"({"username":"ivan","password":"secret1"})").status, 200);
  auto flood = call("POST", "/api/auth/register", R"({"username":"judy","password":"secret1"})");
  EXPECT_EQ(flood.status, 429);
  EXPECT_FALSE(flood.header("retry-after").empty());
}

TEST_F(PanelAuthTest, PasswordsChangeAndSessionsAreListedAndEndedByTheirOwnerOnly) {
  auto laptop = call("POST", "/api/auth/register", R"({"username":"alice","password":"secret1"})", {{"User-Agent", "laptop"}});
  ASSERT_EQ(laptop.status, 200);
  const std::string laptopToken = body(laptop)["token"];
  auto phone = call("POST", "/api/auth/login", R"({"username":"alice","password":"secret1"})", {{"User-Agent", "phone"}});
  const std::string phoneToken = body(phone)["token"];
  auto bob = call("POST", "/api/auth/register", R"({"username":"bob","password":"secret1"})");
  const std::string bobToken = body(bob)["token"];
  auto as = [](const std::string& token) { return std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + token}}; };

  auto listed = call("GET", "/api/user/sessions", "", as(laptopToken));
  ASSERT_EQ(listed.status, 200) << listed.body;
  json sessions = body(listed)["sessions"];
  ASSERT_EQ(sessions.size(), 2u) << sessions;
  std::string phoneId;
  for (const auto& s : sessions) {
    EXPECT_EQ(s["id"].get<std::string>().size(), 32u);
    EXPECT_EQ(s["current"], s["userAgent"] == "laptop") << s;
    if (s["userAgent"] == "phone") phoneId = s["id"];
  }
  EXPECT_EQ(listed.body.find(laptopToken.substr(4)), std::string::npos) << "a listing shows no token";
  // Bob cannot end alice's session by its id: it is not his.
  auto foreign = call("DELETE", "/api/user/sessions/" + phoneId, "", as(bobToken));
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(body(foreign)["error"], "Session not found");
  EXPECT_EQ(call("GET", "/api/auth/me", "", as(phoneToken)).status, 200);
  // Alice ends her phone's session.
  EXPECT_EQ(call("DELETE", "/api/user/sessions/" + phoneId, "", as(laptopToken)).status, 200);
  EXPECT_EQ(call("GET", "/api/auth/me", "", as(phoneToken)).status, 401);

  // Changing the password: Sodium's texts; the other sessions end, this one stays.
  auto tablet = call("POST", "/api/auth/login", R"({"username":"alice","password":"secret1"})");
  const std::string tabletToken = body(tablet)["token"];
  EXPECT_EQ(body(call("PUT", "/api/user/password", R"({"currentPassword":"secret1"})", as(laptopToken)))["error"], "All fields are required");
  auto wrong = call("PUT", "/api/user/password", R"({"currentPassword":"nope","newPassword":"secret2"})", as(laptopToken));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(body(wrong)["error"], "Current password is incorrect");
  EXPECT_EQ(call("PUT", "/api/user/password", R"({"currentPassword":"secret1","newPassword":"123"})", as(laptopToken)).status, 400);
  auto changed = call("PUT", "/api/user/password", R"({"currentPassword":"secret1","newPassword":"secret2"})", as(laptopToken));
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(body(changed)["message"], "Password updated successfully");
  EXPECT_EQ(call("GET", "/api/auth/me", "", as(laptopToken)).status, 200);
  EXPECT_EQ(call("GET", "/api/auth/me", "", as(tabletToken)).status, 401) << "a thief's session ends with the old password";
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"username":"alice","password":"secret1"})").status, 401);
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"username":"alice","password":"secret2"})").status, 200);
  // Log out everywhere else.
  auto others = call("DELETE", "/api/user/sessions", "", as(laptopToken));
  ASSERT_EQ(others.status, 200);
  EXPECT_EQ(body(others)["revoked"], 1);
  EXPECT_EQ(call("GET", "/api/auth/me", "", as(laptopToken)).status, 200);
  EXPECT_EQ(call("GET", "/api/auth/me", "", as(bobToken)).status, 200) << "bob's sessions are his";
}

TEST_F(PanelAuthTest, AdministratorsManageUsersAndOthersMayNot) {
  const std::string file = dir_.str() + "/admin-password";
  ASSERT_TRUE(panel::ensureFirstAdministrator(panel_->accounts(), file).ok());
  std::string password = test::readFile(file);
  password.pop_back();
  const std::string adminToken = body(call("POST", "/api/auth/login", json{{"username", "admin"}, {"password", password}}.dump()))["token"];
  auto as = [](const std::string& token) { return std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + token}}; };
  auto bob = call("POST", "/api/auth/register", R"({"username":"bob","password":"secret1","email":"bob@example.com"})");
  const std::string bobToken = body(bob)["token"], bobId = body(bob)["user"]["id"];

  auto refused = call("GET", "/api/admin/users", "", as(bobToken));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(body(refused)["error"], "Admin access required");
  EXPECT_EQ(call("DELETE", "/api/admin/users/" + bobId, "", as(bobToken)).status, 403);
  EXPECT_EQ(call("GET", "/api/admin/users").status, 401);

  // Create (Sodium's {user: {...}}), as an administrator or not.
  auto made = call("POST", "/api/admin/users", R"({"user":{"username":"carol","password":"secret1","isAdmin":true}})", as(adminToken));
  ASSERT_EQ(made.status, 200) << made.body;
  EXPECT_EQ(body(made)["user"]["isAdmin"], true);
  EXPECT_EQ(body(call("POST", "/api/admin/users", R"({"user":{"username":"carol","password":"secret1"}})", as(adminToken)))["error"],
            "Username already exists");
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(call("POST", "/api/admin/users", json{{"user", {{"username", "user" + std::to_string(i)}, {"password", "secret1"}}}}.dump(), as(adminToken)).status, 200);
  }
  // List: Sodium's pages and search, never a password.
  auto page1 = call("GET", "/api/admin/users", "", as(adminToken));
  ASSERT_EQ(page1.status, 200) << page1.body;
  EXPECT_EQ(body(page1)["users"].size(), 10u);
  EXPECT_EQ(body(page1)["meta"], json::parse(R"({"current_page":1,"per_page":10,"total":15,"total_pages":2})"));
  EXPECT_EQ(page1.body.find("argon2"), std::string::npos);
  EXPECT_EQ(body(call("GET", "/api/admin/users?page=2", "", as(adminToken)))["users"].size(), 5u);
  auto found = body(call("GET", "/api/admin/users?search=BOB%40", "", as(adminToken)));
  ASSERT_EQ(found["users"].size(), 1u) << found;
  EXPECT_EQ(found["users"][0]["username"], "bob");
  EXPECT_EQ(body(call("GET", "/api/admin/users?search=%25", "", as(adminToken)))["users"].size(), 0u) << "% is a character, not a wildcard";

  // Roles: Sodium's {updates: {role}} and {updates: {isAdmin}}; an administrator keeps their own.
  auto promoted = call("PUT", "/api/admin/users/" + bobId, R"({"updates":{"role":"admin"}})", as(adminToken));
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(body(promoted)["user"]["isAdmin"], true);
  EXPECT_EQ(body(call("GET", "/api/auth/me", "", as(bobToken)))["user"]["isAdmin"], true) << "at once, in the live session";
  EXPECT_EQ(body(call("PUT", "/api/admin/users/" + bobId, R"({"updates":{"isAdmin":false}})", as(adminToken)))["user"]["isAdmin"], false);
  EXPECT_EQ(call("PUT", "/api/admin/users/" + bobId, R"({"updates":{"role":"owner"}})", as(adminToken)).status, 400);
  const std::string adminId = body(call("GET", "/api/auth/me", "", as(adminToken)))["user"]["id"];
  EXPECT_EQ(body(call("PUT", "/api/admin/users/" + adminId, R"({"updates":{"role":"user"}})", as(adminToken)))["error"],
            "Cannot remove your own admin role");
  EXPECT_EQ(body(call("PUT", "/api/admin/users/nobody", R"({"updates":{"role":"user"}})", as(adminToken)))["error"], "User not found");

  // Sessions and deletion.
  auto revoked = call("DELETE", "/api/admin/users/" + bobId + "/sessions", "", as(adminToken));
  ASSERT_EQ(revoked.status, 200);
  EXPECT_EQ(body(revoked)["revoked"], 1);
  EXPECT_EQ(call("GET", "/api/auth/me", "", as(bobToken)).status, 401);
  EXPECT_EQ(body(call("DELETE", "/api/admin/users/" + adminId, "", as(adminToken)))["error"], "Cannot delete your own account");
  auto deleted = call("DELETE", "/api/admin/users/" + bobId, "", as(adminToken));
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(body(deleted)["success"], true);
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"username":"bob","password":"secret1"})").status, 401);
  EXPECT_EQ(call("DELETE", "/api/admin/users/" + bobId, "", as(adminToken)).status, 404);
}

TEST_F(PanelAuthTest, ExpiredSessionsOpenNothingAndAreSweptAway) {
  auto alice = panel_->accounts().registerUser({"alice", "secret1", ""});
  ASSERT_TRUE(alice.ok()) << alice.error().message;
  auto old = panel_->accounts().createSession(*alice, std::chrono::seconds(-60), "127.0.0.1", "old");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(call("GET", "/api/auth/me", "", {{"Authorization", "Bearer " + *old}}).status, 401);
  auto fresh = panel_->accounts().createSession(*alice, std::chrono::seconds(60), "127.0.0.1", "new");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(call("GET", "/api/auth/me", "", {{"Authorization", "Bearer " + *fresh}}).status, 200);
  auto db = openSqlDatabase(dir_.str() + "/host.db");
  ASSERT_TRUE(db.ok());
  auto rows = (*db)->query("SELECT user_agent FROM panel_sessions");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front()[0], "new");
}

TEST_F(PanelAuthTest, RegistrationCanBeClosed) {
  start({.registrationOpen = false});
  auto r = call("POST", "/api/auth/register", R"({"username":"alice","password":"secret1"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body(r)["error"], "Registration is currently disabled");
  EXPECT_EQ(panel_->accounts().userCount(), 0u);
}

TEST_F(PanelAuthTest, AdministratorsOpenAndCloseRegistrationAndItStaysSo) {
  const std::string admin = registered("admin_user");
  const std::string user = registered("someone");
  auto refused = as(user, "PUT", "/api/admin/settings", R"({"registrationOpen":false})");
  EXPECT_EQ(refused.status, 403);
  auto bad = as(admin, "PUT", "/api/admin/settings", R"({"registrationOpen":"no"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body(bad)["error"], "The body must be {\"registrationOpen\": true|false}");
  ASSERT_EQ(as(admin, "PUT", "/api/admin/settings", R"({"registrationOpen":false})").status, 200);
  EXPECT_EQ(body(as(admin, "GET", "/api/admin/settings"))["registrationOpen"], false);
  EXPECT_EQ(call("POST", "/api/auth/register", R"({"username":"late","password":"secret1"})").status, 403);
  start({});  // a restarted panel keeps the administrator's choice over its default
  EXPECT_EQ(call("POST", "/api/auth/register", R"({"username":"late","password":"secret1"})").status, 403);
  ASSERT_EQ(as(admin, "PUT", "/api/admin/settings", R"({"registrationOpen":true})").status, 200);
  EXPECT_EQ(call("POST", "/api/auth/register", R"({"username":"late","password":"secret1"})").status, 200);
}

}  // namespace
}  // namespace patchbay
