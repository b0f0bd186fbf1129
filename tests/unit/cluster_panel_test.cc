// Beyond one machine, first part: two `patchbay serve` processes whose data
// folders name the same PostgreSQL database serve the same panel's people.
// An account made on one signs in on the other, a session made on one
// works on the other, and signing out on one ends it on both; the first
// administrator is made once; an admin token made in one's folder works on
// the other; live events (a server's status, a session's end) reach tabs
// open on the other. (The fleet's servers and the installed set across
// processes come later: issue 16.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/postgres_server.h"
#include "support/test_util.h"
#include "support/websocket_client.h"

namespace patchbay {
namespace {

using nlohmann::json;

// A panel process on `database`, in its own data folder under `dir`.
struct PanelProcess {
  test::TempDir dir;
  std::unique_ptr<test::ServeProcess> serve;
  explicit PanelProcess(const std::string& database) {
    test::writeFile(dir / "data" / "config.json", json{{"database", database}}.dump());
    serve = std::make_unique<test::ServeProcess>(dir, "serve --data data");
  }
  std::string base() const { return "http://127.0.0.1:" + serve->port; }
};

// curl with a cookie jar: {status, body}.
struct Answer {
  int status = 0;
  std::string body;
};
Answer curl(const std::string& args) {
  auto r = test::run("curl -s -w '\\n%{http_code}' " + args);
  const size_t nl = r.output.rfind('\n');
  Answer a;
  a.body = r.output.substr(0, nl == std::string::npos ? 0 : nl);
  a.status = std::atoi(r.output.c_str() + (nl == std::string::npos ? 0 : nl + 1));
  return a;
}

// A cookie's value in a curl cookie jar.
std::string cookieOf(const std::filesystem::path& jar, const std::string& name) {
  const std::string text = test::readFile(jar);
  const size_t at = text.find(name + "\t");
  if (at == std::string::npos) return "";
  const size_t end = text.find('\n', at);
  return text.substr(at + name.size() + 1, end - at - name.size() - 1);
}

// The next message of `type` on `ws` within `ms`, or null.
json nextOfType(test::WebSocketClient& ws, const std::string& type, int ms = 5000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = ws.read(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!text) return nullptr;
    json m = json::parse(*text, nullptr, false);
    if (m.is_object() && m.value("type", "") == type) return m;
  }
  return nullptr;
}

TEST(ClusterPanel, PeopleAndSessionsAreSharedByPanelsOnOnePostgres) {
  test::PostgresServer pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.createDatabase("panel");
  PanelProcess a(pg.url("panel"));
  ASSERT_FALSE(a.serve->port.empty()) << test::readFile(a.dir / "log");
  PanelProcess b(pg.url("panel"));
  ASSERT_FALSE(b.serve->port.empty()) << test::readFile(b.dir / "log");

  // The first administrator: made by the first process only.
  EXPECT_FALSE(test::readFile(a.dir / "data" / "admin-password").empty());
  EXPECT_TRUE(test::readFile(b.dir / "data" / "admin-password").empty()) << "a second first administrator";
  const std::string adminPassword = test::readFile(a.dir / "data" / "admin-password");
  std::string trimmed = adminPassword.substr(0, adminPassword.find_last_not_of("\n ") + 1);
  EXPECT_EQ(curl("-X POST " + b.base() + "/api/auth/login -H 'Content-Type: application/json' -d '" +
                 json{{"username", "admin"}, {"password", trimmed}}.dump() + "'").status,
            200)
      << "the administrator made on A signs in on B";

  // Alice registers on A; her session cookie works on B.
  const auto jar = a.dir / "jar";
  auto registered = curl("-c " + jar.string() + " -X POST " + a.base() +
                         "/api/auth/register -H 'Content-Type: application/json' -d '{\"username\":\"alice\",\"password\":\"alice-password\"}'");
  ASSERT_EQ(registered.status, 200) << registered.body;
  auto me = curl("-b " + jar.string() + " " + b.base() + "/api/auth/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body)["user"]["username"], "alice") << me.body;

  // Live events: her tab on B hears of her server started on A.
  const std::string cookie = "pb_session=" + cookieOf(jar, "pb_session");
  auto onB = test::WebSocketClient::connect(static_cast<uint16_t>(std::stoi(b.serve->port)), "/api/events", {{"Cookie", cookie}, {"Origin", b.base()}});
  ASSERT_TRUE(onB.ok()) << onB.error().message;
  ASSERT_FALSE(nextOfType(**onB, "hello").is_null());
  auto onA = test::WebSocketClient::connect(static_cast<uint16_t>(std::stoi(a.serve->port)), "/api/events", {{"Cookie", cookie}, {"Origin", a.base()}});
  ASSERT_TRUE(onA.ok()) << onA.error().message;
  ASSERT_FALSE(nextOfType(**onA, "hello").is_null());
  const std::string csrf = "-H 'X-CSRF-Token: " + cookieOf(jar, "pb_csrf") + "' -H 'Content-Type: application/json'";
  auto alpha = curl("-b " + jar.string() + " " + csrf + " -X POST " + a.base() + "/api/servers -d '{\"name\":\"Alpha\"}'");
  ASSERT_EQ(alpha.status, 200) << alpha.body;
  const std::string serverId = json::parse(alpha.body)["server"]["id"];
  ASSERT_EQ(curl("-b " + jar.string() + " " + csrf + " -X POST " + a.base() + "/api/servers/" + serverId + "/power -d '{\"action\":\"start\"}'").status / 100, 2);
  json status = nextOfType(**onB, "server.status");
  ASSERT_FALSE(status.is_null()) << "no server.status on B";
  EXPECT_EQ(status["server"]["id"], serverId);

  // Signing out on B ends the session on A too, and A's open tab is told at once.
  auto out = curl("-b " + jar.string() + " -X POST " + b.base() + "/api/auth/logout -H 'X-CSRF-Token: " + cookieOf(jar, "pb_csrf") + "'");
  EXPECT_EQ(out.status / 100, 2) << out.body;
  EXPECT_EQ(curl("-b " + jar.string() + " " + a.base() + "/api/auth/me").status, 401);
  EXPECT_FALSE(nextOfType(**onA, "session.ended", 3000).is_null()) << "A's tab was not told within 3 s (its heartbeat is 25 s)";

  // An admin token made in A's folder works on B.
  auto made = test::run("cd " + a.dir.str() + " && " + test::patchbayBinary() + " admin-token create --data data --name ops --json");
  ASSERT_EQ(made.exitCode, 0) << made.output;
  const std::string secret = json::parse(made.output).value("token", "");
  ASSERT_FALSE(secret.empty()) << made.output;
  EXPECT_EQ(curl("-H 'Authorization: Bearer " + secret + "' " + b.base() + "/api/admin/plugins").status, 200);
  EXPECT_EQ(curl("-H 'Authorization: Bearer wrong' " + b.base() + "/api/admin/plugins").status, 401);

  // Her password works on either.
  EXPECT_EQ(curl("-X POST " + b.base() + "/api/auth/login -H 'Content-Type: application/json' -d '{\"username\":\"alice\",\"password\":\"alice-password\"}'").status, 200);
  EXPECT_EQ(curl("-X POST " + a.base() + "/api/auth/login -H 'Content-Type: application/json' -d '{\"username\":\"alice\",\"password\":\"wrong-password\"}'").status, 401);
}

}  // namespace
}  // namespace patchbay
