// The panel target with its database in a real PostgreSQL server (started
// by the test): seed 002's install and uninstall, the guard on a package's
// SQL, and the statement splitter that guard reads scripts with.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "patchbay/install.h"
#include "patchbay/postgres.h"
#include "patchbay/sql_database.h"
#include "patchbay/sql_script.h"
#include "support/install_fixture.h"
#include "support/postgres_server.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> keywordsOf(const SqlStatement& s) { return s.keywords; }

TEST(SqlScriptTest, SplitsOnSemicolonsOutsideStringsCommentsAndBodies) {
  auto s = splitSqlScript(
      "-- a comment; not a statement\n"
      "CREATE TABLE t (x text DEFAULT 'a;b''c');\n"
      "/* nested /* comment; */ still; */ INSERT INTO \"Odd;Name\" VALUES (E'it\\'s;');\n"
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
      "DO $$ BEGIN PERFORM 1; END $$;\n"
      "SELECT $1::int;   ;  \n"
      "commit");
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->size(), 6u);
  EXPECT_EQ((*s)[0].text, "CREATE TABLE t (x text DEFAULT 'a;b''c')");
  EXPECT_EQ((*s)[0].line, 2);
  EXPECT_EQ(keywordsOf((*s)[0]), (std::vector<std::string>{"CREATE", "TABLE", "T"}));
  EXPECT_EQ((*s)[1].line, 3);
  EXPECT_EQ(keywordsOf((*s)[1]), (std::vector<std::string>{"INSERT", "INTO"}));
  EXPECT_NE(std::find((*s)[1].identifiers.begin(), (*s)[1].identifiers.end(), "Odd;Name"), (*s)[1].identifiers.end());
  EXPECT_EQ((*s)[2].line, 4);
  EXPECT_EQ((*s)[3].text, "DO $$ BEGIN PERFORM 1; END $$");
  EXPECT_EQ(keywordsOf((*s)[3]), std::vector<std::string>{"DO"});  // BEGIN inside the body is not a statement
  EXPECT_EQ(keywordsOf((*s)[5]), std::vector<std::string>{"COMMIT"});
  EXPECT_EQ((*s)[5].line, 7);

  for (const char* broken : {"SELECT 'open", "SELECT \"open", "SELECT $x$ open", "/* open", "SELECT 1;\n\nSELECT E'\\'"}) {
    auto r = splitSqlScript(broken);
    ASSERT_FALSE(r.ok()) << broken;
    EXPECT_NE(r.error().message.find("is never closed"), std::string::npos) << r.error().message;
  }
  EXPECT_NE(splitSqlScript("SELECT 1;\n\nSELECT 'x").error().message.find("line 3"), std::string::npos);
  EXPECT_TRUE(splitSqlScript("  -- nothing\n/* at all */ ;;").value().empty());
}

TEST(PostgresTest, UrlsAreRecognisedAndPasswordsNeverShown) {
  EXPECT_TRUE(isPostgresUrl("postgresql://a@b/c"));
  EXPECT_TRUE(isPostgresUrl("postgres://a@b/c"));
  EXPECT_FALSE(isPostgresUrl("panel.db"));
  EXPECT_EQ(redactedPostgresUrl("postgresql://app:s3cret@db:5432/panel"), "postgresql://app:***@db:5432/panel");
  EXPECT_EQ(redactedPostgresUrl("postgresql://app@db/panel"), "postgresql://app@db/panel");
  EXPECT_EQ(redactedPostgresUrl("postgresql://db/panel?sslmode=require"), "postgresql://db/panel?sslmode=require");
  // libpq reads a password from the query too; it is hidden there as well.
  EXPECT_EQ(redactedPostgresUrl("postgresql://app@db/panel?password=s3cret"), "postgresql://app:***@db/panel");
  EXPECT_EQ(redactedPostgresUrl("postgres://a%3Ab:p%40ss@db/x"), "postgres://a:b:***@db/x");
  EXPECT_EQ(redactedPostgresUrl("postgresql://db/panel?x=1"), "postgresql://(a URL libpq cannot read)");
  auto refused = PgConnection::connect("postgresql://app:s3cret@127.0.0.1:1/panel", 2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kIo);
  EXPECT_EQ(refused.error().message.find("s3cret"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("postgresql://app:***@127.0.0.1:1/panel: cannot connect"), std::string::npos) << refused.error().message;
}

class PostgresPanelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pg_.ok()) << pg_.error();
    pg_.createDatabase("panel");
    json layout = json::parse(test::panelLayoutJson());
    layout["database"] = pg_.url("panel");
    test::writeFile(root() / "panel.json", layout.dump());
    test::packAiChatbot(modules());
  }
  fs::path root() { return dir_ / "panel"; }
  fs::path modules() { return dir_ / "modules"; }
  std::unique_ptr<PackageSource> local() {
    SourceConfig c;
    c.localDir = modules().string();
    auto s = openSource(c, (dir_ / "state").string());
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  }
  std::unique_ptr<PanelInstaller> open() {
    auto layout = PanelLayout::load((root() / "panel.json").string());
    EXPECT_TRUE(layout.ok()) << layout.error().message;
    auto installer = PanelInstaller::open(*layout);
    EXPECT_TRUE(installer.ok()) << installer.error().message;
    return installer.ok() ? std::move(*installer) : nullptr;
  }
  std::vector<PgRow> query(const std::string& sql) {
    auto pg = PgConnection::connect(pg_.url("panel"));
    EXPECT_TRUE(pg.ok()) << pg.error().message;
    auto rows = pg->query(sql);
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? *rows : std::vector<PgRow>{};
  }
  test::TempDir dir_;
  test::PostgresServer pg_;
};

// The database restarts under a connection: a transaction it was in is
// lost whole (its next statements and its COMMIT fail as unavailable, and
// nothing of it is written), statements fail fast while the server is
// down, and the next statement after its return connects again by itself.
TEST(PostgresTest, ALostConnectionLosesItsTransactionWholeAndComesBack) {
  test::PostgresServer pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.createDatabase("app");
  auto opened = openSqlDatabase(pg.url("app"), "patchbay_host");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  SqlDatabase& db = **opened;
  ASSERT_TRUE(db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)").ok());
  ASSERT_TRUE(db.begin().ok());
  ASSERT_TRUE(db.query("INSERT INTO t VALUES ($1)", {"before"}).ok());
  pg.stop();
  auto during = db.query("INSERT INTO t VALUES ($1)", {"during"});
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().kind, ErrorKind::kUnavailable) << during.error().message;
  ASSERT_TRUE(pg.start());
  // Back, but the transaction is gone: this belongs to it and must not run alone.
  auto after = db.query("INSERT INTO t VALUES ($1)", {"after"});
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().kind, ErrorKind::kUnavailable);
  auto commit = db.exec("COMMIT");
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.error().kind, ErrorKind::kUnavailable);
  // The next statement connects again; the schema's search path too.
  auto rows = db.query("SELECT count(*) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(rows->front()[0], "0") << "a part of the lost transaction was written";
  // Down: a statement fails within the reconnect's 2 s, as unavailable.
  pg.stop();
  const auto start = std::chrono::steady_clock::now();
  auto down = db.query("SELECT 1");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);
  ASSERT_TRUE(pg.start());
  EXPECT_TRUE(db.query("SELECT 1").ok());
}

TEST_F(PostgresPanelTest, Seed002InstallAndUninstallMigrateThePostgresDatabase) {
  auto installer = open();
  ASSERT_TRUE(installer);
  auto source = local();
  const std::string empty = test::panelSnapshot(root());
  EXPECT_NE(empty.find("table addon_installations: id bigint NO"), std::string::npos) << empty;

  auto r = installer->install("ai_chatbot", "*", *source);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->migrations, std::vector<std::string>{"up.sql"});
  EXPECT_TRUE(fs::exists(root() / "billing-backend/app/addons/ai_chatbot/routes.py"));
  auto tables = query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'chat_%' ORDER BY 1");
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0][0], "chat_messages");
  auto installations = query("SELECT addon_id, version FROM addon_installations");
  ASSERT_EQ(installations.size(), 1u);
  EXPECT_EQ(installations[0][0], "ai_chatbot");
  EXPECT_EQ(installations[0][1], "1.0.0");
  // The panel uses its tables; uninstall's down.sql takes them and the rows away.
  query("INSERT INTO chat_sessions (id, guest_email) VALUES ('s1', 'a@example.com')");

  auto removed = installer->uninstall("ai_chatbot");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->migrations, std::vector<std::string>{"down.sql"});
  EXPECT_TRUE(query("SELECT 1 FROM information_schema.tables WHERE table_name LIKE 'chat_%'").empty());
  EXPECT_TRUE(query("SELECT 1 FROM addon_installations").empty());
  EXPECT_EQ(test::panelSnapshot(root()), empty);
}

// A package's SQL may not end the installer's transaction, reach the
// server's files, or write the installer's tables; a failing statement is
// named by its line. Each time the database and the files are as before.
TEST_F(PostgresPanelTest, ScriptsThatReachPastTheirTablesAreRefusedAndChangeNothing) {
  auto installer = open();
  ASSERT_TRUE(installer);
  auto source = local();
  const std::string before = test::panelSnapshot(root());
  struct Case {
    std::string id, upSql, expected;
  };
  const std::vector<Case> cases = {
      {"commits", "CREATE TABLE a1 (x int);\nCOMMIT;\nCREATE TABLE a2 (x int);", "line 2: not allowed in a migration: COMMIT is transaction control"},
      {"begins", "begin;\nCREATE TABLE a1 (x int);", "line 1: not allowed in a migration: BEGIN is transaction control"},
      {"copies", "CREATE TABLE a1 (x text);\nCOPY a1 FROM PROGRAM 'id';", "line 2: not allowed in a migration: COPY"},
      {"forges", "CREATE TABLE a1 (x int);\nINSERT INTO _PATCHBAY_operations VALUES ('x','y','z','w','v');", "line 2: not allowed in a migration: _patchbay_operations belongs to the installer"},
      {"roles", "SET ROLE postgres;", "SET ROLE changes who the session is"},
      {"typo", "CREATE TABLE a1 (x int);\n\nCREATE TABLE a2 (y int,\n  z nonsense_type);", "type \"nonsense_type\" does not exist (at line 4)"},
      {"dupes", "CREATE TABLE a1 (x int PRIMARY KEY);\nINSERT INTO a1 VALUES (1);\nINSERT INTO a1 VALUES (1);", "(at line 3)"},
      {"unclosed", "CREATE TABLE a1 (x text DEFAULT 'open);", "line 1: a string is never closed"},
  };
  for (const auto& c : cases) {
    test::makePackage(dir_ / "work", modules(), c.id, "1.0.0", {{"backend/__init__.py", "\n"}, {"migrations/up.sql", c.upSql}, {"migrations/down.sql", ""}});
    auto r = installer->install(c.id, "*", *source);
    ASSERT_FALSE(r.ok()) << c.id;
    EXPECT_NE(r.error().message.find("migration up.sql failed"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.expected), std::string::npos) << c.id << ": " << r.error().message;
    EXPECT_EQ(test::panelSnapshot(root()), before) << c.id;
  }
  // A DO block and a function body with semicolons and BEGIN in them are fine.
  test::makePackage(dir_ / "work", modules(), "plpgsql", "1.0.0",
                    {{"backend/__init__.py", "\n"},
                     {"migrations/up.sql",
                      "CREATE TABLE counters (n int);\n"
                      "CREATE FUNCTION bump() RETURNS trigger AS $fn$\nBEGIN\n  NEW.n := NEW.n + 1;\n  RETURN NEW;\nEND;\n$fn$ LANGUAGE plpgsql;\n"
                      "DO $$ BEGIN INSERT INTO counters VALUES (41); END $$;\n"},
                     {"migrations/down.sql", "DROP TABLE counters;\nDROP FUNCTION bump();\n"}});
  auto fine = installer->install("plpgsql", "*", *source);
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  auto rows = query("SELECT n FROM counters");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "41");
  ASSERT_TRUE(installer->uninstall("plpgsql").ok());
  EXPECT_EQ(test::panelSnapshot(root()), before);
}

// The CLI on a PostgreSQL panel, as an administrator would run it.
TEST_F(PostgresPanelTest, TheCliInstallsIntoAPostgresPanel) {
  const std::string panel = (root() / "panel.json").string();
  auto installed = test::run(test::patchbayBinary() + " install ai_chatbot --panel " + panel + " --modules " + modules().string() + " --json");
  ASSERT_EQ(installed.exitCode, 0) << installed.output;
  EXPECT_EQ(query("SELECT addon_id FROM addon_installations").size(), 1u);
  auto listed = test::run(test::patchbayBinary() + " list --panel " + panel + " --json");
  ASSERT_EQ(listed.exitCode, 0) << listed.output;
  EXPECT_NE(listed.output.find("ai_chatbot"), std::string::npos) << listed.output;
  auto removed = test::run(test::patchbayBinary() + " uninstall ai_chatbot --panel " + panel + " --yes");
  ASSERT_EQ(removed.exitCode, 0) << removed.output;
  EXPECT_TRUE(query("SELECT 1 FROM addon_installations").empty());
  // A server that is not there: a clear error, the password not in it.
  json layout = json::parse(test::readFile(root() / "panel.json"));
  layout["database"] = "postgresql://patchbay:hunter2@127.0.0.1:1/panel";
  test::writeFile(root() / "down.json", layout.dump());
  auto down = test::run(test::patchbayBinary() + " install ai_chatbot --panel " + (root() / "down.json").string() + " --modules " + modules().string());
  EXPECT_NE(down.exitCode, 0);
  EXPECT_NE(down.output.find("postgresql://patchbay:***@127.0.0.1:1/panel: cannot connect"), std::string::npos) << down.output;
  EXPECT_EQ(down.output.find("hunter2"), std::string::npos) << down.output;
}

// The host target with plugin data in PostgreSQL: install, upgrade, down
// again, uninstall keeping the data, install over it, uninstall for good;
// each plugin's tables in its own schema, as its own role.
TEST(PostgresHostTest, InstallUpgradeDowngradeAndUninstallMigrateThePluginsSchema) {
  test::TempDir dir;
  test::PostgresServer pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.createDatabase("host");
  test::makeNotesPackages(dir / "work", dir / "modules");
  test::writeFile(dir / "data/config.json", json{{"database", pg.url("host")}}.dump());
  SourceConfig config;
  config.localDir = (dir / "modules").string();
  auto source = openSource(config, (dir / "state").string());
  ASSERT_TRUE(source.ok());
  auto host = PgConnection::connect(pg.url("host"));
  ASSERT_TRUE(host.ok());
  const std::string schema = pluginSchemaName("notes", "", "host");
  auto tables = [&] {
    std::vector<std::string> out;
    auto rows = host->query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name NOT LIKE '\\_%' ORDER BY 1", {schema});
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    for (const auto& r : rows.ok() ? *rows : std::vector<PgRow>{}) out.push_back(r[0].value_or(""));
    return out;
  };
  auto owner = [&](const std::string& table) {
    auto rows = host->query("SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2", {schema, table});
    return rows.ok() && !rows->empty() ? rows->front()[0].value_or("") : std::string("(none)");
  };

  auto installer = Installer::open((dir / "data").string());
  ASSERT_TRUE(installer.ok()) << installer.error().message;
  auto installed = (*installer)->install("notes", "1.0.0", **source);
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  EXPECT_EQ(tables(), std::vector<std::string>{"notes"});
  EXPECT_EQ(owner("notes"), schema);  // made by the plugin's role, in its schema
  EXPECT_FALSE(fs::exists(dir / "data/plugin-data/notes/data.db"));
  auto up = (*installer)->upgrade("notes", "", **source);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(up->migrations, (std::vector<std::string>{"0001_tags.up.sql", "0002_pins.up.sql"}));
  EXPECT_EQ(tables(), (std::vector<std::string>{"notes", "pins", "tags"}));
  auto down = (*installer)->upgrade("notes", "1.1.0", **source);
  ASSERT_TRUE(down.ok()) << down.error().message;
  EXPECT_EQ(down->migrations, std::vector<std::string>{"0002_pins.down.sql"});
  EXPECT_EQ(tables(), (std::vector<std::string>{"notes", "tags"}));
  EXPECT_EQ((*installer)->find("notes")->migrations, (std::vector<std::string>{"0001_tags", "up.sql"}));

  // Keep the data: the schema and the user's rows stay for the next install.
  {
    auto asPlugin = connectAsPlugin(pg.url("host"), "notes", "");
    ASSERT_TRUE(asPlugin.ok());
    ASSERT_TRUE(asPlugin->exec("INSERT INTO notes (id, body, tag) VALUES (7, 'mine', 'x')").ok());
  }
  ASSERT_TRUE((*installer)->uninstall("notes", true).ok());
  EXPECT_EQ(tables(), (std::vector<std::string>{"notes", "tags"}));
  auto again = (*installer)->install("notes", "2.0.0", **source);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->migrations, std::vector<std::string>{"0002_pins.up.sql"});
  auto mine = host->query("SELECT body FROM \"" + schema + "\".notes WHERE id = 7");
  ASSERT_TRUE(mine.ok() && mine->size() == 1u);

  // For good: down steps, then the schema and the role are gone.
  auto removed = (*installer)->uninstall("notes");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->migrations, (std::vector<std::string>{"0002_pins.down.sql", "0001_tags.down.sql", "down.sql"}));
  auto left = host->query("SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = $1) + (SELECT count(*) FROM pg_roles WHERE rolname = $1)", {schema});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->at(0)[0], "0");
}

}  // namespace
}  // namespace patchbay
