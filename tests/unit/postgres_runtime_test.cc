// Plugin data in a real PostgreSQL server (started by the test): sodium.db
// collections, db.sql and settings in a schema per plugin per tenant,
// reached as the plugin's own role, so that no plugin reads another's data
// or the host's, whatever SQL it sends.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "patchbay/postgres.h"
#include "patchbay/runtime.h"
#include "support/postgres_server.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPostgresNotes = R"js(
export default function (sodium) {
  sodium.db.registerCollections(['notes']);
  sodium.http.registerRoutes((r) => {
    r.post('/notes', (req) => sodium.db.insert('notes', req.body));
    r.get('/notes', (req) => sodium.db.find('notes', req.query.min ? { stars: { $gte: Number(req.query.min) } } : {}));
    r.get('/notes/:id', (req) => sodium.db.findOne('notes', { id: req.params.id }));
    r.patch('/notes/:id', (req) => sodium.db.update('notes', req.params.id, req.body));
    r.delete('/notes/:id', (req) => ({ deleted: sodium.db.delete('notes', req.params.id) }));
    r.get('/count', () => ({ count: sodium.db.count('notes') }));
    r.post('/sql', (req) => {
      try { return { rows: sodium.db.sql(req.body.sql, req.body.params || []) }; }
      catch (e) { return { error: String(e.message) }; }
    });
    r.put('/config', (req) => { sodium.config.set('greeting', req.body.greeting); return { greeting: sodium.config.get('greeting') }; });
    r.get('/config', () => ({ greeting: sodium.config.get('greeting') }));
  });
}
)js";

class PostgresRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pg_.ok()) << pg_.error();
    pg_.createDatabase("host");
    url_ = pg_.url("host");
    for (const char* id : {"notes", "spy"}) {
      fs::path p = dir_ / "plugins" / id;
      test::writeFile(p / "plugin.json", json{{"id", id},
                                              {"name", id},
                                              {"version", "1.0.0"},
                                              {"settings", {{"greeting", {{"type", "string"}, {"label", "Greeting"}, {"default", "hello"}}}}}}
                                             .dump());
      test::writeFile(p / "server.js", kPostgresNotes);
    }
    runtime_ = start("");
  }
  std::unique_ptr<Runtime> start(const std::string& tenant) {
    RuntimeOptions options;
    options.dataDir = (dir_ / ("data-" + tenant)).string();
    options.postgresUrl = url_;
    options.tenantId = tenant;
    options.cronScheduler = false;
    options.limits.requestsPerSecond = 0;
    auto rt = Runtime::create(options);
    EXPECT_TRUE(rt.ok()) << rt.error().message;
    for (const char* id : {"notes", "spy"}) {
      auto s = (*rt)->activate((dir_ / "plugins" / id).string());
      EXPECT_TRUE(s.ok()) << s.error().message;
    }
    return std::move(*rt);
  }
  json request(Runtime& rt, const std::string& id, const std::string& method, const std::string& path, const json& body = nullptr,
               std::vector<std::pair<std::string, std::string>> query = {}) {
    PluginRequest r;
    r.method = method;
    r.path = path;
    r.query = std::move(query);
    if (!body.is_null()) {
      r.body = body.dump();
      r.headers = {{"content-type", "application/json"}};
    }
    auto res = rt.handleRequest(id, r);
    EXPECT_TRUE(res.ok()) << res.error().message;
    if (!res) return nullptr;
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body, nullptr, false);
  }
  json sql(Runtime& rt, const std::string& id, const std::string& text, const json& params = json::array()) {
    return request(rt, id, "POST", "/sql", {{"sql", text}, {"params", params}});
  }

  test::TempDir dir_;
  test::PostgresServer pg_;
  std::string url_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(PostgresRuntimeTest, CollectionsSqlAndSettingsLiveInThePluginsOwnSchema) {
  Runtime& rt = *runtime_;
  auto a = request(rt, "notes", "POST", "/notes", {{"title", "first"}, {"stars", 3}});
  EXPECT_EQ(a["title"], "first");
  ASSERT_TRUE(a["id"].is_string());
  request(rt, "notes", "POST", "/notes", {{"id", "n2"}, {"title", "second"}, {"stars", 5}});
  EXPECT_EQ(request(rt, "notes", "GET", "/notes").size(), 2u);
  auto starred = request(rt, "notes", "GET", "/notes", nullptr, {{"min", "4"}});
  ASSERT_EQ(starred.size(), 1u);
  EXPECT_EQ(starred[0]["title"], "second");
  EXPECT_EQ(request(rt, "notes", "PATCH", "/notes/n2", {{"stars", 1}})["stars"], 1);
  EXPECT_EQ(request(rt, "notes", "GET", "/notes/n2")["title"], "second");
  EXPECT_EQ(request(rt, "notes", "DELETE", "/notes/n2")["deleted"], true);
  EXPECT_EQ(request(rt, "notes", "DELETE", "/notes/n2")["deleted"], false);
  EXPECT_EQ(request(rt, "notes", "GET", "/count")["count"], 1);
  // The other plugin's collection of the same name is its own.
  EXPECT_EQ(request(rt, "spy", "GET", "/count")["count"], 0);

  // db.sql over a table of the plugin's (as its migrations would make it), with ? placeholders.
  {
    auto asPlugin = connectAsPlugin(url_, "notes", "");
    ASSERT_TRUE(asPlugin.ok()) << asPlugin.error().message;
    ASSERT_TRUE(asPlugin->exec("CREATE TABLE tags (name TEXT PRIMARY KEY, uses INT NOT NULL, ok BOOLEAN, meta JSONB)").ok());
  }
  EXPECT_EQ(sql(rt, "notes", "INSERT INTO tags (name, uses, ok, meta) VALUES (?, ?, ?, ?)", {"a?b", 2, true, R"({"x":1})"})["rows"]["changes"], 1);
  auto rows = sql(rt, "notes", "SELECT name, uses, ok, meta, 'why?' AS q FROM tags WHERE uses > ?", {1})["rows"];
  EXPECT_EQ(rows, json::parse(R"([{"name":"a?b","uses":2,"ok":true,"meta":{"x":1},"q":"why?"}])")) << rows;
  EXPECT_EQ(sql(rt, "notes", "SELECT $1::int + 1 AS n", {41})["rows"][0]["n"], 42);

  // Settings, per plugin.
  EXPECT_EQ(request(rt, "notes", "GET", "/config")["greeting"], "hello");
  EXPECT_EQ(request(rt, "notes", "PUT", "/config", {{"greeting", "hi"}})["greeting"], "hi");
  EXPECT_EQ(request(rt, "spy", "GET", "/config")["greeting"], "hello");
  auto settings = readPluginSettings((dir_ / "plugins/notes").string(), (dir_ / "data-").string(), true, url_);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(json::parse(*settings)["values"]["greeting"], "hi");
  ASSERT_TRUE(writePluginSettings((dir_ / "plugins/notes").string(), (dir_ / "data-").string(), R"({"greeting":"hey"})", url_).ok());
  EXPECT_EQ(request(rt, "notes", "GET", "/config")["greeting"], "hey");
  EXPECT_FALSE(writePluginSettings((dir_ / "plugins/notes").string(), (dir_ / "data-").string(), R"({"greeting":5})", url_).ok());
}

TEST_F(PostgresRuntimeTest, NoPluginReachesAnothersDataOrTheHostsWhateverSqlItSends) {
  Runtime& rt = *runtime_;
  request(rt, "notes", "POST", "/notes", {{"id", "secret"}, {"body", "the notes plugin's secret"}});
  const std::string notesSchema = pluginSchemaName("notes", "", "host");
  auto expectRefused = [&](const std::string& text, const std::string& why) {
    auto r = sql(rt, "spy", text);
    ASSERT_TRUE(r.contains("error")) << text << " answered " << r;
    EXPECT_NE(r["error"].get<std::string>().find(why), std::string::npos) << text << ": " << r["error"];
  };
  expectRefused("SELECT data FROM " + notesSchema + "._documents", "permission denied for schema " + notesSchema);
  expectRefused("SELECT password FROM patchbay_host.plugin_roles", "permission denied for schema patchbay_host");
  expectRefused("CREATE TABLE mine (x int)", "not allowed: CREATE");
  expectRefused("SET ROLE patchbay", "not allowed: SET");
  expectRefused("COPY _documents TO PROGRAM 'id'", "not allowed: COPY");
  expectRefused("SELECT 1; SELECT 2", "one statement at a time");
  expectRefused("DELETE FROM _patchbay_migrations", "belongs to the installer");
  // Moving its search path along does not help: the role has no use of the other schema.
  sql(rt, "spy", "SELECT set_config('search_path', '" + notesSchema + "', false)");
  auto seen = sql(rt, "spy", "SELECT count(*) AS n FROM _documents");
  EXPECT_TRUE(seen.contains("error") || seen["rows"][0]["n"] == 0) << seen;
  // The notes plugin's data is untouched and still its own.
  EXPECT_EQ(request(rt, "notes", "GET", "/notes/secret")["body"], "the notes plugin's secret");
}

TEST_F(PostgresRuntimeTest, EachTenantHasItsOwnSchema) {
  auto acme = start("acme");
  request(*acme, "notes", "POST", "/notes", {{"id", "a1"}, {"body", "acme's"}});
  request(*runtime_, "notes", "POST", "/notes", {{"id", "h1"}, {"body", "the host's"}});
  EXPECT_EQ(request(*acme, "notes", "GET", "/count")["count"], 1);
  EXPECT_TRUE(request(*acme, "notes", "GET", "/notes/h1").is_null());
  EXPECT_EQ(request(*runtime_, "notes", "GET", "/notes/h1")["body"], "the host's");
  EXPECT_NE(pluginSchemaName("notes", "acme", "host"), pluginSchemaName("notes", "", "host"));
  EXPECT_NE(pluginSchemaName("a-b", "", "host"), pluginSchemaName("a_b", "", "host"));
  // Dropping a tenant's schema takes its data and role and nothing else.
  acme.reset();
  auto host = PgConnection::connect(url_);
  ASSERT_TRUE(host.ok());
  ASSERT_TRUE(dropPluginSchema(*host, "notes", "acme").ok());
  auto left = host->query("SELECT 1 FROM pg_roles WHERE rolname = $1", {pluginSchemaName("notes", "acme", "host")});
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  EXPECT_EQ(request(*runtime_, "notes", "GET", "/notes/h1")["body"], "the host's");
}

}  // namespace
}  // namespace patchbay
