// The installer on a host data folder: install, upgrade (and back),
// uninstall with migrations; dependencies; failures that must leave the old
// state exactly; sources (local folder, a live registry over HTTP, seed
// 002's environment switch).
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <nlohmann/json.hpp>

#include "patchbay/install.h"
#include "patchbay/package.h"
#include "patchbay/panel_service.h"
#include "patchbay/signature.h"
#include "patchbay/store.h"
#include "support/install_fixture.h"
#include "support/registry_fixture.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override { test::makeNotesPackages(dir_ / "work", modules()); }
  fs::path modules() { return dir_ / "modules"; }
  fs::path data() { return dir_ / "data"; }
  std::unique_ptr<PackageSource> local() {
    SourceConfig c;
    c.localDir = modules().string();
    auto s = openSource(c, (data() / ".install").string());
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  }
  std::unique_ptr<Installer> open() {
    auto i = Installer::open(data().string());
    EXPECT_TRUE(i.ok()) << i.error().message;
    return i.ok() ? std::move(*i) : nullptr;
  }
  std::vector<std::string> tables(const std::string& id) {
    std::vector<std::string> out;
    auto db = Database::open((data() / "plugin-data" / id / "data.db").string());
    if (!db) return out;
    auto st = db->prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name");
    while (st && st->step()) out.push_back(st->getText(0));
    return out;
  }
  test::TempDir dir_;
};

TEST_F(InstallTest, InstallUpgradeDowngradeUninstallRunTheMigrationsBetweenVersions) {
  auto installer = open();
  auto source = local();
  auto installed = installer->install("notes", "1.0.0", *source);
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  EXPECT_EQ(installed->toVersion, "1.0.0");
  EXPECT_EQ(installed->migrations, std::vector<std::string>{"up.sql"});
  EXPECT_EQ(tables("notes"), std::vector<std::string>{"notes"});
  EXPECT_TRUE(fs::is_symlink(data() / "plugins/notes"));
  EXPECT_TRUE(fs::exists(data() / "plugins/notes/assets/part11.txt"));
  auto record = installer->find("notes");
  ASSERT_TRUE(record.has_value());
  EXPECT_TRUE(record->active);
  EXPECT_EQ(record->sha256.size(), 64u);
  EXPECT_EQ(installer->install("notes", "*", *source).error().kind, ErrorKind::kConflict);
  // One installer per data folder: a second (another `patchbay`, or a running host's) is refused, by name.
  auto second = Installer::open(data().string());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kConflict);
  EXPECT_NE(second.error().message.find("POST /api/admin/plugins/install"), std::string::npos) << second.error().message;
  auto cli = test::run(test::patchbayBinary() + " uninstall notes --yes --data " + data().string());
  EXPECT_EQ(cli.exitCode, 1);
  EXPECT_NE(cli.output.find("in use by another installer"), std::string::npos) << cli.output;
  // Looking is fine meanwhile: list and info read without taking the folder.
  auto listed = test::run(test::patchbayBinary() + " list --json --data " + data().string());
  ASSERT_EQ(listed.exitCode, 0) << listed.output;
  EXPECT_EQ(json::parse(listed.output)["plugins"][0]["version"], "1.0.0") << listed.output;
  auto info = test::run(test::patchbayBinary() + " info notes --data " + data().string());
  ASSERT_EQ(info.exitCode, 0) << info.output;
  EXPECT_NE(info.output.find("up.sql"), std::string::npos) << info.output;
  auto reader = Installer::openForReading(data().string());
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->uninstall("notes").error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(Installer::openForReading((dir_ / "nowhere").string()).error().kind, ErrorKind::kNotFound);

  // Upgrade: exactly the steps between the versions; the rows stay.
  auto up = installer->upgrade("notes", "", *source);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(up->fromVersion, "1.0.0");
  EXPECT_EQ(up->toVersion, "2.0.0");
  EXPECT_EQ(up->migrations, (std::vector<std::string>{"0001_tags.up.sql", "0002_pins.up.sql"}));
  EXPECT_EQ(tables("notes"), (std::vector<std::string>{"notes", "pins", "tags"}));
  EXPECT_FALSE(fs::exists(data() / "plugins/notes/assets/part11.txt"));  // the new version's files only
  EXPECT_EQ(test::readFile(data() / "plugins/notes/assets/part1.txt"), "changed in 2.0.0");
  std::vector<std::string> versionFolders;
  for (const auto& e : fs::directory_iterator(data() / "plugins/.versions")) versionFolders.push_back(e.path().filename().string());
  EXPECT_EQ(versionFolders.size(), 1u);  // the old one is gone
  EXPECT_EQ(installer->upgrade("notes", "", *source)->migrations.size(), 0u);  // up to date

  // Down to 1.1.0: the down step 1.1.0 lacks, with 2.0.0's files.
  auto down = installer->upgrade("notes", "1.1.0", *source);
  ASSERT_TRUE(down.ok()) << down.error().message;
  EXPECT_EQ(down->migrations, std::vector<std::string>{"0002_pins.down.sql"});
  EXPECT_EQ(tables("notes"), (std::vector<std::string>{"notes", "tags"}));
  EXPECT_EQ(installer->find("notes")->migrations, (std::vector<std::string>{"0001_tags", "up.sql"}));

  auto removed = installer->uninstall("notes");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->migrations, (std::vector<std::string>{"0001_tags.down.sql", "down.sql"}));
  EXPECT_FALSE(fs::exists(data() / "plugins/notes"));
  EXPECT_FALSE(fs::exists(data() / "plugin-data/notes"));
  EXPECT_TRUE(fs::is_empty(data() / "plugins/.versions"));
  EXPECT_TRUE(installer->installed().empty());
  EXPECT_EQ(json::parse(test::readFile(data() / "config.json"))["plugins"]["active"], json::array());
  EXPECT_EQ(installer->uninstall("notes").error().kind, ErrorKind::kNotFound);
}

// `patchbay upgrade` with no id: every installed plugin to its newest version.
TEST_F(InstallTest, UpgradeWithoutAnIdUpgradesEveryInstalledPlugin) {
  test::makePackage(dir_ / "work", modules(), "clock", "1.0.0", {});
  test::makePackage(dir_ / "work", modules(), "clock", "1.2.0", {});
  {
    auto installer = open();
    auto source = local();
    ASSERT_TRUE(installer->install("notes", "1.0.0", *source).ok());
    ASSERT_TRUE(installer->install("clock", "1.0.0", *source).ok());
  }
  auto all = test::run(test::patchbayBinary() + " upgrade --json --data " + data().string() + " --modules " + modules().string());
  ASSERT_EQ(all.exitCode, 0) << all.output;
  auto report = json::parse(all.output);
  ASSERT_EQ(report["upgraded"].size(), 2u) << report;
  EXPECT_EQ(report["failed"], json::array());
  auto installer = open();
  EXPECT_EQ(installer->find("notes")->version.toString(), "2.0.0");
  EXPECT_EQ(installer->find("clock")->version.toString(), "1.2.0");
}

TEST_F(InstallTest, KeepDataLeavesTablesAndRowsForTheNextInstall) {
  auto installer = open();
  auto source = local();
  ASSERT_TRUE(installer->install("notes", "1.1.0", *source).ok());
  {
    auto db = Database::open((data() / "plugin-data/notes/data.db").string());
    ASSERT_TRUE(db->exec("INSERT INTO notes (body, tag) VALUES ('mine', 'x')").ok());
  }
  auto removed = installer->uninstall("notes", true);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->migrations.empty());
  EXPECT_FALSE(fs::exists(data() / "plugins/notes"));
  EXPECT_TRUE(fs::exists(data() / "plugin-data/notes/data.db"));
  // Installing 2.0.0 again runs only what the kept tables lack.
  auto again = installer->install("notes", "2.0.0", *source);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->migrations, std::vector<std::string>{"0002_pins.up.sql"});
  auto db = Database::open((data() / "plugin-data/notes/data.db").string());
  auto st = db->prepare("SELECT body FROM notes WHERE tag = 'x'");
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->getText(0), "mine");
}

TEST_F(InstallTest, FailuresLeaveTheOldStateExactly) {
  auto installer = open();
  auto source = local();
  ASSERT_TRUE(installer->install("notes", "1.0.0", *source).ok());
  const std::string before = test::installSnapshot(data());

  // A migration that fails half-way: its earlier statements are undone too.
  test::makePackage(dir_ / "work", modules(), "notes", "3.0.0",
                    {{"migrations/up.sql", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"},
                     {"migrations/down.sql", "DROP TABLE notes;\n"},
                     {"migrations/0001_tags.up.sql", "ALTER TABLE notes ADD COLUMN tag TEXT;\n"},
                     {"migrations/0001_tags.down.sql", "ALTER TABLE notes DROP COLUMN tag;\n"},
                     {"migrations/0002_broken.up.sql", "CREATE TABLE fine (x);\nINSERT INTO nowhere VALUES (1);\n"},
                     {"migrations/0002_broken.down.sql", "DROP TABLE fine;\n"}});
  auto failed = installer->upgrade("notes", "3.0.0", *source);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("migration 0002_broken.up.sql failed"), std::string::npos) << failed.error().message;
  EXPECT_NE(failed.error().message.find("nowhere"), std::string::npos);
  EXPECT_EQ(test::installSnapshot(data()), before);

  // A script may not end the operation's transaction or reach other files.
  test::makePackage(dir_ / "work", modules(), "sneaky", "1.0.0",
                    {{"migrations/up.sql", "CREATE TABLE a (x);\nCOMMIT;\nCREATE TABLE b (x);\n"}, {"migrations/down.sql", ""}});
  auto sneaky = installer->install("sneaky", "*", *source);
  ASSERT_FALSE(sneaky.ok());
  EXPECT_NE(sneaky.error().message.find("not authorized"), std::string::npos) << sneaky.error().message;
  test::makePackage(dir_ / "work", modules(), "attacher", "1.0.0",
                    {{"migrations/up.sql", "ATTACH DATABASE '" + (dir_ / "other.db").string() + "' AS o;\n"}, {"migrations/down.sql", ""}});
  EXPECT_FALSE(installer->install("attacher", "*", *source).ok());
  EXPECT_FALSE(fs::exists(dir_ / "other.db"));
  EXPECT_EQ(test::installSnapshot(data()), before);

  // A package that says it is another plugin, or a broken migrations folder.
  test::makePackage(dir_ / "work", modules(), "badsteps", "1.0.0", {{"migrations/0001_x.up.sql", "SELECT 1;"}});
  auto badSteps = installer->install("badsteps", "*", *source);
  ASSERT_FALSE(badSteps.ok());
  EXPECT_NE(badSteps.error().message.find("0001_x.down.sql is missing"), std::string::npos) << badSteps.error().message;
  fs::copy_file(modules() / "notes_v1.0.0.zip", modules() / "impostor_v1.0.0.zip");
  auto impostor = installer->install("impostor", "*", *source);
  ASSERT_FALSE(impostor.ok());
  EXPECT_EQ(test::installSnapshot(data()), before);

  // Missing and conflicting dependencies, and cycles: nothing installed.
  test::makePackage(dir_ / "work", modules(), "needy", "1.0.0", {}, R"({"requires":{"ghost":"^1.0.0"}})");
  auto needy = installer->install("needy", "*", *source);
  ASSERT_FALSE(needy.ok());
  EXPECT_NE(needy.error().message.find("needy requires ghost ^1.0.0"), std::string::npos) << needy.error().message;
  test::makePackage(dir_ / "work", modules(), "picky", "1.0.0", {}, R"({"requires":{"notes":">=2.0.0"}})");
  auto picky = installer->install("picky", "*", *source);
  ASSERT_FALSE(picky.ok());
  EXPECT_EQ(picky.error().kind, ErrorKind::kConflict);
  EXPECT_NE(picky.error().message.find("notes 1.0.0 is installed"), std::string::npos) << picky.error().message;
  test::makePackage(dir_ / "work", modules(), "ping", "1.0.0", {}, R"({"requires":{"pong":"*"}})");
  test::makePackage(dir_ / "work", modules(), "pong", "1.0.0", {}, R"({"requires":{"ping":"*"}})");
  auto cycle = installer->install("ping", "*", *source);
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.error().message.find("a cycle in requires: ping -> pong -> ping"), std::string::npos) << cycle.error().message;
  EXPECT_EQ(test::installSnapshot(data()), before);

  // A dependency that installs, then the plugin's own migration fails: the
  // dependency goes again.
  test::makePackage(dir_ / "work", modules(), "base", "1.2.0", {{"migrations/up.sql", "CREATE TABLE base (x);"}, {"migrations/down.sql", "DROP TABLE base;"}});
  test::makePackage(dir_ / "work", modules(), "top", "1.0.0", {{"migrations/up.sql", "CREATE TABLE broken (;"}}, R"({"requires":{"base":"^1.0.0"}})");
  auto top = installer->install("top", "*", *source);
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(test::installSnapshot(data()), before);
  EXPECT_EQ(installer->installed().size(), 1u);
}

TEST_F(InstallTest, RequiredPluginsAreInstalledFirstAndProtectedFromUninstall) {
  test::makePackage(dir_ / "work", modules(), "base", "1.2.0", {{"migrations/up.sql", "CREATE TABLE base (x);"}, {"migrations/down.sql", "DROP TABLE base;"}});
  test::makePackage(dir_ / "work", modules(), "top", "1.0.0", {}, R"({"requires":{"base":"^1.0.0"}})");
  auto installer = open();
  auto source = local();
  auto top = installer->install("top", "*", *source);
  ASSERT_TRUE(top.ok()) << top.error().message;
  EXPECT_EQ(top->dependencies, std::vector<std::string>{"base@1.2.0"});
  EXPECT_EQ(installer->installed().size(), 2u);
  EXPECT_EQ(tables("base"), std::vector<std::string>{"base"});
  auto refused = installer->uninstall("base");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("top requires base"), std::string::npos) << refused.error().message;
  ASSERT_TRUE(installer->uninstall("top").ok());
  ASSERT_TRUE(installer->uninstall("base").ok());
}

TEST_F(InstallTest, HostCompatibilityIsChecked) {
  test::makePackage(dir_ / "work", modules(), "future", "1.0.0", {}, R"({"patchbay":">=99.0.0"})");
  auto installer = open();
  auto source = local();
  auto r = installer->install("future", "*", *source);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnsupported);
  EXPECT_NE(r.error().message.find("needs patchbay >=99.0.0"), std::string::npos) << r.error().message;
}

TEST_F(InstallTest, AFullDiskLeavesTheOldState) {
  // A 512 KiB tmpfs as the data folder: the package unpacks, then writing runs out of room.
  fs::create_directories(data());
  if (::mount("tmpfs", data().c_str(), "tmpfs", 0, "size=512k") != 0) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{data()};
  std::map<std::string, std::string> big = {{"migrations/up.sql", "CREATE TABLE t (x);"}, {"migrations/down.sql", "DROP TABLE t;"}};
  for (int i = 0; i < 8; ++i) {
    std::string noise;
    for (int j = 0; j < 100000; ++j) noise += static_cast<char>('a' + (j * 7919 + i * 31) % 26);
    big["assets/big" + std::to_string(i) + ".txt"] = noise;
  }
  test::makePackage(dir_ / "work", modules(), "huge", "1.0.0", big);
  auto installer = open();
  auto source = local();
  ASSERT_TRUE(installer->install("notes", "1.0.0", *source).ok());
  const std::string before = test::installSnapshot(data());
  auto r = installer->install("huge", "*", *source);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("No space left"), std::string::npos) << r.error().message;
  EXPECT_EQ(test::installSnapshot(data()), before);
}

// Seed 002's panel layout, with its AI chatbot package: installation steps
// 1-12 and uninstallation steps 1-8.
TEST_F(InstallTest, APanelInAnotherLanguageGetsSeed002sInstallAndUninstall) {
  const fs::path root = dir_ / "panel";
  test::writeFile(root / "panel.json", test::panelLayoutJson());
  test::packAiChatbot(modules());
  auto layout = PanelLayout::load((root / "panel.json").string());
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  auto installer = PanelInstaller::open(*layout);
  ASSERT_TRUE(installer.ok()) << installer.error().message;
  auto source = local();
  const std::string empty = test::panelSnapshot(root);

  auto r = (*installer)->install("ai_chatbot", "*", *source);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->migrations, std::vector<std::string>{"up.sql"});
  const fs::path backend = root / "billing-backend/app/addons/ai_chatbot", frontend = root / "billing-frontend/src/addons/ai_chatbot";
  EXPECT_TRUE(fs::exists(backend / "routes.py"));
  EXPECT_TRUE(fs::exists(backend / "migrations/down.sql"));  // kept for uninstall
  EXPECT_TRUE(fs::exists(frontend / "pages/ChatsPage.tsx"));
  auto registry = json::parse(test::readFile(root / "billing-backend/app/addons/addon_registry.json"));
  EXPECT_EQ(registry["addons"]["ai_chatbot"]["version"], "1.0.0");
  EXPECT_EQ(registry["addons"]["ai_chatbot"]["metadata"]["author"], "NextPanel Team");
  {
    auto db = Database::open((root / "billing-backend/panel.db").string());
    auto st = db->prepare("SELECT addon_id, version FROM addon_installations");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->getText(0), "ai_chatbot");
    EXPECT_FALSE(st->step());
    auto tables = db->prepare("SELECT count(*) FROM sqlite_master WHERE name IN ('chat_sessions', 'chat_messages')");
    ASSERT_TRUE(tables->step());
    EXPECT_EQ(tables->getInt(0), 2);
  }
  EXPECT_TRUE(fs::is_empty(root / "billing-backend/app/addons/.patchbay-install/staging"));  // step 11
  EXPECT_EQ((*installer)->install("ai_chatbot", "*", *source).error().kind, ErrorKind::kConflict);
  ASSERT_EQ((*installer)->installed().size(), 1u);

  auto removed = (*installer)->uninstall("ai_chatbot");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->migrations, std::vector<std::string>{"down.sql"});
  EXPECT_FALSE(fs::exists(backend));
  EXPECT_FALSE(fs::exists(frontend));
  EXPECT_TRUE((*installer)->installed().empty());
  auto afterTables = test::panelSnapshot(root);
  EXPECT_EQ(afterTables.find("chat_"), std::string::npos) << afterTables;
  EXPECT_EQ((*installer)->uninstall("ai_chatbot").error().kind, ErrorKind::kNotFound);

  // A failing up.sql and a package without backend/ or frontend/: nothing changes.
  const std::string before = test::panelSnapshot(root);
  test::makePackage(dir_ / "work", modules(), "broken_addon", "1.0.0",
                    {{"backend/__init__.py", "\n"}, {"migrations/up.sql", "CREATE TABLE ok_table (x);\nCREATE TABLE (;\n"}, {"migrations/down.sql", ""}});
  auto broken = (*installer)->install("broken_addon", "*", *source);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("migration up.sql failed"), std::string::npos) << broken.error().message;
  EXPECT_EQ(test::panelSnapshot(root), before);
  EXPECT_FALSE(fs::exists(root / "billing-backend/app/addons/broken_addon"));
  test::makePackage(dir_ / "work", modules(), "hollow", "1.0.0", {});
  auto hollow = (*installer)->install("hollow", "*", *source);
  ASSERT_FALSE(hollow.ok());
  EXPECT_NE(hollow.error().message.find("neither backend/ nor frontend/"), std::string::npos);
  EXPECT_EQ(test::panelSnapshot(root), before);
  (void)empty;

  test::writeFile(root / "pg.json", R"({"backend":"b","frontend":"f","database":"postgresql://app:secret@localhost/panel","registry":"r.json"})");
  EXPECT_EQ(PanelLayout::load((root / "pg.json").string())->database, "postgresql://app:secret@localhost/panel");
  test::writeFile(root / "my.json", R"({"backend":"b","frontend":"f","database":"mysql://app:secret@localhost/panel","registry":"r.json"})");
  auto mysql = PanelLayout::load((root / "my.json").string());
  ASSERT_FALSE(mysql.ok());
  EXPECT_NE(mysql.error().message.find("neither an SQLite file nor a postgresql:// URL"), std::string::npos) << mysql.error().message;
  EXPECT_EQ(mysql.error().message.find("secret"), std::string::npos) << mysql.error().message;
  test::writeFile(root / "bad.json", R"({"backend":"b"})");
  EXPECT_NE(PanelLayout::load((root / "bad.json").string()).error().message.find("\"frontend\" must name a path"), std::string::npos);
}

// The same panel over seed 002's HTTP endpoints, as its marketplace page calls them.
TEST_F(InstallTest, APanelsMarketplaceEndpointsInstallAndUninstallOverHttp) {
  const fs::path root = dir_ / "panel";
  test::writeFile(root / "panel.json", test::panelLayoutJson());
  test::packAiChatbot(modules());
  auto layout = PanelLayout::load((root / "panel.json").string());
  ASSERT_TRUE(layout.ok());
  SourceConfig source;
  source.localDir = modules().string();
  auto service = PanelService::open(*layout, source);
  ASSERT_TRUE(service.ok()) << service.error().message;
  http::Router router;
  (*service)->addRoutes(router);
  http::Server server({}, router);
  ASSERT_TRUE(server.start().ok());
  std::string token = test::readFile((*service)->adminTokenPath());
  token.pop_back();
  EXPECT_EQ(fs::status((*service)->adminTokenPath()).permissions() & fs::perms::others_all, fs::perms::none);
  auto call = [&](const std::string& method, const std::string& path, const std::string& body, bool withToken = true) {
    std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
    if (withToken) headers.emplace_back("Authorization", "Bearer " + token);
    auto r = http::fetch({.method = method, .url = "http://127.0.0.1:" + std::to_string(server.port()) + path, .headers = headers, .body = body});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  };
  EXPECT_EQ(call("POST", "/api/v1/marketplace/install", R"({"plugin_id":"ai_chatbot"})", false).status, 401);
  auto listed = json::parse(call("GET", "/api/v1/marketplace", "").body);
  bool listedChatbot = false;
  for (const auto& p : listed["plugins"]) listedChatbot |= p["id"] == "ai_chatbot" && p["installed"].is_null();
  EXPECT_TRUE(listedChatbot) << listed;

  auto installed = call("POST", "/api/v1/marketplace/install", R"({"plugin_id":"ai_chatbot","version":"1.0.0"})");
  ASSERT_EQ(installed.status, 200) << installed.body;
  EXPECT_EQ(json::parse(installed.body)["success"], true);
  EXPECT_TRUE(fs::exists(root / "billing-backend/app/addons/ai_chatbot/routes.py"));
  EXPECT_TRUE(fs::exists(root / "billing-frontend/src/addons/ai_chatbot/components/AIChatBot.tsx"));
  EXPECT_EQ(call("POST", "/api/v1/marketplace/install", R"({"plugin_id":"ai_chatbot"})").status, 409);
  EXPECT_EQ(call("POST", "/api/v1/marketplace/install", R"({"plugin_id":"nothing_here"})").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/marketplace/install", R"({"oops":1})").status, 400);

  auto removed = call("DELETE", "/api/v1/marketplace/uninstall/ai_chatbot", "");
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_FALSE(fs::exists(root / "billing-backend/app/addons/ai_chatbot"));
  EXPECT_EQ(call("DELETE", "/api/v1/marketplace/uninstall/ai_chatbot", "").status, 404);
  server.stop();
}

// The same policy for a seed 002 panel: over the API and the CLI's flags.
TEST_F(InstallTest, APanelInstallFollowsTheSignaturePolicy) {
  const fs::path root = dir_ / "panel";
  test::writeFile(root / "panel.json", test::panelLayoutJson());
  const std::string package = test::packAiChatbot(modules());
  SecretKey publisher = SecretKey::generate();
  test::writeFile(dir_ / "publisher.pub", publisher.publicKey().toFileText());
  auto layout = PanelLayout::load((root / "panel.json").string());
  ASSERT_TRUE(layout.ok());
  {
    auto installer = PanelInstaller::open(*layout);
    ASSERT_TRUE(installer.ok());
    const std::string before = test::panelSnapshot(root);
    (*installer)->setSignaturePolicy({{publisher.publicKey().toFileText()}, true});
    auto refused = (*installer)->install("ai_chatbot", "*", *local());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, ErrorKind::kSignature) << refused.error().message;
    EXPECT_NE(refused.error().message.find("not signed"), std::string::npos) << refused.error().message;
    EXPECT_EQ(test::panelSnapshot(root), before);
  }
  const std::string cli = test::patchbayBinary() + " install ai_chatbot --panel " + (root / "panel.json").string() + " --modules " +
                          modules().string() + " --require-signature --trusted-key " + (dir_ / "publisher.pub").string();
  auto unsignedRun = test::run(cli);
  EXPECT_NE(unsignedRun.exitCode, 0) << unsignedRun.output;
  EXPECT_NE(unsignedRun.output.find("not signed"), std::string::npos) << unsignedRun.output;
  ASSERT_TRUE(signPackageFile(package, publisher).ok());
  auto signedRun = test::run(cli);
  ASSERT_EQ(signedRun.exitCode, 0) << signedRun.output;
  EXPECT_TRUE(fs::exists(root / "billing-backend/app/addons/ai_chatbot/routes.py"));
}

// The signature policy: packages signed by a trusted key install; a wrong
// key, a tampered package or (when required) no signature is refused first.
TEST_F(InstallTest, TheSignaturePolicyAsksForPackagesSignedByTrustedKeys) {
  SecretKey publisher = SecretKey::generate(), stranger = SecretKey::generate();
  std::string good = test::makePackage(dir_ / "work", modules(), "signed", "1.0.0", {});
  ASSERT_TRUE(signPackageFile(good, publisher).ok());
  std::string foreign = test::makePackage(dir_ / "work", modules(), "foreign", "1.0.0", {});
  ASSERT_TRUE(signPackageFile(foreign, stranger).ok());
  std::string tampered = test::makePackage(dir_ / "work", modules(), "tampered", "1.0.0", {});
  ASSERT_TRUE(signPackageFile(tampered, publisher).ok());
  std::string bytes = test::readFile(tampered);
  bytes[bytes.size() / 2] ^= 0x01;  // one bit, after signing
  test::writeFile(tampered, bytes);

  auto installer = open();
  auto source = local();
  const std::string before = test::installSnapshot(data());
  installer->setSignaturePolicy({{publisher.publicKey().toFileText()}, true});
  auto unsignedNotes = installer->install("notes", "1.0.0", *source);
  ASSERT_FALSE(unsignedNotes.ok());
  EXPECT_EQ(unsignedNotes.error().kind, ErrorKind::kSignature);
  EXPECT_NE(unsignedNotes.error().message.find("not signed"), std::string::npos) << unsignedNotes.error().message;
  auto strange = installer->install("foreign", "*", *source);
  ASSERT_FALSE(strange.ok());
  EXPECT_NE(strange.error().message.find("not among the trusted keys"), std::string::npos) << strange.error().message;
  auto broken = installer->install("tampered", "*", *source);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().kind, ErrorKind::kSignature);
  EXPECT_EQ(test::installSnapshot(data()), before);
  auto ok = installer->install("signed", "*", *source);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  // Without `require`, unsigned packages install; signed ones must still verify.
  installer->setSignaturePolicy({{publisher.publicKey().toFileText()}, false});
  EXPECT_TRUE(installer->install("notes", "1.0.0", *source).ok());
  EXPECT_FALSE(installer->install("foreign", "*", *source).ok());
}

TEST(InstallSourceTest, Seed002EnvironmentSwitchesTheSource) {
  auto env = [](std::map<std::string, std::string> vars) {
    return [vars](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  };
  SourceConfig base;
  base.localDir = "from-config";
  auto local = applySourceEnvironment(base, env({}));
  EXPECT_EQ(local->kind, SourceConfig::Kind::kLocal);
  EXPECT_EQ(local->localDir, "from-config");
  auto remote = applySourceEnvironment(base, env({{"PLUGIN_SOURCE", "remote"}, {"PLUGIN_SERVER_URL", "https://dbuh.com/plugins"}}));
  EXPECT_EQ(remote->kind, SourceConfig::Kind::kRemote);
  EXPECT_EQ(remote->serverUrl, "https://dbuh.com/plugins");
  EXPECT_FALSE(applySourceEnvironment(base, env({{"PLUGIN_SOURCE", "ftp"}})).ok());
  SourceConfig noUrl;
  noUrl.kind = SourceConfig::Kind::kRemote;
  EXPECT_NE(openSource(noUrl, "/tmp").error().message.find("PATCHBAY_REGISTRY (PLUGIN_SERVER_URL works too)"), std::string::npos);
  // One name, the seed's accepted; patchbay's wins when both are set.
  EXPECT_EQ(applySourceEnvironment(base, env({{"PATCHBAY_REGISTRY", "https://a.example"}}))->serverUrl, "https://a.example");
  EXPECT_EQ(applySourceEnvironment(base, env({{"PATCHBAY_REGISTRY", "https://a.example"}, {"PLUGIN_SERVER_URL", "https://b.example"}}))->serverUrl,
            "https://a.example");
}

// A remote source: a real registry over loopback HTTP; its signed metadata
// is checked with the key pinned at first use.
class RemoteInstallTest : public RegistryTest {};

TEST_F(RemoteInstallTest, InstallsFromARegistryAndRefusesMetadataItDidNotSign) {
  test::makeNotesPackages(dir_ / "work", plugins());
  startServer();
  const std::string url = "http://127.0.0.1:" + std::to_string(server_->port());
  SourceConfig config;
  config.kind = SourceConfig::Kind::kRemote;
  config.serverUrl = url;
  const fs::path data = dir_ / "host";
  auto source = openSource(config, (data / ".install").string());
  ASSERT_TRUE(source.ok());
  auto available = (*source)->available();
  ASSERT_TRUE(available.ok()) << available.error().message;
  ASSERT_EQ(available->size(), 1u);
  EXPECT_EQ((*available)[0].latest.toString(), "2.0.0");

  auto installer = Installer::open(data.string());
  ASSERT_TRUE(installer.ok());
  uint64_t lastDone = 0, lastTotal = 0;
  std::vector<std::string> steps;
  auto r = (*installer)->install("notes", "^1.0.0", **source, {}, [&](const OperationProgress& p) {
    if (steps.empty() || steps.back() != operationStepName(p.step)) steps.push_back(operationStepName(p.step));
    if (p.step != OperationStep::kDownload) return;
    lastDone = p.done;
    lastTotal = p.total;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->toVersion, "1.1.0");
  EXPECT_GT(lastTotal, 0u);
  EXPECT_EQ(lastDone, lastTotal);
  // Each step told as it starts (a library installer has no live host to activate in).
  EXPECT_EQ(steps, (std::vector<std::string>{"download", "verify", "unpack", "migrate"}));
  EXPECT_NE((*installer)->find("notes")->source.find(url + "/download/notes/1.1.0"), std::string::npos);
  auto pins = json::parse(test::readFile(data / ".install/registry-keys.json"));
  EXPECT_EQ(pins[url], registry_->metadataKey().base64());

  // Another registry key pinned (a registry that is not the one we trusted): refused, nothing changes.
  const std::string before = test::installSnapshot(data);
  config.registryKey = SecretKey::generate().publicKey().base64();
  auto impostor = openSource(config, (data / ".install").string());
  auto refused = (*installer)->upgrade("notes", "", **impostor);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kSignature);
  EXPECT_NE(refused.error().message.find("does not verify"), std::string::npos) << refused.error().message;
  EXPECT_EQ(test::installSnapshot(data), before);

  auto missing = (*installer)->install("ghost", "*", **source);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  auto up = (*installer)->upgrade("notes", "", **source);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(up->toVersion, "2.0.0");
}

// A package its publisher signed and uploaded: the installer fetches the
// .minisig from the registry and checks it against the trusted key.
class RemoteSignedInstallTest : public PublishTest {};

TEST_F(RemoteSignedInstallTest, APublishersSignatureTravelsFromTheRegistryToThePolicy) {
  SecretKey publisher = SecretKey::generate(), stranger = SecretKey::generate();
  startServer();
  std::string secret = token("publisher", {"publish"});
  auto b64 = [](const std::string& s) { return toBase64(reinterpret_cast<const unsigned char*>(s.data()), s.size()); };
  std::string bytes = packageBytes("signed", "1.0.0");
  std::string minisig = SignatureFile::sign(publisher, bytes, packageTrustedComment("signed_v1.0.0.zip", "signed", "1.0.0", 1)).toFileText();
  ASSERT_EQ(upload(bytes, secret, b64(minisig)).status, 201);
  ASSERT_EQ(upload(packageBytes("plain", "1.0.0"), secret).status, 201);
  EXPECT_EQ(get("/api/plugins/signed/1.0.0/signature").body, minisig);
  EXPECT_EQ(get("/api/plugins/plain/1.0.0/signature").status, 404);

  SourceConfig config;
  config.kind = SourceConfig::Kind::kRemote;
  config.serverUrl = "http://127.0.0.1:" + std::to_string(server_->port());
  const fs::path data = dir_ / "host";
  auto source = openSource(config, (data / ".install").string());
  ASSERT_TRUE(source.ok());
  auto installer = Installer::open(data.string());
  ASSERT_TRUE(installer.ok());
  (*installer)->setSignaturePolicy({{stranger.publicKey().toFileText()}, true});
  auto refused = (*installer)->install("signed", "*", **source);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("not among the trusted keys"), std::string::npos) << refused.error().message;
  (*installer)->setSignaturePolicy({{publisher.publicKey().toFileText()}, true});
  auto installed = (*installer)->install("signed", "*", **source);
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  auto plain = (*installer)->install("plain", "*", **source);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().message.find("not signed"), std::string::npos) << plain.error().message;
}

}  // namespace
}  // namespace patchbay
