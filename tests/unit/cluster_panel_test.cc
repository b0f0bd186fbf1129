// Beyond one machine, first part: two `patchbay serve` processes whose data
// folders name the same PostgreSQL database serve the same panel's people.
// An account made on one signs in on the other, a session made on one
// works on the other, and signing out on one ends it on both; the first
// administrator is made once; an admin token made in one's folder works on
// the other; live events (a server's status, a session's end) reach tabs
// open on the other. (The fleet's servers and the installed set across
// processes come later: issue 16.)
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "patchbay/postgres.h"
#include "support/install_fixture.h"
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
  // `environment`: NAME=value words for the process only (libfaketime's).
  explicit PanelProcess(const std::string& database, const std::string& flags = "", const std::string& environment = "") {
    test::writeFile(dir / "data" / "config.json", json{{"database", database}}.dump());
    serve = std::make_unique<test::ServeProcess>(dir, "serve --data data" + flags, environment);
  }
  std::string base() const { return "http://127.0.0.1:" + serve->port; }
  std::string log() const { return test::readFile(dir / "log"); }
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

// The first column of the first row of `sql` on `url`, "" when none.
std::string scalar(const std::string& url, const std::string& sql) {
  auto pg = PgConnection::connect(url);
  if (!pg) return "connect: " + pg.error().message;
  auto rows = pg->query(sql);
  if (!rows) return "query: " + rows.error().message;
  return rows->empty() ? "" : (*rows)[0][0].value_or("");
}

// Polls `check` every 20 ms for up to `ms`; the milliseconds it took, or -1.
long long within(int ms, const std::function<bool()>& check) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(ms)) {
    if (check()) return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
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

  // Her servers are the same on either: made on A, listed and acted on by B.
  const std::string asAlice = "-b " + jar.string() + " " + csrf + " ";
  auto statusOn = [&](PanelProcess& p) {
    json one = json::parse(curl(asAlice + p.base() + "/api/servers/" + serverId).body, nullptr, false);
    return one.is_object() && one.contains("server") ? one["server"].value("status", "") : std::string("none");
  };
  EXPECT_GE(within(4000, [&] { return statusOn(b) == "running"; }), 0) << "B: " << statusOn(b);
  // Its detail on B is A's, which runs it: usage reports and log lines came over the relay.
  auto detailOn = [&](PanelProcess& p) { return json::parse(curl(asAlice + p.base() + "/api/servers/" + serverId).body, nullptr, false); };
  EXPECT_GE(within(8000,
                   [&] {
                     json d = detailOn(b);
                     return d.is_object() && d["usage"].is_object() && d["usage"].value("memoryLimit", 0) > 0 &&
                            d["log"].dump().find("Starting the server") != std::string::npos && d["log"].dump().find("Server is running") != std::string::npos;
                   }),
            0)
      << "B: " << detailOn(b).dump() << "\nA: " << detailOn(a).dump();
  auto listedOnB = json::parse(curl(asAlice + b.base() + "/api/servers").body, nullptr, false);
  EXPECT_NE(listedOnB.dump().find(serverId), std::string::npos) << listedOnB.dump();
  // Stopped through B, the server A started: both see it stopping, then offline.
  auto stopped = curl(asAlice + "-X POST " + b.base() + "/api/servers/" + serverId + "/power -d '{\"action\":\"stop\"}'");
  EXPECT_EQ(stopped.status / 100, 2) << stopped.body;
  EXPECT_GE(within(4000, [&] { return statusOn(a) == "offline" && statusOn(b) == "offline"; }), 0) << "A: " << statusOn(a) << ", B: " << statusOn(b);
  // Renamed on B, seen on A; deleted on A, gone from B.
  auto renamed = curl(asAlice + "-X PUT " + b.base() + "/api/servers/" + serverId + "/details -d '{\"name\":\"Beta\",\"description\":\"\"}'");
  EXPECT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_GE(within(2000, [&] { return curl(asAlice + a.base() + "/api/servers/" + serverId).body.find("\"Beta\"") != std::string::npos; }), 0);
  EXPECT_EQ(curl(asAlice + "-X DELETE " + a.base() + "/api/servers/" + serverId).status / 100, 2);
  EXPECT_GE(within(2000, [&] { return curl(asAlice + b.base() + "/api/servers/" + serverId).status == 404; }), 0);

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

// Issue 16's panels converge: a plugin installed, upgraded, deactivated or
// uninstalled through one panel's admin API is brought to the same state on
// the other within 2 s (NOTIFY), or within the timer period when the
// notification is lost (its listening connection terminated); the plugin's
// migrations run once in the cluster; a panel serves a plugin only at the
// cluster's version; each reports the generation it applied.
TEST(ClusterPanel, PluginsChangedOnOnePanelAreAppliedByTheOther) {
  test::PostgresServer pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.createDatabase("panel");
  test::TempDir shared;
  test::makeNotesPackages(shared / "work", shared / "modules");
  const std::string flags = " --modules " + (shared / "modules").string();
  // B's source is a copy: a package missing there keeps B from converging.
  std::filesystem::copy(shared / "modules", shared / "modules-b");
  const std::filesystem::path missing = shared / "modules-b" / "notes_v2.0.0.zip";
  std::filesystem::rename(missing, shared / "held-back.zip");
  PanelProcess a(pg.url("panel"), flags);
  ASSERT_FALSE(a.serve->port.empty()) << test::readFile(a.dir / "log");
  PanelProcess b(pg.url("panel"), " --modules " + (shared / "modules-b").string());
  ASSERT_FALSE(b.serve->port.empty()) << test::readFile(b.dir / "log");
  std::string token = test::readFile(a.dir / "data" / "admin-token");
  token = token.substr(0, token.find_last_not_of("\n ") + 1);
  const std::string admin = "-H 'Authorization: Bearer " + token + "' -H 'Content-Type: application/json' ";
  auto versionOn = [&](PanelProcess& p) -> std::string {
    auto installed = json::parse(test::readFile(p.dir / "data" / "installed.json"), nullptr, false);
    if (!installed.is_object() || !installed["plugins"].contains("notes")) return "";
    return installed["plugins"]["notes"].value("version", "");
  };

  // Installed through A: B serves its route within 2 s.
  auto installed = curl(admin + "-X POST " + a.base() + "/api/admin/plugins/install -d '{\"id\":\"notes\",\"version\":\"1.0.0\"}'");
  ASSERT_EQ(installed.status, 200) << installed.body;
  Answer onB;
  long long took = within(2000, [&] { return (onB = curl(b.base() + "/api/plugins/notes/notes")).status == 200; });
  EXPECT_GE(took, 0) << "B did not serve notes within 2 s: " << onB.status << " " << onB.body << "\n" << test::readFile(b.dir / "log");
  EXPECT_NE(onB.body.find("welcome"), std::string::npos) << onB.body;
  std::cout << "install on A served by B after " << took << " ms\n";

  // An administrator's outbound grant and body limit, set on A, are B's too.
  ASSERT_EQ(curl(admin + "-X PUT " + a.base() + "/api/admin/plugins/notes/grants -d '{\"fetch\":true,\"hosts\":[\"hooks.example.com\"]}'").status, 200);
  ASSERT_EQ(curl(admin + "-X PUT " + a.base() + "/api/admin/plugins/notes/limits -d '{\"maxBodyBytes\":12345}'").status, 200);
  json grantOnB, limitsOnB;
  took = within(6000, [&] {
    grantOnB = json::parse(curl(admin + b.base() + "/api/admin/plugins/notes/grants").body, nullptr, false);
    limitsOnB = json::parse(curl(admin + b.base() + "/api/admin/plugins/notes/limits").body, nullptr, false);
    return grantOnB.is_object() && grantOnB["hosts"] == json::array({"hooks.example.com"}) && limitsOnB.is_object() &&
           limitsOnB["maxBodyBytes"] == 12345;
  });
  EXPECT_GE(took, 0) << "B did not take A's grant and limit: " << grantOnB.dump() << " " << limitsOnB.dump() << "\n" << test::readFile(b.dir / "log");
  EXPECT_NE(test::readFile(b.dir / "data" / "config.json").find("hooks.example.com"), std::string::npos) << "B's folder does not keep the grant";
  // Removed on B: gone from A.
  ASSERT_EQ(curl(admin + "-X DELETE " + b.base() + "/api/admin/plugins/notes/grants").status, 200);
  took = within(6000, [&] { return json::parse(curl(admin + a.base() + "/api/admin/plugins/notes/grants").body, nullptr, false)["grant"].is_null(); });
  EXPECT_GE(took, 0) << test::readFile(a.dir / "log");

  // A tenant's plugin installed through A runs on B too; disabled through B, it stops on A.
  auto forTenant = curl(admin + "-X POST " + a.base() + "/plugins/install -d '{\"pluginId\":\"notes\",\"tenantId\":\"t1\"}'");
  ASSERT_EQ(forTenant.status, 201) << forTenant.body;
  took = within(3000, [&] { return curl(admin + b.base() + "/api/tenants/t1/plugins/notes/notes").status == 200; });
  EXPECT_GE(took, 0) << "B does not run t1's notes\n" << test::readFile(b.dir / "log");
  EXPECT_EQ(curl(admin + a.base() + "/api/tenants/t1/plugins/notes/notes").status, 200);
  auto disabled = curl(admin + "-X POST " + b.base() + "/plugins/notes/enable -d '{\"tenantId\":\"t1\",\"enabled\":false}'");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  took = within(3000, [&] { return curl(admin + a.base() + "/api/tenants/t1/plugins/notes/notes").status == 404; });
  EXPECT_GE(took, 0) << "A still runs t1's notes\n" << test::readFile(a.dir / "log");
  ASSERT_EQ(curl(admin + "-X DELETE " + a.base() + "/tenants/t1/plugins/notes").status, 200);

  // Upgraded through A (two migration steps) while B's source lacks 2.0.0: B
  // does not serve notes at 1.0.0 over the 2.0.0 data (503, Retry-After) and
  // says why; once the package is there, B moves to 2.0.0 within its timer
  // period, and the steps ran once in the cluster.
  auto upgraded = curl(admin + "-X POST " + a.base() + "/api/admin/plugins/notes/upgrade -d '{\"version\":\"2.0.0\"}'");
  ASSERT_EQ(upgraded.status, 200) << upgraded.body;
  took = within(2000, [&] { return curl(b.base() + "/api/plugins/notes/notes").status == 503; });
  EXPECT_GE(took, 0) << "B serves notes at another version than the cluster's";
  auto refused = test::run("curl -s -D - -o /dev/null " + b.base() + "/api/plugins/notes/notes");
  EXPECT_NE(refused.output.find("Retry-After: 1"), std::string::npos) << refused.output;
  json behind;
  took = within(3000, [&] {
    behind = json::parse(curl(admin + b.base() + "/api/admin/cluster").body, nullptr, false);
    bool told = false;
    for (const auto& p : behind.value("processes", json::array())) told = told || p["problems"].get<std::string>().find("notes: could not move to 2.0.0") != std::string::npos;
    return told;
  });
  EXPECT_GE(took, 0) << "B's problem is not reported: " << behind.dump();
  EXPECT_LT(behind["applied"], behind["generation"]) << behind.dump();
  EXPECT_EQ(behind["notServed"], json::array({"notes"})) << behind.dump();
  EXPECT_EQ(versionOn(b), "1.0.0");
  // A change made through B now would publish B's set (notes at 1.0.0) to every process: refused, nothing changes.
  auto throughB = curl(admin + "-X POST " + b.base() + "/api/admin/plugins/notes/deactivate");
  EXPECT_EQ(throughB.status, 503) << throughB.body;
  EXPECT_NE(throughB.body.find("not at the cluster's plugin state"), std::string::npos) << throughB.body;
  EXPECT_EQ(versionOn(a), "2.0.0");
  EXPECT_EQ(curl(a.base() + "/api/plugins/notes/notes").status, 200) << "A lost notes to a change B could not make";
  std::filesystem::rename(shared / "held-back.zip", missing);
  took = within(6000, [&] { return versionOn(b) == "2.0.0" && curl(b.base() + "/api/plugins/notes/notes").status == 200; });
  EXPECT_GE(took, 0) << "B is at " << versionOn(b) << "\n" << test::readFile(b.dir / "log");
  std::cout << "upgrade on A applied by B after " << took << " ms\n";
  const std::string schema = scalar(pg.url("panel"), "SELECT schema_name FROM patchbay_host.plugin_roles WHERE plugin = 'notes'");
  ASSERT_FALSE(schema.empty());
  EXPECT_EQ(scalar(pg.url("panel"), "SELECT count(*) FROM \"" + schema + "\".pins"), "1") << "the 0002_pins step ran more than once";
  EXPECT_EQ(scalar(pg.url("panel"), "SELECT string_agg(step, ',' ORDER BY step) FROM \"" + schema + "\"._patchbay_migrations"), "0001_tags,0002_pins,up.sql");

  // Each process reports the generation it applied.
  auto cluster = curl(admin + b.base() + "/api/admin/cluster");
  ASSERT_EQ(cluster.status, 200) << cluster.body;
  json status = json::parse(cluster.body);
  EXPECT_EQ(status["applied"], status["generation"]) << cluster.body;
  EXPECT_EQ(status["processes"].size(), 2u) << cluster.body;
  for (const auto& p : status["processes"]) EXPECT_EQ(p["generation"], status["generation"]) << cluster.body;

  // B's listening connection terminated just before the next change: B still applies it, within its timer period (5 s).
  EXPECT_NE(scalar(pg.url("panel"), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%patchbay_plugins%'"), "0");
  auto off = curl(admin + "-X POST " + a.base() + "/api/admin/plugins/notes/deactivate");
  ASSERT_EQ(off.status / 100, 2) << off.body;
  took = within(6000, [&] { return curl(b.base() + "/api/plugins/notes/notes").status == 404; });
  EXPECT_GE(took, 0) << "B still serves a deactivated plugin\n" << test::readFile(b.dir / "log");
  std::cout << "deactivation with B's listener cut applied after " << took << " ms\n";

  // Uninstalled through A: gone from B too; its data once (A's uninstall dropped the schema).
  ASSERT_EQ(curl(admin + "-X POST " + a.base() + "/api/admin/plugins/notes/uninstall").status, 200);
  took = within(2000, [&] { return versionOn(b).empty(); });
  EXPECT_GE(took, 0) << test::readFile(b.dir / "log");
  EXPECT_EQ(scalar(pg.url("panel"), "SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema + "'"), "0");

  // A third process on the same database starts with the cluster's plugins.
  ASSERT_EQ(curl(admin + "-X POST " + b.base() + "/api/admin/plugins/install -d '{\"id\":\"notes\",\"version\":\"1.1.0\"}'").status, 200);
  PanelProcess c(pg.url("panel"), flags);
  ASSERT_FALSE(c.serve->port.empty()) << test::readFile(c.dir / "log");
  took = within(3000, [&] { return curl(c.base() + "/api/plugins/notes/notes").status == 200; });
  EXPECT_GE(took, 0) << test::readFile(c.dir / "log");
  EXPECT_EQ(versionOn(c), "1.1.0");
  took = within(2000, [&] { return versionOn(a) == "1.1.0"; });
  EXPECT_GE(took, 0) << test::readFile(a.dir / "log");
}

// Issue 16's fault test 5: three panel processes run the same cron job on
// one PostgreSQL whose clock runs ten times faster than the machine's (a
// minute every 6 s: times are the database's, so the panels follow it). B
// runs under libfaketime 90 s behind; the first of A and C seen holding a
// slot is stopped (SIGSTOP) past its lease and then goes on; the next seen
// holding one is killed (-9). Every minute of the run is completed once, by one process: a
// slot whose holder went quiet is taken over when its lease is out, the
// stopped one's late completion is refused, and no slot is run twice
// unless its first holder stopped or died in the middle of it (a run is
// started under each claim at most once).
TEST(ClusterPanel, EachCronSlotRunsOnceWhilePanelsDieStopAndRunLate) {
  constexpr int kSpeed = 10;
  test::PostgresServer pg(kSpeed);
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.createDatabase("panel");
  const std::string url = pg.url("panel");
  test::TempDir shared;
  // Each run records its minute first, then takes 1.5 s (the window in which its holder is stopped or killed).
  test::makePackage(shared / "work", shared / "modules", "ticker", "1.0.0",
                    {{"server.js",
                      "export default function (sodium) {\n"
                      "  sodium.db.registerCollections(['runs']);\n"
                      "  sodium.cron.register('tick', '* * * * *', async (minute) => {\n"
                      "    sodium.db.insert('runs', { minute: minute.toISOString() });\n"
                      "    await new Promise((r) => setTimeout(r, 1500));\n"
                      "  });\n"
                      "}\n"}});
  const std::string flags = " --modules " + (shared / "modules").string();
  PanelProcess a(url, flags);
  ASSERT_FALSE(a.serve->port.empty()) << a.log();
  PanelProcess b(url, flags, std::string("LD_PRELOAD=") + test::kFakeTimeLibrary + " FAKETIME=-90s FAKETIME_DONT_FAKE_MONOTONIC=1");
  ASSERT_FALSE(b.serve->port.empty()) << b.log();
  PanelProcess c(url, flags);
  ASSERT_FALSE(c.serve->port.empty()) << c.log();
  std::string token = test::readFile(a.dir / "data" / "admin-token");
  token = token.substr(0, token.find_last_not_of("\n ") + 1);
  auto installed = curl("-H 'Authorization: Bearer " + token + "' -H 'Content-Type: application/json' -X POST " + a.base() +
                        "/api/admin/plugins/install -d '{\"id\":\"ticker\",\"version\":\"1.0.0\"}'");
  ASSERT_EQ(installed.status, 200) << installed.body;
  const std::string slots = "patchbay_host.cron_slots WHERE plugin = 'ticker' AND job = 'tick'";
  auto holder = [](int pid) { return " AND holder LIKE '%:" + std::to_string(pid) + ":%'"; };
  // A slot `pid` holds now (its minute, epoch seconds), or "".
  auto heldBy = [&](int pid) {
    return scalar(url, "SELECT extract(epoch FROM slot)::bigint FROM " + slots + " AND done_at IS NULL AND lease_until > now()" + holder(pid) + " LIMIT 1");
  };
  auto completedByAnother = [&](const std::string& minute) {
    return scalar(url, "SELECT count(*) FROM " + slots + " AND slot = to_timestamp(" + minute + ") AND fence = 2 AND done_at IS NOT NULL") == "1";
  };

  auto table = [&] { return scalar(url, "SELECT string_agg(concat_ws(' ', slot, fence, holder, done_at), E'\\n' ORDER BY slot) FROM " + slots); };

  // The first of A and C seen holding a slot is stopped: once the lease
  // (30 s by the database's clock, 3 s here) is out, another runs the
  // slot, and the stopped one's late completion is refused when it goes on.
  PanelProcess* target = nullptr;
  auto strikeEither = [&](int signal) {
    std::string slot;
    within(60000, [&] {
      for (PanelProcess* p : {&a, &c}) {
        slot = heldBy(p->serve->pid);
        if (slot.empty()) continue;
        ::kill(p->serve->pid, signal);
        target = p;
        return true;
      }
      return false;
    });
    return slot;
  };
  const std::string stoppedSlot = strikeEither(SIGSTOP);
  ASSERT_FALSE(stoppedSlot.empty()) << "neither A nor C ran the job\n" << table();
  PanelProcess& stopped = *target;
  long long took = within(30000, [&] { return completedByAnother(stoppedSlot); });
  EXPECT_GE(took, 0) << table();
  ::kill(stopped.serve->pid, SIGCONT);
  took = within(10000, [&] { return stopped.log().find("its slot was taken over by another process") != std::string::npos; });
  EXPECT_GE(took, 0) << "the stopped process's late completion was not refused\n" << stopped.log();
  // The next of A and C seen holding a slot (perhaps the one stopped before) is killed: another runs the slot.
  const std::string killedSlot = strikeEither(SIGKILL);
  ASSERT_FALSE(killedSlot.empty()) << "neither A nor C ran the job again\n" << table();
  took = within(30000, [&] { return completedByAnother(killedSlot); });
  EXPECT_GE(took, 0) << table();
  // The run goes on after the kill: a later minute completed, six at least in all.
  const std::string last = scalar(url, "SELECT extract(epoch FROM max(slot))::bigint FROM " + slots);
  took = within(40000, [&] {
    return scalar(url, "SELECT count(*) FROM " + slots + " AND done_at IS NOT NULL AND slot > to_timestamp(" + last + ")") != "0" &&
           std::stoi("0" + scalar(url, "SELECT count(*) FROM " + slots + " AND done_at IS NOT NULL")) >= 6;
  });
  EXPECT_GE(took, 0) << table();

  // Every minute from the first to the last completed once, none missing;
  // the processes' own clocks never named a minute.
  const std::string schema = scalar(url, "SELECT schema_name FROM patchbay_host.plugin_roles WHERE plugin = 'ticker'");
  ASSERT_FALSE(schema.empty());
  auto db = PgConnection::connect(url);
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto rows = db->query("SELECT extract(epoch FROM slot)::bigint, fence, done_at IS NOT NULL, holder, "
                        "(SELECT count(*) FROM \"" + schema + "\"._documents d WHERE d.collection = 'runs' AND "
                        "(d.data::jsonb->>'minute')::timestamptz = cron_slots.slot) FROM " + slots + " ORDER BY slot");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_GE(rows->size(), 6u);
  std::set<std::string> holders;
  for (size_t i = 0; i + 1 < rows->size(); ++i) {  // the newest may still be running
    const auto& r = (*rows)[i];
    const long long minute = std::stoll(r[0].value_or("0")), fence = std::stoll(r[1].value_or("0")), runs = std::stoll(r[4].value_or("0"));
    SCOPED_TRACE("the slot at " + std::to_string(minute) + ", fence " + std::to_string(fence) + ", held by " + r[3].value_or(""));
    if (i > 0) {
      EXPECT_EQ(minute - std::stoll((*rows)[i - 1][0].value_or("0")), 60) << "a minute was skipped (or named by a process's own clock)";
    }
    EXPECT_EQ(r[2].value_or(""), "t") << "never completed";
    EXPECT_GE(runs, 1);
    if (fence == 1) {
      EXPECT_EQ(runs, 1) << "a slot nobody lost ran twice";
    } else {
      EXPECT_LE(runs, fence) << "more runs than claims";
    }
    holders.insert(r[3].value_or("").substr(0, r[3].value_or("").rfind(':')));
  }
  EXPECT_NE(scalar(url, "SELECT count(*) FROM " + slots + holder(b.serve->pid) + " AND done_at IS NOT NULL"), "0")
      << "B, 90 s behind, never completed a slot";
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM " + slots + " AND fence > 2"), "0");
  std::cout << rows->size() << " minutes, run by " << holders.size() << " processes:\n" << table() << "\n";
}

}  // namespace
}  // namespace patchbay
