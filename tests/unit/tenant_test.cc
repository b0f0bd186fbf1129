// Seed 003's tenants on a live host over real HTTP: a plugin installed,
// configured and enabled per tenant, each with its own isolate, settings
// and data; one tenant's token never reaches another's plugins or data.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "patchbay/host.h"
#include "patchbay/http_client.h"
#include "patchbay/package.h"
#include "patchbay/postgres.h"
#include "support/host_fixture.h"
#include "support/postgres_server.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Run twice: plugin data in SQLite files (the default), and in PostgreSQL
// (a schema and role per tenant's plugin, on a server this test starts).
class TenantTest : public test::HostFixture, public ::testing::WithParamInterface<bool> {
 protected:
  bool postgres() const { return GetParam(); }
  void SetUp() override {
    if (postgres()) {
      pg_ = std::make_unique<test::PostgresServer>();
      ASSERT_TRUE(pg_->ok()) << pg_->error();
      pg_->createDatabase("host");
      test::writeFile(dir_ / "data/config.json", json{{"database", pg_->url("host")}}.dump());
    }
    writeNotes("1.0.0", "", {});
    writeNotes("1.1.0", "    r.get('/tags', () => sodium.db.sql('SELECT name FROM tags'));\n",
               {{"0001_tags.up.sql", "CREATE TABLE tags (name TEXT);\nINSERT INTO tags VALUES ('tagged');"}, {"0001_tags.down.sql", "DROP TABLE tags;"}});
  }
  // The notes plugin: a table from its migration, routes that read and
  // write it, its settings, and a hook that denies what its settings name.
  void writeNotes(const std::string& version, const std::string& extraRoute, const std::map<std::string, std::string>& extraMigrations) {
    fs::path src = dir_ / ("src-" + version) / "notes";
    test::writeFile(src / "plugin.json", json{{"id", "notes"},
                                             {"name", "Notes"},
                                             {"version", version},
                                             {"hooks", {"server:beforeCreate"}},
                                             {"settings",
                                              {{"greeting", {{"type", "string"}, {"label", "Greeting"}, {"default", "hello"}}},
                                               {"blockName", {{"type", "string"}, {"label", "Refused server name"}, {"default", ""}}},
                                               {"apiKey", {{"type", "string"}, {"label", "API key"}, {"secret", true}}},
                                               {"limit", {{"type", "number"}, {"label", "Limit"}, {"default", 5}}}}}}
                                            .dump());
    test::writeFile(src / "server.js",
                    "export default function (sodium) {\n"
                    "  sodium.hooks.on('server:beforeCreate', (ctx) => { if (ctx.name === sodium.config.get('blockName')) ctx.deny('refused by ' + sodium.config.get('greeting')); });\n"
                    "  sodium.http.registerRoutes((r) => {\n"
                    "    r.get('/notes', () => sodium.db.sql('SELECT body FROM notes ORDER BY id'));\n"
                    "    r.post('/notes', (req) => { sodium.db.sql('INSERT INTO notes (body) VALUES (?)', [req.body.body]); return { ok: true }; });\n"
                    "    r.get('/config', () => ({ greeting: sodium.config.get('greeting'), apiKey: sodium.config.get('apiKey') }));\n"
                    "    r.get('/whoami', (req) => req.user);\n" +
                        extraRoute +
                        "  });\n"
                        "  return { greet: (name) => sodium.config.get('greeting') + ', ' + name };\n"
                        "}\n");
    test::writeFile(src / "migrations/up.sql", std::string("CREATE TABLE notes (id ") + (postgres() ? "SERIAL" : "INTEGER") +
                                                   " PRIMARY KEY, body TEXT);\nINSERT INTO notes (body) VALUES ('first');");
    test::writeFile(src / "migrations/down.sql", "DROP TABLE notes;");
    for (const auto& [name, sql] : extraMigrations) test::writeFile(src / "migrations" / name, sql);
    auto packed = packFolder(src.string(), (dir_ / "modules").string());
    ASSERT_TRUE(packed.ok()) << packed.error().message;
  }
  json body(const http::ClientResponse& r) { return json::parse(r.body, nullptr, false); }
  std::string tokenFor(const std::string& tenant) {
    auto made = call("POST", "/tenants/" + tenant + "/tokens", admin_, R"({"name":"panel of )" + tenant + "\"}");
    EXPECT_EQ(made.status, 201) << made.body;
    return body(made).value("token", "");
  }

  std::unique_ptr<test::PostgresServer> pg_;
};

TEST_P(TenantTest, EachTenantHasItsOwnActivationSettingsAndData) {
  start();
  // Seed 003's POST /plugins/install, refused without an admin and for bad input (the host's one error shape).
  auto anonymous = call("POST", "/plugins/install", "", R"({"pluginId":"notes","tenantId":"acme"})");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_TRUE(body(anonymous)["error"].is_string()) << anonymous.body;
  EXPECT_EQ(call("POST", "/plugins/install", admin_, R"({"pluginId":"notes"})").status, 400);
  EXPECT_EQ(call("POST", "/plugins/install", admin_, R"({"pluginId":"notes","tenantId":"../etc"})").status, 400);
  EXPECT_EQ(call("POST", "/plugins/install", admin_, R"({"pluginId":"ghost","tenantId":"acme"})").status, 404);
  auto badConfig = call("POST", "/plugins/install", admin_, R"({"pluginId":"notes","tenantId":"acme","configuration":{"limit":"many"}})");
  EXPECT_EQ(badConfig.status, 400) << badConfig.body;
  EXPECT_NE(body(badConfig)["error"].get<std::string>().find("limit"), std::string::npos) << badConfig.body;
  EXPECT_FALSE(host_->installer().find("notes")) << "a failed tenant install leaves the host as it was";

  auto acme = call("POST", "/plugins/install", admin_,
                   R"({"pluginId":"notes","tenantId":"acme","version":"1.0.0","configuration":{"greeting":"hello acme","blockName":"doomed","apiKey":"acme-key"}})");
  ASSERT_EQ(acme.status, 201) << acme.body;
  EXPECT_EQ(body(acme)["enabled"], true);
  EXPECT_EQ(body(acme)["state"], "running");
  EXPECT_EQ(body(acme)["version"], "1.0.0");
  EXPECT_EQ(body(acme)["configuration"]["greeting"], "hello acme");
  EXPECT_NE(body(acme)["configuration"]["apiKey"], "acme-key");  // secrets masked
  ASSERT_EQ(call("POST", "/plugins/install", admin_, R"({"pluginId":"notes","tenantId":"globex","configuration":{"greeting":"hi globex"}})").status, 201);
  EXPECT_EQ(call("POST", "/plugins/install", admin_, R"({"pluginId":"notes","tenantId":"acme"})").status, 409);
  // Installed on the host for the tenants, not activated there.
  EXPECT_EQ(call("GET", "/api/plugins/notes/notes").status, 404);

  const std::string acmeToken = tokenFor("acme"), globexToken = tokenFor("globex");
  // Data: each tenant its own database.
  ASSERT_EQ(call("POST", "/api/tenants/acme/plugins/notes/notes", acmeToken, R"({"body":"acme's secret plan"})").status, 200);
  EXPECT_EQ(body(call("GET", "/api/tenants/acme/plugins/notes/notes", acmeToken)), json::parse(R"([{"body":"first"},{"body":"acme's secret plan"}])"));
  EXPECT_EQ(body(call("GET", "/api/tenants/globex/plugins/notes/notes", globexToken)), json::parse(R"([{"body":"first"}])"));
  // Access: a tenant's token reaches its own plugins only; an admin reaches all.
  EXPECT_EQ(call("GET", "/api/tenants/acme/plugins/notes/notes", globexToken).status, 403);
  EXPECT_EQ(call("GET", "/api/tenants/acme/plugins/notes/notes").status, 401);
  EXPECT_EQ(call("GET", "/api/tenants/acme/plugins/notes/notes", "not-a-token").status, 401);
  EXPECT_EQ(call("GET", "/api/tenants/acme/plugins/notes/notes", admin_).status, 200);
  EXPECT_EQ(call("GET", "/api/tenants/initech/plugins/notes/notes", admin_).status, 404);
  EXPECT_EQ(body(call("GET", "/api/tenants/globex/plugins/notes/whoami", globexToken))["tenant"], "globex");
  // Settings: each tenant its own, secrets readable by the plugin only.
  EXPECT_EQ(body(call("GET", "/api/tenants/acme/plugins/notes/config", acmeToken)), json::parse(R"({"greeting":"hello acme","apiKey":"acme-key"})"));
  EXPECT_EQ(body(call("GET", "/api/tenants/globex/plugins/notes/config", globexToken))["greeting"], "hi globex");
  auto configured = call("PUT", "/plugins/notes/configure", admin_, R"({"tenantId":"globex","configuration":{"greeting":"bonjour"}})");
  ASSERT_EQ(configured.status, 200) << configured.body;
  EXPECT_EQ(body(configured)["configuration"]["greeting"], "bonjour");
  EXPECT_EQ(body(call("GET", "/api/tenants/globex/plugins/notes/config", globexToken))["greeting"], "bonjour");
  EXPECT_EQ(body(call("GET", "/api/tenants/acme/plugins/notes/config", acmeToken))["greeting"], "hello acme");
  EXPECT_EQ(call("PUT", "/plugins/notes/configure", admin_, R"({"tenantId":"globex","configuration":{"limit":"many"}})").status, 400);
  EXPECT_EQ(body(call("GET", "/api/tenants/globex/plugins/notes/config", globexToken))["greeting"], "bonjour");
  EXPECT_EQ(call("PUT", "/plugins/notes/configure", admin_, R"({"tenantId":"initech","configuration":{}})").status, 404);
  // Hooks and calls go to the tenant's instance, with its settings.
  auto denied = host_->tenants().emit("acme", "server:beforeCreate", R"({"name":"doomed"})");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason, "refused by hello acme");
  EXPECT_TRUE(host_->tenants().emit("globex", "server:beforeCreate", R"({"name":"doomed"})").allowed);
  EXPECT_EQ(host_->tenants().call("globex", "notes", "greet", R"(["Ann"])").value(), "\"bonjour, Ann\"");

  // Enable/disable per tenant, kept across a restart.
  auto disabled = call("POST", "/plugins/notes/enable", admin_, R"({"tenantId":"acme","enabled":false})");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_EQ(body(disabled)["state"], "stopped");
  EXPECT_EQ(call("GET", "/api/tenants/acme/plugins/notes/notes", acmeToken).status, 404);
  EXPECT_EQ(call("GET", "/api/tenants/globex/plugins/notes/notes", globexToken).status, 200);
  stop();
  start();
  EXPECT_EQ(call("GET", "/api/tenants/acme/plugins/notes/notes", acmeToken).status, 404);
  EXPECT_EQ(body(call("GET", "/api/tenants/globex/plugins/notes/config", globexToken))["greeting"], "bonjour");
  auto listed = body(call("GET", "/tenants/acme/plugins", admin_));
  ASSERT_EQ(listed["plugins"].size(), 1u) << listed;
  EXPECT_EQ(listed["plugins"][0]["pluginId"], "notes");
  EXPECT_EQ(listed["plugins"][0]["tenantId"], "acme");
  EXPECT_EQ(listed["plugins"][0]["enabled"], false);
  EXPECT_FALSE(listed["plugins"][0]["installedAt"].get<std::string>().empty());
  EXPECT_EQ(body(call("GET", "/tenants/initech/plugins", admin_))["plugins"], json::array());
  EXPECT_EQ(call("GET", "/tenants/acme/plugins", acmeToken).status, 403);

  // The host upgrades the code: the running tenant switches at once with its
  // database migrated; the stopped one gets its steps when enabled.
  auto upgraded = call("POST", "/api/admin/plugins/notes/upgrade", admin_);
  ASSERT_EQ(upgraded.status, 200) << upgraded.body;
  EXPECT_EQ(body(call("GET", "/api/tenants/globex/plugins/notes/tags", globexToken)), json::parse(R"([{"name":"tagged"}])"));
  ASSERT_EQ(call("POST", "/plugins/notes/enable", admin_, R"({"tenantId":"acme"})").status, 200);
  EXPECT_EQ(body(call("GET", "/api/tenants/acme/plugins/notes/tags", acmeToken)), json::parse(R"([{"name":"tagged"}])"));
  EXPECT_EQ(body(call("GET", "/api/tenants/acme/plugins/notes/notes", acmeToken)).size(), 2u);  // acme's data stayed
  EXPECT_EQ(body(call("GET", "/tenants/acme/plugins", admin_))["plugins"][0]["version"], "1.1.0");

  // The host keeps the code while tenants use it; a tenant's uninstall takes its data.
  auto refused = call("POST", "/api/admin/plugins/notes/uninstall", admin_);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("acme, globex"), std::string::npos) << refused.body;
  ASSERT_EQ(call("DELETE", "/tenants/acme/plugins/notes", admin_).status, 200);
  EXPECT_FALSE(fs::exists(dir_ / "data/tenants/acme/plugin-data/notes"));
  if (postgres()) {  // the tenant's schema and role went with it; the other tenant's stayed
    auto pg = PgConnection::connect(pg_->url("host"));
    ASSERT_TRUE(pg.ok());
    auto schemas = pg->query("SELECT nspname FROM pg_namespace WHERE nspname IN ($1, $2) ORDER BY 1",
                             {pluginSchemaName("notes", "acme", "host"), pluginSchemaName("notes", "globex", "host")});
    ASSERT_TRUE(schemas.ok());
    ASSERT_EQ(schemas->size(), 1u);
    EXPECT_EQ((*schemas)[0][0], pluginSchemaName("notes", "globex", "host"));
  }
  EXPECT_EQ(call("GET", "/api/tenants/acme/plugins/notes/notes", acmeToken).status, 404);
  EXPECT_EQ(body(call("GET", "/tenants/acme/plugins", admin_))["plugins"], json::array());
  EXPECT_EQ(call("DELETE", "/tenants/acme/plugins/notes", admin_).status, 404);
  EXPECT_EQ(body(call("GET", "/api/tenants/globex/plugins/notes/notes", globexToken)), json::parse(R"([{"body":"first"}])"));
  // Installed again for acme: a fresh start, none of the old data.
  ASSERT_EQ(call("POST", "/plugins/install", admin_, R"({"pluginId":"notes","tenantId":"acme"})").status, 201);
  EXPECT_EQ(body(call("GET", "/api/tenants/acme/plugins/notes/notes", acmeToken)), json::parse(R"([{"body":"first"}])"));
  EXPECT_EQ(body(call("GET", "/api/tenants/acme/plugins/notes/config", acmeToken))["greeting"], "hello");

  if (postgres()) {  // the host's own state is in PostgreSQL too: no host.db
    EXPECT_FALSE(fs::exists(dir_ / "data/host.db"));
    auto pg = PgConnection::connect(pg_->url("host"));
    ASSERT_TRUE(pg.ok());
    for (const char* table : {"tokens", "audit", "tenant_plugins"}) {
      auto n = pg->query(std::string("SELECT count(*) FROM patchbay_host.") + table);
      ASSERT_TRUE(n.ok()) << table << ": " << n.error().message;
      EXPECT_NE(n->at(0)[0], "0") << table;
    }
  }
  // D15: the audit log names the keys an administrator changed, never a
  // value, not even one the settings rejected.
  auto rejected = call("PUT", "/plugins/notes/configure", admin_, R"({"tenantId":"globex","configuration":{"apiKey":["S3CRET-REJECTED"]}})");
  EXPECT_EQ(rejected.status, 400) << rejected.body;
  EXPECT_EQ(rejected.body.find("S3CRET"), std::string::npos) << rejected.body;
  ASSERT_EQ(call("PUT", "/plugins/notes/configure", admin_, R"({"tenantId":"globex","configuration":{"apiKey":"S3CRET-KEPT"}})").status, 200);
  auto audit = body(call("GET", "/api/admin/audit", admin_))["events"];
  EXPECT_EQ(audit.dump().find("S3CRET"), std::string::npos) << audit;
  EXPECT_NE(audit.dump().find("keys apiKey"), std::string::npos) << audit;
  int tenantEvents = 0;
  for (const auto& e : audit) tenantEvents += e["action"].get<std::string>().starts_with("tenant ");
  EXPECT_GE(tenantEvents, 8) << audit;
}

INSTANTIATE_TEST_SUITE_P(Store, TenantTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "PostgreSQL" : "SQLite"; });

}  // namespace
}  // namespace patchbay
