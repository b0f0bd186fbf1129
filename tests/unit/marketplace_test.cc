// The marketplace over real HTTP: a host installing from a local modules
// folder and from a real registry; the catalog (search, category, sort),
// a plugin's page (README, versions, permissions, signatures), operations
// that run on their own and tell each step, the confirmation an upgrade
// needs when it asks for more, failures that change nothing, and seed
// 001's install-remote.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <thread>

#include "patchbay/host.h"
#include "patchbay/package.h"
#include "patchbay/registry.h"
#include "support/host_fixture.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class MarketplaceTest : public test::HostFixture {
 protected:
  // Packs plugin `id` at `version` into `into` (default: the host's modules/).
  std::string pack(const std::string& id, const std::string& version, json extra = json::object(), const std::string& readme = "",
                   fs::path into = {}) {
    fs::path src = dir_ / "src" / (id + "-" + version) / id;
    json manifest = {{"id", id}, {"name", id + " plugin"}, {"version", version}, {"description", "The " + id + " plugin"}};
    for (auto& [k, v] : extra.items()) manifest[k] = v;
    test::writeFile(src / "plugin.json", manifest.dump(2));
    test::writeFile(src / "server.js", "export default function (sodium) {\n"
                                       "  sodium.http.registerRoutes((r) => { r.get('/version', () => ({ version: '" + version + "' })); });\n}\n");
    test::writeFile(src / "migrations/up.sql", "CREATE TABLE t (x INTEGER);\n");
    test::writeFile(src / "migrations/down.sql", "DROP TABLE t;\n");
    if (!readme.empty()) test::writeFile(src / "README.md", readme);
    if (into.empty()) into = dir_ / "modules";
    fs::create_directories(into);
    auto r = packFolder(src.string(), into.string());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->path : "";
  }

  void startRecording(const std::function<void(HostOptions&)>& configure = {}) {
    start([&](HostOptions& o) {
      o.operationProgress = [this](const std::string& event) {
        std::lock_guard lock(eventsMu_);
        events_.push_back(json::parse(event));
      };
      if (configure) configure(o);
    });
  }

  json body(const http::ClientResponse& r) { return json::parse(r.body.empty() ? "null" : r.body); }

  // Starts an operation and waits for its end; returns its final state.
  json run(const json& request, int expectStatus = 202) {
    auto started = call("POST", "/api/admin/marketplace/operations", admin_, request.dump());
    EXPECT_EQ(started.status, expectStatus) << started.body;
    if (started.status != 202) return body(started);
    const std::string id = body(started)["operation"]["id"];
    EXPECT_EQ(started.header("location"), "/api/admin/marketplace/operations/" + id);
    for (int i = 0; i < 600; ++i) {
      json op = body(call("GET", "/api/admin/marketplace/operations/" + id, admin_))["operation"];
      if (op["state"] == "done" || op["state"] == "failed") return op;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "operation " << id << " did not finish";
    return json();
  }

  // The steps told for operation `id`, in order (each once).
  // The operation's state changes before its event is told: a finished
  // one's steps are read once its last event came (within 5 s).
  std::vector<std::string> stepsOf(const std::string& id) {
    std::vector<std::string> steps;
    for (int attempt = 0; attempt < 250; ++attempt) {
      steps.clear();
      {
        std::lock_guard lock(eventsMu_);
        for (const auto& e : events_) {
          EXPECT_EQ(e["type"], "plugin.operation");
          const json& op = e["operation"];
          if (op["id"] != id) continue;
          std::string step = op["state"] == "running" && op.contains("step")
                                 ? op["step"].get<std::string>() + ":" + op["stepPlugin"].get<std::string>()
                                 : op["state"].get<std::string>();
          if (steps.empty() || steps.back() != step) steps.push_back(step);
        }
      }
      if (!steps.empty() && (steps.back() == "done" || steps.back() == "failed")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return steps;
  }

  std::mutex eventsMu_;
  std::vector<json> events_;
};

TEST_F(MarketplaceTest, TheCatalogSearchesSortsAndSaysWhatIsInstalled) {
  pack("notes", "1.0.0", {{"category", "tools"}, {"author", "Ana"}});
  pack("notes", "1.1.0", {{"category", "tools"}, {"author", "Ana"}});
  pack("billing-lite", "2.0.0", {{"category", "billing"}, {"description", "Invoices and plans"}});
  auto signedPackage = pack("chat", "0.3.0", {{"category", "support"}});
  SecretKey key = SecretKey::generate();
  auto sig = signPackageFile(signedPackage, key);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  test::writeFile(signedPackage + ".minisig", sig->toFileText());
  startRecording();

  EXPECT_EQ(call("GET", "/api/admin/marketplace").status, 401);
  json all = body(call("GET", "/api/admin/marketplace", admin_));
  ASSERT_EQ(all["plugins"].size(), 3u) << all;
  EXPECT_EQ(all["categories"], json({"billing", "support", "tools"}));
  EXPECT_EQ(all["plugins"][0]["id"], "billing-lite");  // by name
  EXPECT_EQ(all["plugins"][2]["id"], "notes");
  EXPECT_EQ(all["plugins"][2]["latest"], "1.1.0");
  EXPECT_EQ(all["plugins"][2]["versions"], json({"1.1.0", "1.0.0"}));
  EXPECT_EQ(all["plugins"][2]["author"], "Ana");
  EXPECT_GT(all["plugins"][2]["size"].get<uint64_t>(), 100u);
  EXPECT_TRUE(all["plugins"][2]["installed"].is_null());
  EXPECT_EQ(all["plugins"][1]["signed"], true);
  EXPECT_EQ(all["plugins"][0]["signed"], false);
  EXPECT_EQ(all["updates"], 0);

  EXPECT_EQ(body(call("GET", "/api/admin/marketplace?q=INVOICE", admin_))["plugins"].size(), 1u);
  EXPECT_EQ(body(call("GET", "/api/admin/marketplace?category=tools", admin_))["plugins"][0]["id"], "notes");
  EXPECT_EQ(body(call("GET", "/api/admin/marketplace?q=nothing-like-it", admin_))["plugins"].size(), 0u);
  auto badSort = call("GET", "/api/admin/marketplace?sort=price", admin_);
  EXPECT_EQ(badSort.status, 400);
  EXPECT_NE(badSort.body.find("sort must be name, downloads or updated"), std::string::npos) << badSort.body;

  // Installed at the older version: one update.
  json done = run({{"action", "install"}, {"id", "notes"}, {"version", "1.0.0"}});
  ASSERT_EQ(done["state"], "done") << done;
  all = body(call("GET", "/api/admin/marketplace", admin_));
  EXPECT_EQ(all["updates"], 1);
  EXPECT_EQ(all["plugins"][2]["installed"], "1.0.0");
  EXPECT_EQ(all["plugins"][2]["updateAvailable"], true);
  EXPECT_EQ(all["plugins"][2]["active"], true);

  // A plugin's page: README as safe HTML, every version, signatures.
  json chat = body(call("GET", "/api/admin/marketplace/plugins/chat", admin_));
  ASSERT_EQ(chat["versions"].size(), 1u) << chat;
  EXPECT_EQ(chat["versions"][0]["signed"], true);
  EXPECT_EQ(chat["versions"][0]["signerKeyId"], key.publicKey().keyIdHex());
  EXPECT_EQ(chat["versions"][0]["registryVerified"], false);  // a folder signs no metadata
  EXPECT_EQ(call("GET", "/api/admin/marketplace/plugins/ghost", admin_).status, 404);
  EXPECT_EQ(call("GET", "/api/admin/marketplace/plugins/..%2fx", admin_).status, 400);
}

TEST_F(MarketplaceTest, InstallUpgradeAndUninstallRunOnTheirOwnAndTellEachStep) {
  pack("notes", "1.0.0", {{"permissions", {"db:own"}}}, "# Notes\n\nKeeps **notes**.\n\n<script>alert(1)</script>\n");
  pack("notes", "1.1.0", {{"permissions", {"db:own", "http:fetch"}}}, "# Notes\n\nNow with **sync**.\n\n<script>alert(1)</script>\n");
  startRecording();

  json page = body(call("GET", "/api/admin/marketplace/plugins/notes", admin_));
  EXPECT_NE(page["readmeHtml"].get<std::string>().find("<strong>sync</strong>"), std::string::npos) << page;
  EXPECT_EQ(page["readmeHtml"].get<std::string>().find("<script"), std::string::npos) << page;  // raw HTML dropped
  EXPECT_EQ(page["permissionDescriptions"]["http:fetch"], "outbound HTTP with fetch");
  EXPECT_EQ(page["versions"][0]["permissions"], json({"db:own", "http:fetch"}));
  EXPECT_EQ(page["versions"][1]["permissions"], json({"db:own"}));
  EXPECT_FALSE(page.contains("newPermissions"));  // not installed

  // Bad requests: what, and why; nothing starts.
  EXPECT_EQ(call("POST", "/api/admin/marketplace/operations", "", R"({"action":"install","id":"notes"})").status, 401);
  auto bad = call("POST", "/api/admin/marketplace/operations", admin_, R"({"action":"reinstall","id":"notes"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("action must be install, upgrade or uninstall"), std::string::npos) << bad.body;
  EXPECT_EQ(call("POST", "/api/admin/marketplace/operations", admin_, R"({"action":"install"})").status, 400);
  EXPECT_EQ(call("POST", "/api/admin/marketplace/operations", admin_, R"({"action":"install","id":"../etc"})").status, 400);
  EXPECT_EQ(call("POST", "/api/admin/marketplace/operations", admin_, R"({"action":"install","id":"notes","version":"^^1"})").status, 400);
  EXPECT_EQ(call("POST", "/api/admin/marketplace/operations", admin_, R"({"action":"upgrade","id":"notes"})").status, 404);
  EXPECT_EQ(call("POST", "/api/admin/marketplace/operations", admin_, R"({"action":"uninstall","id":"notes"})").status, 404);
  EXPECT_EQ(call("POST", "/api/admin/marketplace/operations", admin_, "not json").status, 400);

  // Install: 202 at once, then every step in order, then done.
  json installed = run({{"action", "install"}, {"id", "notes"}, {"version", "1.0.0"}});
  ASSERT_EQ(installed["state"], "done") << installed;
  EXPECT_EQ(installed["report"]["version"], "1.0.0");
  EXPECT_EQ(stepsOf(installed["id"]), (std::vector<std::string>{"queued", "running", "download:notes", "verify:notes", "unpack:notes",
                                                                 "migrate:notes", "activate:notes", "done"}));
  EXPECT_EQ(body(call("GET", "/api/plugins/notes/version"))["version"], "1.0.0");
  auto again = call("POST", "/api/admin/marketplace/operations", admin_, R"({"action":"install","id":"notes"})");
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find("already installed (upgrade it instead)"), std::string::npos);

  // 1.1.0 asks for http:fetch too: the upgrade waits for a yes to exactly that.
  page = body(call("GET", "/api/admin/marketplace/plugins/notes", admin_));
  EXPECT_EQ(page["newPermissions"], json({"http:fetch"}));
  EXPECT_EQ(page["installedPermissions"], json({"db:own"}));
  json refused = run({{"action", "upgrade"}, {"id", "notes"}}, 409);
  EXPECT_EQ(refused["newPermissions"], json({"http:fetch"})) << refused;
  EXPECT_EQ(refused["version"], "1.1.0");
  EXPECT_NE(refused["error"].get<std::string>().find("asks for permissions 1.0.0 did not have: http:fetch"), std::string::npos) << refused;
  run({{"action", "upgrade"}, {"id", "notes"}, {"acceptPermissions", {"db:own"}}}, 409);
  EXPECT_EQ(body(call("GET", "/api/plugins/notes/version"))["version"], "1.0.0");  // nothing changed
  json upgraded = run({{"action", "upgrade"}, {"id", "notes"}, {"acceptPermissions", {"http:fetch"}}});
  ASSERT_EQ(upgraded["state"], "done") << upgraded;
  EXPECT_EQ(upgraded["report"]["from"], "1.0.0");
  EXPECT_EQ(body(call("GET", "/api/plugins/notes/version"))["version"], "1.1.0");
  EXPECT_EQ(stepsOf(upgraded["id"]).back(), "done");
  run({{"action", "upgrade"}, {"id", "notes"}}, 409);  // already the newest

  // Uninstall, keeping the data: deactivate, migrate, remove.
  json removed = run({{"action", "uninstall"}, {"id", "notes"}, {"keepData", true}});
  ASSERT_EQ(removed["state"], "done") << removed;
  EXPECT_EQ(removed["keepData"], true);
  EXPECT_EQ(stepsOf(removed["id"]), (std::vector<std::string>{"queued", "running", "deactivate:notes", "migrate:notes", "remove:notes", "done"}));
  EXPECT_EQ(call("GET", "/api/plugins/notes/version").status, 404);
  EXPECT_TRUE(fs::exists(dir_ / "data/plugin-data/notes"));

  // The recent list, newest first; an unknown id is a 404.
  json recent = body(call("GET", "/api/admin/marketplace/operations", admin_))["operations"];
  ASSERT_GE(recent.size(), 3u);
  EXPECT_EQ(recent[0]["id"], removed["id"]);
  EXPECT_EQ(call("GET", "/api/admin/marketplace/operations/op-999999", admin_).status, 404);
  EXPECT_EQ(call("GET", "/api/admin/marketplace/operations/nonsense", admin_).status, 404);
  // Audited like the admin API's own.
  json audit = body(call("GET", "/api/admin/audit", admin_))["events"];
  EXPECT_EQ(audit[0]["action"], "uninstall (data kept)");
  EXPECT_EQ(audit[0]["detail"], "1.1.0");  // the version it took out
  EXPECT_EQ(audit[1]["action"], "upgrade");
  EXPECT_EQ(audit[1]["detail"], "1.0.0 -> 1.1.0");
  EXPECT_EQ(audit[2]["detail"], "1.0.0");  // the version it put in
}

TEST_F(MarketplaceTest, AFailedInstallSaysWhyAndChangesNothing) {
  // A package whose manifest says another id than its file name.
  auto path = pack("honest", "1.0.0");
  fs::copy_file(path, dir_ / "modules/liar_v1.0.0.zip");
  // A package that is not a zip at all.
  test::writeFile(dir_ / "modules/broken_v1.0.0.zip", "not a zip");
  startRecording();
  for (const char* id : {"liar", "broken"}) {
    json failed = run({{"action", "install"}, {"id", id}});
    ASSERT_EQ(failed["state"], "failed") << failed;
    EXPECT_FALSE(failed["error"].get<std::string>().empty());
    EXPECT_EQ(failed["errorStatus"], 400) << failed;
    EXPECT_FALSE(fs::exists(dir_ / "data/plugins" / id));
    EXPECT_EQ(stepsOf(failed["id"]).back(), "failed");
  }
  EXPECT_TRUE(body(call("GET", "/api/admin/plugins", admin_))["plugins"].empty());
  // A plugin the source does not have.
  json ghost = run({{"action", "install"}, {"id", "ghost"}});
  EXPECT_EQ(ghost["state"], "failed");
  EXPECT_EQ(ghost["errorStatus"], 404);
}

// A newcomer's first look, with no packages folder yet: the marketplace
// says which folder it reads and how to give it plugins.
TEST_F(MarketplaceTest, AMissingLocalFolderSaysWhichAndWhatToDo) {
  startRecording();
  auto r = call("GET", "/api/admin/marketplace", admin_);
  EXPECT_EQ(r.status, 502);
  const std::string message = body(r)["error"];
  const std::string folder = (dir_ / "modules").string();
  EXPECT_EQ(message, "the local plugin folder \"" + folder +
                         "\" does not exist: create it and put {id}_v{version}.zip packages in it, or install from a registry instead "
                         "(PLUGIN_SOURCE=remote and PLUGIN_SERVER_URL=<registry URL>)");
  // Made, with a package in it: listed at once.
  pack("notes", "1.0.0");
  auto listed = call("GET", "/api/admin/marketplace", admin_);
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(body(listed)["plugins"].size(), 1u);
}

TEST_F(MarketplaceTest, ARegistrySourceShowsReadmesPermissionsAndVerifiedMetadata) {
  test::TempDir registryDir;
  pack("notes", "1.0.0", {{"category", "tools"}, {"author", "Ana"}, {"permissions", {"db:own"}}}, "# Notes\n\nFrom the registry.\n",
       registryDir.path() / "plugins");
  RegistryOptions registryOptions{(registryDir.path() / "data").string(), (registryDir.path() / "plugins").string()};
  auto registry = Registry::open(registryOptions);
  ASSERT_TRUE(registry.ok()) << registry.error().message;
  http::Router registryRouter;
  (*registry)->addRoutes(registryRouter);
  http::Server registryServer(http::ServerOptions{}, registryRouter);
  ASSERT_TRUE(registryServer.start().ok());
  startRecording([&](HostOptions& o) {
    o.source.kind = SourceConfig::Kind::kRemote;
    o.source.serverUrl = "http://127.0.0.1:" + std::to_string(registryServer.port());
  });

  json all = body(call("GET", "/api/admin/marketplace", admin_));
  ASSERT_EQ(all["plugins"].size(), 1u) << all;
  EXPECT_EQ(all["plugins"][0]["category"], "tools");
  EXPECT_EQ(all["plugins"][0]["author"], "Ana");
  EXPECT_EQ(all["plugins"][0]["signed"], false);
  EXPECT_NE(all["source"].get<std::string>().find("registry http://127.0.0.1:"), std::string::npos);
  json page = body(call("GET", "/api/admin/marketplace/plugins/notes", admin_));
  EXPECT_NE(page["readmeHtml"].get<std::string>().find("From the registry."), std::string::npos) << page;
  EXPECT_EQ(page["versions"][0]["permissions"], json({"db:own"}));
  EXPECT_EQ(page["versions"][0]["registryVerified"], true);
  EXPECT_FALSE(page["versions"][0]["publishedAt"].get<std::string>().empty());

  json installed = run({{"action", "install"}, {"id", "notes"}});
  ASSERT_EQ(installed["state"], "done") << installed;
  EXPECT_EQ(body(call("GET", "/api/plugins/notes/version"))["version"], "1.0.0");
  stop();
  registryServer.stop();
}

// Seed 001's endpoint: {addon_id} installs from the configured source and
// answers that nothing needs a restart; settings given with it are applied,
// and settings that are refused undo the install.
TEST_F(MarketplaceTest, SeedOnesInstallRemoteAnswersWithoutARestart) {
  pack("alerts", "1.0.0", {{"settings", {{"channel", {{"type", "string"}, {"label", "Channel"}}}}}});
  pack("strict", "1.0.0", {{"settings", {{"limit", {{"type", "number"}, {"label", "Limit"}}}}}});
  startRecording();
  EXPECT_EQ(call("POST", "/api/v1/marketplace/install-remote", "", R"({"addon_id":"alerts"})").status, 401);
  EXPECT_EQ(call("POST", "/api/v1/marketplace/install-remote", admin_, R"({"id":"alerts"})").status, 400);
  auto r = call("POST", "/api/v1/marketplace/install-remote", admin_, R"({"addon_id":"alerts","settings":{"channel":"#ops"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r), json({{"message", "Plugin installed successfully"}, {"addon_id", "alerts"}, {"restart_required", false}}));
  EXPECT_EQ(body(call("GET", "/api/admin/plugins/alerts/settings", admin_))["values"]["channel"], "#ops");
  EXPECT_EQ(body(call("GET", "/api/plugins/alerts/version"))["version"], "1.0.0");

  auto refused = call("POST", "/api/v1/marketplace/install-remote", admin_, R"({"addon_id":"strict","settings":{"limit":"lots"}})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("the install was undone"), std::string::npos) << refused.body;
  EXPECT_FALSE(fs::exists(dir_ / "data/plugins/strict"));
  EXPECT_EQ(call("POST", "/api/v1/marketplace/install-remote", admin_, R"({"addon_id":"ghost"})").status, 404);
}

}  // namespace
}  // namespace patchbay
