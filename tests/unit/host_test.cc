// The host over real HTTP: seed 004's config.json, discovery, Sodium's
// admin API, plugin routes under /api/plugins/<id>/, client data.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "patchbay/host.h"
#include "patchbay/package.h"
#include "patchbay/sql_database.h"
#include "patchbay/http_client.h"
#include "support/host_fixture.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class HostTest : public test::HostFixture {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "data/plugins");
    for (const char* example : {"billing", "discord-alerts"}) {
      fs::copy(fs::path(PATCHBAY_SOURCE_DIR) / "examples/plugins" / example, dir_ / "data/plugins" / example, fs::copy_options::recursive);
    }
  }
  void stop_() { stop(); }

  json adminPlugins() { return json::parse(call("GET", "/api/admin/plugins", admin_).body)["plugins"]; }
};

TEST_F(HostTest, AdminApiActivatesPluginsLiveAndTheChoiceSurvivesARestart) {
  start();
  ASSERT_EQ(admin_.size(), 67u);  // the first admin token, written for the operator
  EXPECT_EQ(fs::status(dir_ / "data/admin-token").permissions() & fs::perms::others_all, fs::perms::none);
  auto config = json::parse(test::readFile(dir_ / "data/config.json"));
  EXPECT_EQ(config["plugins"]["enabled"], true);
  EXPECT_EQ(config["plugins"]["active"], json::array());

  EXPECT_EQ(call("GET", "/api/admin/plugins").status, 401);
  EXPECT_EQ(call("GET", "/api/admin/plugins", "pb_" + std::string(64, '0')).status, 401);
  auto listed = adminPlugins();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["id"], "billing");
  EXPECT_EQ(listed[0]["active"], false);
  for (const char* field : {"id", "name", "version", "type", "author", "description", "active", "hooks", "permissions", "settings"}) {
    EXPECT_TRUE(listed[0].contains(field)) << field;
  }
  EXPECT_EQ(call("GET", "/api/plugins/billing/plans").status, 404);

  auto activated = call("POST", "/api/admin/plugins/billing/activate", admin_);
  EXPECT_EQ(activated.status, 200);
  EXPECT_EQ(activated.body, R"({"success":true})");
  auto missing = call("POST", "/api/admin/plugins/nope/activate", admin_);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"Plugin \"nope\" not found"})");
  EXPECT_EQ(adminPlugins()[0]["active"], true);

  // The plugin's routes work at once, with req.user from the token.
  auto plan = call("POST", "/api/plugins/billing/plans", admin_, R"({"name":"Gold","price":10})");
  ASSERT_EQ(plan.status, 201) << plan.body;
  EXPECT_EQ(json::parse(plan.body)["currency"], "USD");
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/billing/plans").body).size(), 1u);
  EXPECT_EQ(call("GET", "/api/plugins/billing/nowhere").status, 404);

  // Settings: schema and values with secrets masked; PUT validates.
  EXPECT_EQ(json::parse(call("GET", "/api/admin/plugins/billing/settings", admin_).body)["values"]["currency"], "USD");  // the default
  // One error shape on the host, the router's and the server's own too.
  EXPECT_EQ(call("GET", "/api/nowhere", admin_).body, R"({"error":"no such endpoint: /api/nowhere"})");
  EXPECT_EQ(call("PATCH", "/api/admin/audit", admin_).body, R"({"error":"PATCH is not allowed on /api/admin/audit"})");
  auto unknown = call("GET", "/api/admin/plugins/nope/settings", admin_);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error":"Plugin not found"})");  // Sodium's admin-api.md
  ASSERT_EQ(call("PUT", "/api/admin/plugins/billing/settings", admin_, R"({"settings":{"currency":"GBP"}})").status, 200);  // Sodium's older body
  EXPECT_EQ(json::parse(call("GET", "/api/admin/plugins/billing/settings", admin_).body)["values"]["currency"], "GBP");
  ASSERT_EQ(call("PUT", "/api/admin/plugins/billing/settings", admin_, R"({"values":{"currency":"EUR","stripe_key":"sk_test_1"}})").status, 200);
  auto settings = json::parse(call("GET", "/api/admin/plugins/billing/settings", admin_).body);
  EXPECT_EQ(settings["values"]["currency"], "EUR");
  EXPECT_EQ(settings["values"]["stripe_key"], "********");
  EXPECT_EQ(settings["schema"]["currency"]["options"], json({"USD", "EUR", "GBP"}));
  auto badSetting = call("PUT", "/api/admin/plugins/billing/settings", admin_, R"({"values":{"currency":"JPY"}})");
  EXPECT_EQ(badSetting.status, 400);
  EXPECT_NE(badSetting.body.find("must be one of USD, EUR, GBP"), std::string::npos);
  EXPECT_EQ(json::parse(call("POST", "/api/plugins/billing/plans", admin_, R"({"name":"Euro","price":5})").body)["currency"], "EUR");
  EXPECT_EQ(call("GET", "/api/admin/plugins/billing/settings").status, 401);

  // The active list is in config.json and survives a restart.
  EXPECT_EQ(json::parse(test::readFile(dir_ / "data/config.json"))["plugins"]["active"], json({"billing"}));
  stop();
  start();
  EXPECT_EQ(adminPlugins()[0]["active"], true);
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/billing/plans").body).size(), 2u);  // data kept

  host_->runtime().emit("server:onDelete", R"({"server":{"id":"srv-9"},"user":{"id":1}})");
  auto logs = json::parse(call("GET", "/api/admin/plugins/billing/logs", admin_).body)["logs"];
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs.back()["message"], "Server srv-9 deleted; its subscription ends");
  EXPECT_EQ(call("GET", "/api/admin/plugins/billing/logs").status, 401);
  ASSERT_EQ(call("POST", "/api/admin/plugins/billing/deactivate", admin_).status, 200);
  EXPECT_EQ(call("GET", "/api/plugins/billing/plans").status, 404);
  EXPECT_EQ(json::parse(test::readFile(dir_ / "data/config.json"))["plugins"]["active"], json::array());
}

// A Sodium panel kept plugin settings in data/config.json under
// plugins.settings.<id>: patchbay takes them over at its first start, loses
// none (a value its declared type refuses stays there, with a warning) and
// never overwrites a value set since.
TEST_F(HostTest, SettingsASodiumPanelKeptInConfigJsonAreTakenOver) {
  test::writeFile(dir_ / "data/config.json", R"({"plugins": {"enabled": true, "directory": ")" + (dir_ / "data/plugins").string() +
                                                 R"(", "active": ["billing"], "settings": {
      "billing": {"currency": "JPY", "stripe_key": "sk_live_1", "lastSync": 5},
      "not-installed": {"x": 1}}}})");
  start();
  auto settings = json::parse(call("GET", "/api/admin/plugins/billing/settings", admin_).body)["values"];
  EXPECT_EQ(settings["stripe_key"], "********");
  EXPECT_EQ(settings["lastSync"], 5);
  EXPECT_EQ(settings["currency"], "USD");  // JPY is not among its options: not taken
  EXPECT_TRUE(logged("setting \"currency\" stays in"));
  auto config = json::parse(test::readFile(dir_ / "data/config.json"));
  EXPECT_EQ(config["plugins"]["settings"], json::parse(R"({"billing":{"currency":"JPY"},"not-installed":{"x":1}})"));
  EXPECT_EQ(config["plugins"]["active"], json({"billing"}));
  // The plugin itself reads what it had.
  auto plan = call("POST", "/api/plugins/billing/plans", admin_, R"({"name":"Gold","price":10})");
  EXPECT_EQ(json::parse(plan.body)["currency"], "USD");

  // Values set since are never overwritten by what is left in the file.
  stop();
  config["plugins"]["settings"]["billing"]["lastSync"] = 9;
  test::writeFile(dir_ / "data/config.json", config.dump());
  start();
  EXPECT_EQ(json::parse(call("GET", "/api/admin/plugins/billing/settings", admin_).body)["values"]["lastSync"], 5);
  EXPECT_EQ(json::parse(test::readFile(dir_ / "data/config.json"))["plugins"]["settings"]["billing"], json::parse(R"({"currency":"JPY"})"));
}

TEST_F(HostTest, ClientDataListsWhatActivePluginsAddToThePanel) {
  test::writeFile(dir_ / "data/plugins/panel-ui/plugin.json", R"({"name":"Panel UI","version":"1.0.0","type":"widget"})");
  test::writeFile(dir_ / "data/plugins/panel-ui/client.js", "export default {};\n");
  test::writeFile(dir_ / "data/plugins/panel-ui/server.js", R"js(
export default function (sodium) {
  sodium.ui.registerPages({ '/stats': { title: 'Stats' } });
  sodium.ui.addSidebarItem({ id: 'stats', label: 'Stats', icon: 'chart', path: '/stats' });
  sodium.ui.addServerTab({ id: 'graphs', label: 'Graphs' });
  sodium.ui.addDashboardWidget({ id: 'cpu', title: 'CPU', size: 'small' });
  sodium.ui.addAdminTab({ id: 'stats-admin', label: 'Stats' });
}
)js");
  start();
  ASSERT_EQ(call("POST", "/api/admin/plugins/panel-ui/activate", admin_).status, 200);
  auto data = json::parse(call("GET", "/api/plugins/client-data").body);  // no admin needed
  ASSERT_EQ(data["plugins"].size(), 1u);
  const json& p = data["plugins"][0];
  EXPECT_EQ(p["id"], "panel-ui");
  EXPECT_EQ(p["name"], "Panel UI");
  EXPECT_EQ(p["type"], "widget");
  EXPECT_EQ(p["pages"], json::parse(R"([{"id":"/stats","title":"Stats"}])"));  // Sodium's array of {id, ...page}
  EXPECT_EQ(p["sidebarItems"][0]["path"], "/stats");
  EXPECT_EQ(p["serverTabs"][0]["id"], "graphs");
  EXPECT_EQ(p["dashboardWidgets"][0]["size"], "small");
  EXPECT_EQ(p["adminTabs"][0]["label"], "Stats");
  EXPECT_EQ(p["hasClient"], true);
}

// An active plugin's client module for the panel's sandboxed frames: as
// JavaScript, fetchable from an opaque origin (CORS, no credentials),
// never sniffed; immutable when asked for by its content's hash (as
// client-data names it), else revalidated by its ETag; a changed module
// gets a new hash; nothing for inactive or unknown plugins.
TEST_F(HostTest, ClientModulesAreServedForSandboxedFrames) {
  test::writeFile(dir_ / "data/plugins/panel-ui/plugin.json", R"({"name":"Panel UI","version":"1.2.0","type":"widget"})");
  test::writeFile(dir_ / "data/plugins/panel-ui/client.js", "export default function (sodium) {}\n");
  test::writeFile(dir_ / "data/plugins/panel-ui/server.js", "export default function () {}\n");
  start();
  EXPECT_EQ(call("GET", "/api/plugins/panel-ui/client.js").status, 404) << "inactive";
  ASSERT_EQ(call("POST", "/api/admin/plugins/panel-ui/activate", admin_).status, 200);
  auto clientData = [&] { return json::parse(call("GET", "/api/plugins/client-data").body)["plugins"][0]; };
  const std::string hash = clientData()["clientHash"];
  EXPECT_EQ(hash.size(), 16u);
  auto module = call("GET", "/api/plugins/panel-ui/client.js?v=" + hash);
  ASSERT_EQ(module.status, 200);
  EXPECT_EQ(module.body, "export default function (sodium) {}\n");
  EXPECT_EQ(module.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(module.header("access-control-allow-origin"), "*");
  EXPECT_EQ(module.header("access-control-allow-credentials"), "");
  EXPECT_EQ(module.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(module.header("cache-control"), "public, max-age=31536000, immutable");
  auto older = call("GET", "/api/plugins/panel-ui/client.js?v=1.2.0");
  EXPECT_EQ(older.header("cache-control"), "no-cache") << "only the content's own URL is cached for good";
  const std::string etag = module.header("etag");
  ASSERT_FALSE(etag.empty());
  auto again = http::fetch({.method = "GET", .url = url("/api/plugins/panel-ui/client.js"), .headers = {{"If-None-Match", etag}}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  test::writeFile(dir_ / "data/plugins/panel-ui/client.js", "export default function (sodium) { /* edited */ }\n");
  EXPECT_NE(clientData()["clientHash"], hash) << "an edit (same version) is a new module URL";
  EXPECT_EQ(call("GET", "/api/plugins/panel-ui/client.js?v=" + hash).header("cache-control"), "no-cache");
  EXPECT_EQ(call("GET", "/api/plugins/nobody/client.js").status, 404);
}

// Query strings through the real server, decoded by Boost.URL: a repeated
// key reaches the plugin as an array (Express's req.query), '+' is a space,
// and a malformed escape is refused in the host's error shape.
TEST_F(HostTest, QueryStringsReachPluginsAsExpressGivesThem) {
  test::writeFile(dir_ / "data/plugins/echo/plugin.json", R"({"name":"Echo","version":"1.0.0"})");
  test::writeFile(dir_ / "data/plugins/echo/server.js",
                  "export default function (sodium) { sodium.http.registerRoutes((r) => r.get('/q', (req) => req.query)); }\n");
  start();
  ASSERT_EQ(call("POST", "/api/admin/plugins/echo/activate", admin_).status, 200);
  auto echoed = call("GET", "/api/plugins/echo/q?tag=a&tag=b&x=%41+b&filter={%22k%22:1}");
  ASSERT_EQ(echoed.status, 200) << echoed.body;
  EXPECT_EQ(json::parse(echoed.body), json::parse(R"({"tag":["a","b"],"x":"A b","filter":"{\"k\":1}"})"));
  auto malformed = call("GET", "/api/plugins/echo/q?x=%zz");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(json::parse(malformed.body)["error"].get<std::string>().find("malformed percent-encoding"), std::string::npos) << malformed.body;
}

TEST_F(HostTest, ABrokenPluginIsReportedAndTheOthersLoad) {
  test::writeFile(dir_ / "data/plugins/broken/plugin.json", R"({"name":"Broken","version":"1.0.0"})");
  test::writeFile(dir_ / "data/plugins/broken/server.js", "import fs from 'fs';\nexport default () => {};\n");
  test::writeFile(dir_ / "data/plugins/badmanifest/plugin.json", R"({"name":"x","version":"not-a-version"})");
  test::writeFile(dir_ / "data/config.json",
                  R"({"panel":{"name":"kept"},"plugins":{"enabled":true,"directory":")" + (dir_ / "data/plugins").string() +
                      R"(","active":["broken","billing","discord-alerts","gone"]}})");
  start();
  std::map<std::string, json> byId;
  for (const auto& p : adminPlugins()) byId[p["id"]] = p;
  EXPECT_EQ(byId["billing"]["active"], true);
  EXPECT_EQ(byId["discord-alerts"]["active"], true);
  EXPECT_EQ(byId["broken"]["active"], false);
  EXPECT_NE(byId["broken"]["error"].get<std::string>().find("Cannot import \"fs\""), std::string::npos);
  EXPECT_NE(byId["badmanifest"]["error"].get<std::string>().find("version"), std::string::npos);
  auto refused = call("POST", "/api/admin/plugins/broken/activate", admin_);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("Cannot import"), std::string::npos);
  // Saving the active list keeps the rest of config.json.
  ASSERT_EQ(call("POST", "/api/admin/plugins/discord-alerts/deactivate", admin_).status, 200);
  auto config = json::parse(test::readFile(dir_ / "data/config.json"));
  EXPECT_EQ(config["panel"]["name"], "kept");
  EXPECT_EQ(config["plugins"]["active"], json({"broken", "billing", "gone"}));
}

// An administrator grants outbound HTTP to a plugin whose manifest does not
// ask for it; the grant applies to the running plugin at once, is kept in
// config.json for the next start, can be narrowed to hosts and removed.
TEST_F(HostTest, AnAdministratorsFetchGrantAppliesLiveAndSurvivesARestart) {
  http::Router targetRoutes;
  targetRoutes.add("GET", "/pong", [](http::Request&) { return http::Response::json(200, R"({"pong":true})"); });
  http::Server target({}, targetRoutes.handler());
  ASSERT_TRUE(target.start().ok());
  const std::string url = "http://127.0.0.1:" + std::to_string(target.port()) + "/pong";
  test::writeFile(dir_ / "data/plugins/prober/plugin.json", R"({"name":"Prober","version":"1.0.0"})");
  test::writeFile(dir_ / "data/plugins/prober/server.js", R"js(
export default function (sodium) {
  sodium.http.registerRoutes((router) => {
    router.get('/probe', async (req) => {
      try { const r = await fetch(req.query.url); return { status: r.status, body: await r.json() }; }
      catch (e) { return { error: String(e.message) }; }
    });
  });
}
)js");
  start();
  ASSERT_EQ(call("POST", "/api/admin/plugins/prober/activate", admin_).status, 200);
  auto probe = [&] { return json::parse(call("GET", "/api/plugins/prober/probe?url=" + url).body); };
  EXPECT_NE(probe()["error"].get<std::string>().find("needs the \"webhooks:send\" permission"), std::string::npos);
  auto grants = json::parse(call("GET", "/api/admin/plugins/prober/grants", admin_).body);
  EXPECT_EQ(grants["fetch"], false);
  EXPECT_EQ(grants["manifestPermits"], false);
  EXPECT_TRUE(grants["grant"].is_null());

  EXPECT_EQ(call("PUT", "/api/admin/plugins/prober/grants", "", R"({"fetch":true})").status, 401);
  EXPECT_EQ(call("PUT", "/api/admin/plugins/prober/grants", admin_, R"({"fetch":"yes"})").status, 400);
  EXPECT_EQ(call("PUT", "/api/admin/plugins/prober/grants", admin_, R"({"fetch":true,"hosts":["http://x/"]})").status, 400);
  EXPECT_EQ(call("PUT", "/api/admin/plugins/nobody/grants", admin_, R"({"fetch":true})").status, 404);
  ASSERT_EQ(call("PUT", "/api/admin/plugins/prober/grants", admin_, R"({"fetch":true,"hosts":["127.0.0.1"]})").status, 200);
  EXPECT_EQ(probe(), json::parse(R"({"status":200,"body":{"pong":true}})"));  // live, no reactivation
  auto config = json::parse(test::readFile(dir_ / "data/config.json"));
  EXPECT_EQ(config["plugins"]["grants"]["prober"], json::parse(R"({"fetch":true,"hosts":["127.0.0.1"]})"));

  ASSERT_EQ(call("PUT", "/api/admin/plugins/prober/grants", admin_, R"({"fetch":true,"hosts":["Hooks.Example.com"]})").status, 200);
  EXPECT_NE(probe()["error"].get<std::string>().find("host \"127.0.0.1\" is not among the hosts granted"), std::string::npos);
  ASSERT_EQ(call("PUT", "/api/admin/plugins/prober/grants", admin_, R"({"fetch":true})").status, 200);

  // Kept across a restart of the host.
  stop();
  start();
  EXPECT_EQ(probe()["status"], 200);
  EXPECT_EQ(json::parse(call("GET", "/api/admin/plugins/prober/grants", admin_).body)["fetch"], true);

  // Removed: the manifest decides again (it does not ask).
  ASSERT_EQ(call("DELETE", "/api/admin/plugins/prober/grants", admin_).status, 200);
  EXPECT_TRUE(probe().contains("error"));
  EXPECT_FALSE(json::parse(test::readFile(dir_ / "data/config.json"))["plugins"]["grants"].contains("prober"));
  target.stop();
}

// The installer, live: installing over the admin API makes routes, hooks
// and data work at once; an upgrade switches versions; uninstall removes
// them; seed 002's marketplace endpoints do the same; all of it audited.
TEST_F(HostTest, InstallUpgradeAndUninstallOverTheAdminApiTakeEffectAtOnce) {
  auto write = [&](const std::string& version, const std::string& extraRoute, const std::map<std::string, std::string>& migrations) {
    fs::path src = dir_ / ("src-" + version) / "notes";
    test::writeFile(src / "plugin.json", json{{"id", "notes"}, {"name", "Notes"}, {"version", version}, {"hooks", {"server:beforeCreate"}}}.dump());
    test::writeFile(src / "server.js", "export default function (sodium) {\n"
                                       "  sodium.hooks.on('server:beforeCreate', (ctx) => { if (ctx.name === 'blocked') ctx.deny('notes says no'); });\n"
                                       "  sodium.http.registerRoutes((r) => {\n"
                                       "    r.get('/version', () => ({ version: '" + version + "' }));\n"
                                       "    r.get('/notes', () => sodium.db.sql('SELECT * FROM notes ORDER BY id'));\n" + extraRoute +
                                       "  });\n}\n");
    for (const auto& [name, sql] : migrations) test::writeFile(src / "migrations" / name, sql);
    auto packed = packFolder(src.string(), (dir_ / "modules").string());
    ASSERT_TRUE(packed.ok()) << packed.error().message;
  };
  write("1.0.0", "", {{"up.sql", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\nINSERT INTO notes (body) VALUES ('first');"},
                      {"down.sql", "DROP TABLE notes;"}});
  write("1.1.0", "    r.get('/tags', () => sodium.db.sql('SELECT * FROM tags'));\n",
        {{"up.sql", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\nINSERT INTO notes (body) VALUES ('first');"},
         {"down.sql", "DROP TABLE notes;"},
         {"0001_tags.up.sql", "CREATE TABLE tags (name TEXT);\nINSERT INTO tags VALUES ('new');"},
         {"0001_tags.down.sql", "DROP TABLE tags;"}});
  start();
  auto available = json::parse(call("GET", "/api/admin/plugins/available", admin_).body);
  ASSERT_EQ(available["plugins"].size(), 1u) << available;
  EXPECT_EQ(available["plugins"][0]["latest"], "1.1.0");
  EXPECT_TRUE(available["plugins"][0]["installed"].is_null());
  EXPECT_EQ(call("POST", "/api/admin/plugins/install", "", R"({"id":"notes"})").status, 401);
  EXPECT_EQ(call("POST", "/api/admin/plugins/install", admin_, R"({"id":"ghost"})").status, 404);

  auto installed = call("POST", "/api/admin/plugins/install", admin_, R"({"id":"notes","version":"1.0.0"})");
  ASSERT_EQ(installed.status, 200) << installed.body;
  EXPECT_EQ(json::parse(installed.body)["migrations"], json({"up.sql"}));
  // Live: the routes, the data and the hook, with no restart.
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/notes/version").body)["version"], "1.0.0");
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/notes/notes").body)[0]["body"], "first");
  EXPECT_FALSE(host_->runtime().emit("server:beforeCreate", R"({"name":"blocked"})").allowed);
  EXPECT_EQ(call("POST", "/api/admin/plugins/install", admin_, R"({"id":"notes"})").status, 409);

  // Requests during the upgrade are answered by one version or the other.
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, unanswered{0};
  std::thread load([&] {
    while (!stop) {
      auto r = http::fetch({.url = url("/api/plugins/notes/version")});
      (r.ok() && r->status == 200 ? answered : unanswered)++;  // no gap: one version or the other answers
    }
  });
  auto upgraded = call("POST", "/api/admin/plugins/notes/upgrade", admin_);
  stop = true;
  load.join();
  ASSERT_EQ(upgraded.status, 200) << upgraded.body;
  EXPECT_EQ(json::parse(upgraded.body)["migrations"], json({"0001_tags.up.sql"}));
  EXPECT_EQ(unanswered.load(), 0);
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/notes/version").body)["version"], "1.1.0");
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/notes/tags").body)[0]["name"], "new");
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/notes/notes").body)[0]["body"], "first");  // the data stayed

  // Seed 002's endpoints: uninstall, then install again.
  auto removed = call("DELETE", "/api/v1/marketplace/uninstall/notes", admin_);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(call("GET", "/api/plugins/notes/version").status, 404);
  EXPECT_TRUE(host_->runtime().emit("server:beforeCreate", R"({"name":"blocked"})").allowed);
  EXPECT_FALSE(fs::exists(dir_ / "data/plugin-data/notes"));
  EXPECT_EQ(call("DELETE", "/api/v1/marketplace/uninstall/notes", admin_).status, 404);
  ASSERT_EQ(call("POST", "/api/v1/marketplace/install", admin_, R"({"plugin_id":"notes","version":"1.0.0"})").status, 200);
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/notes/version").body)["version"], "1.0.0");

  // It stays installed and active across a restart.
  stop_();
  start();
  EXPECT_EQ(json::parse(call("GET", "/api/plugins/notes/version").body)["version"], "1.0.0");
  auto audit = json::parse(call("GET", "/api/admin/audit", admin_).body)["events"];
  ASSERT_GE(audit.size(), 5u) << audit;
  EXPECT_EQ(audit[0]["action"], "install");
  EXPECT_EQ(audit[0]["actor"], "admin");
  EXPECT_EQ(audit[0]["ok"], true);
  bool sawFailure = false;
  for (const auto& e : audit) sawFailure |= e["ok"] == false && e["plugin"] == "ghost";
  EXPECT_TRUE(sawFailure);
}

// The audit log says who acted and as what: a panel user or an API token,
// each in its own field. A log kept before the kind had its own column
// ("user:<name>" in the actor) is converted when the host opens it.
TEST_F(HostTest, TheAuditLogSaysWhetherAPanelUserOrATokenActed) {
  {
    fs::create_directories(dir_ / "data");
    auto old = openSqlDatabase((dir_ / "data/host.db").string());
    ASSERT_TRUE(old.ok()) << old.error().message;
    ASSERT_TRUE((*old)->exec("CREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, "
                             "plugin TEXT NOT NULL, detail TEXT NOT NULL, ok INTEGER NOT NULL);"
                             "INSERT INTO audit (at, actor, action, plugin, detail, ok) VALUES "
                             "('2026-01-01T00:00:00.000Z', 'user:alice', 'install', 'notes', '1.0.0', 1), "
                             "('2026-01-02T00:00:00.000Z', 'ci', 'upgrade', 'notes', '1.0.0 -> 1.1.0', 1)")
                    .ok());
  }
  start([](HostOptions& o) {
    o.signedInUser = [](const http::Request& req) -> std::optional<SignedInUser> {
      if (req.header("X-Test-User") != "bob") return std::nullopt;
      return SignedInUser{.name = "bob", .admin = true};
    };
  });
  // bob, signed in, and the admin token each try an install (of nothing: it fails, and is audited).
  auto asBob = http::fetch({.method = "POST", .url = url("/api/admin/plugins/install"), .headers = {{"X-Test-User", "bob"}, {"Content-Type", "application/json"}},
                            .body = R"({"id":"ghost"})"});
  ASSERT_TRUE(asBob.ok());
  EXPECT_EQ(asBob->status, 404) << asBob->body;
  EXPECT_EQ(call("POST", "/api/admin/plugins/install", admin_, R"({"id":"ghost"})").status, 404);
  json audit = json::parse(call("GET", "/api/admin/audit", admin_).body)["events"];
  ASSERT_EQ(audit.size(), 4u) << audit;
  auto who = [&](size_t i) { return audit[i]["actor"].get<std::string>() + "/" + audit[i]["actorKind"].get<std::string>(); };
  EXPECT_EQ(who(0), "admin/token");
  EXPECT_EQ(who(1), "bob/user");
  EXPECT_EQ(who(2), "ci/token");     // kept as it was
  EXPECT_EQ(who(3), "alice/user");   // converted
  EXPECT_EQ(audit[3]["detail"], "1.0.0");
}

// An install whose plugin then fails to start says so in a field of its
// own; an install that fails leaves no folder behind.
TEST_F(HostTest, AnInstallThatDoesNotStartSaysSoAndAFailedOneLeavesNothing) {
  auto pack = [&](const std::string& id, const std::string& server, const std::map<std::string, std::string>& migrations) {
    fs::path src = dir_ / "src" / id;
    test::writeFile(src / "plugin.json", json{{"id", id}, {"name", id}, {"version", "1.0.0"}}.dump());
    test::writeFile(src / "server.js", server);
    for (const auto& [name, sql] : migrations) test::writeFile(src / "migrations" / name, sql);
    auto packed = packFolder(src.string(), (dir_ / "modules").string());
    ASSERT_TRUE(packed.ok()) << packed.error().message;
  };
  pack("typo", "export default function (sodium) {\n  sodium.logger.info('x'\n}\n", {});
  pack("badsql", "export default function () {}\n", {{"up.sql", "CREATE TABLE t (id INTEGER);\nINSERT INTO nowhere VALUES (1);"}});
  start();
  auto typo = call("POST", "/api/admin/plugins/install", admin_, R"({"id":"typo"})");
  ASSERT_EQ(typo.status, 200) << typo.body;
  json report = json::parse(typo.body);
  EXPECT_EQ(report["dependencies"], json::array());
  ASSERT_TRUE(report.contains("startError")) << report;
  EXPECT_NE(report["startError"].get<std::string>().find("SyntaxError"), std::string::npos) << report;

  auto badsql = call("POST", "/api/admin/plugins/install", admin_, R"({"id":"badsql"})");
  EXPECT_GE(badsql.status, 400) << badsql.body;
  EXPECT_NE(json::parse(badsql.body)["error"].get<std::string>().find("nowhere"), std::string::npos) << badsql.body;
  EXPECT_FALSE(fs::exists(dir_ / "data/plugins/badsql"));
  EXPECT_FALSE(fs::exists(dir_ / "data/plugin-data/badsql"));
  for (const auto& entry : fs::directory_iterator(dir_ / "data")) {
    EXPECT_EQ(entry.path().filename().string().find("badsql"), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace patchbay
