// The registry's catalog on PostgreSQL answers as the one on SQLite: the
// same publishing, editing, review, yank, erase, tokens, audit log and
// download counts, run on both, describe the same catalog; reopened, the
// PostgreSQL one is as it was left.
#include <gtest/gtest.h>

#include "support/postgres_server.h"
#include "support/registry_fixture.h"

namespace patchbay {
namespace {

struct Packages {
  std::string notes1, notes11, notesBeta, tasks;
};

// What a client could observe of the catalog, without times and ids.
json describe(Registry& registry) {
  json out = json::object();
  for (const char* id : {"notes", "tasks"}) {
    json versions = json::array();
    for (const auto& r : registry.versions(id)) {
      versions.push_back({{"version", r.version.toString()}, {"name", r.name}, {"description", r.description}, {"category", r.category},
                          {"status", r.status}, {"yanked", r.yanked}, {"owner", r.owner}, {"review", r.reviewReason},
                          {"reviewedBy", r.reviewedBy}, {"yankReason", r.yankReason}, {"sha256", r.sha256}, {"size", r.size},
                          {"downloads", r.downloads}, {"signature", registry.signMetadata(r).size()}});
    }
    out["versions"][id] = versions;
  }
  json listed = json::array();
  for (const auto& e : registry.list({}).items) listed.push_back({e.record->id, e.record->version.toString(), e.downloads});
  out["listed"] = listed;
  json events = json::array();
  for (const auto& e : registry.events()) events.push_back({e.actor, e.action, e.pluginId, e.version, e.detail});
  out["events"] = events;
  json tokens = json::array();
  for (const auto& t : registry.listTokens()) tokens.push_back({t.id, t.name, t.scopes, t.revoked});
  out["tokens"] = tokens;
  json stats = json::parse(registry.downloadStatsJson());
  out["popular"] = stats["popular"];
  return out;
}

// The same changes, in the same order, through the Registry API.
json scenario(Registry& registry, const Packages& p) {
  auto alice = registry.createToken("alice", {"publish"});
  auto bob = registry.createToken("bob", {"review"});
  auto root = registry.createToken("root", {"admin"});
  EXPECT_TRUE(alice.ok() && bob.ok() && root.ok());
  const TokenInfo& a = alice->first;
  for (const auto* bytes : {&p.notes1, &p.notes11, &p.notesBeta, &p.tasks}) {
    auto published = registry.publish(*bytes, std::nullopt, a);
    EXPECT_TRUE(published.ok() && published->created) << (published.ok() ? "not created" : published.error().message);
  }
  auto again = registry.publish(p.notes1, std::nullopt, a);
  EXPECT_TRUE(again.ok() && !again->created);
  EXPECT_TRUE(registry.updatePlugin("notes", {.description = "Notes for everyone", .category = "tools"}, a).ok());
  EXPECT_TRUE(registry.updatePlugin("notes", {.category = "productivity"}, a).ok());  // the description stays
  EXPECT_TRUE(registry.review("notes", Version::parse("1.1.0").value(), "rejected", "crashes on start", bob->first).ok());
  EXPECT_TRUE(registry.yank("tasks", Version::parse("1.0.0").value(), "superseded", root->first).ok());
  auto refused = registry.review("notes", Version::parse("1.0.0").value(), "approved", "", a);
  EXPECT_FALSE(refused.ok());
  for (int i = 0; i < 3; ++i) registry.recordDownload("notes", Version::parse("1.0.0").value());
  registry.recordDownload("tasks", Version::parse("1.0.0").value());
  EXPECT_TRUE(registry.flush().ok());
  EXPECT_TRUE(registry.erase("notes", Version::parse("2.0.0-beta.1").value(), root->first).ok());
  EXPECT_TRUE(registry.revokeToken(bob->first.id).ok());
  EXPECT_FALSE(registry.authenticate(bob->second).ok());
  EXPECT_TRUE(registry.authenticate(alice->second).ok());
  return describe(registry);
}

TEST_F(PublishTest, ThePostgresCatalogAnswersAsTheSqliteOne) {
  const Packages p{packageBytes("notes", "1.0.0"), packageBytes("notes", "1.1.0"), packageBytes("notes", "2.0.0-beta.1"),
                   packageBytes("tasks", "1.0.0")};
  startServer();
  const json onSqlite = scenario(*registry_, p);
  stopServer();

  test::PostgresServer pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.createDatabase("registry");
  RegistryOptions options{.dataDir = (dir_ / "pgdata").string(), .database = pg.url("registry")};
  json onPostgres;
  {
    auto registry = Registry::open(options);
    ASSERT_TRUE(registry.ok()) << registry.error().message;
    onPostgres = scenario(**registry, p);
  }
  EXPECT_EQ(onSqlite.dump(1), onPostgres.dump(1));
  // …and that catalog is the one the scenario made.
  const json& notes = onPostgres["versions"]["notes"];
  ASSERT_EQ(notes.size(), 2u) << onPostgres.dump(1);
  EXPECT_EQ(notes[0]["description"], "Notes for everyone");
  EXPECT_EQ(notes[0]["category"], "productivity");
  EXPECT_EQ(notes[0]["status"], "rejected");
  EXPECT_EQ(notes[1]["downloads"], 3);
  EXPECT_EQ(onPostgres["versions"]["tasks"][0]["yankReason"], "superseded");
  EXPECT_EQ(onPostgres["listed"], json::parse(R"([["notes", "1.0.0", 3]])"));
  EXPECT_EQ(onPostgres["events"].size(), 13u) << onPostgres["events"].dump(1);
  // Nothing of it lived only in the process.
  auto reopened = Registry::open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ(describe(**reopened).dump(1), onPostgres.dump(1));
  // Not a file of its own: the catalog and the key are in the database.
  EXPECT_FALSE(fs::exists(dir_ / "pgdata" / "registry.db"));
  EXPECT_FALSE(fs::exists(dir_ / "pgdata" / "registry.key"));

  // A wrong database is named in the error.
  auto wrong = Registry::open({.dataDir = (dir_ / "x").string(), .database = "mysql://db/registry"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("postgresql://"), std::string::npos) << wrong.error().message;
}

}  // namespace
}  // namespace patchbay
