// Manifest parsing: the seeds' manifests as written, and every rule's error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "patchbay/manifest.h"

namespace patchbay {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ManifestReport parseSeed(const std::string& fileName, const std::string& manifestName, const std::string& folder = "") {
  std::string text = readFile(std::string(PATCHBAY_SOURCE_DIR) + "/tests/data/seed_manifests/" + fileName);
  EXPECT_FALSE(text.empty()) << fileName;
  return parseManifest(text, {manifestName, folder});
}

TEST(Manifest, SeedManifestsParseAsWritten) {
  struct Seed { const char* file; const char* manifestName; const char* id; };
  for (auto s : {Seed{"seed000_my_plugin.metadata.json", "metadata.json", "my_plugin"},
                 Seed{"seed001_ai_chatbot.metadata.json", "metadata.json", "ai_chatbot"},
                 Seed{"seed002_ai_chatbot.metadata.json", "metadata.json", "ai_chatbot"},
                 Seed{"seed004_discord-alerts.plugin.json", "plugin.json", "discord-alerts"},
                 Seed{"seed004_billing.plugin.json", "plugin.json", "billing"}}) {
    auto r = parseSeed(s.file, s.manifestName);
    ASSERT_TRUE(r.ok()) << s.file << "\n" << r.errorText();
    EXPECT_EQ(r.manifest->id, s.id);
    EXPECT_TRUE(r.warnings.empty()) << s.file << ": " << r.warnings[0].toString();
  }
}

TEST(Manifest, BillingModel) {
  auto r = parseSeed("seed004_billing.plugin.json", "plugin.json");
  ASSERT_TRUE(r.ok());
  const Manifest& m = *r.manifest;
  EXPECT_EQ(m.name, "Billing & Payments");
  EXPECT_EQ(m.version.toString(), "1.0.0");
  EXPECT_EQ(m.kind, PluginKind::kFeature);
  EXPECT_EQ(m.hostKey, "sodium");
  EXPECT_EQ(m.hostRange, ">=1.0.0");
  EXPECT_TRUE(m.hasPermission("cron:register"));
  EXPECT_EQ(m.hooks.size(), 4u);
  ASSERT_NE(m.setting("currency"), nullptr);
  EXPECT_EQ(m.setting("currency")->type, SettingSpec::Type::kSelect);
  EXPECT_EQ(std::get<std::string>(m.setting("currency")->defaultValue), "USD");
  EXPECT_TRUE(m.setting("stripe_key")->secret);
  EXPECT_EQ(std::get<bool>(m.setting("auto_suspend")->defaultValue), true);
}

TEST(Manifest, Seed001Model) {
  auto r = parseSeed("seed001_ai_chatbot.metadata.json", "metadata.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.manifest->backend.models, (std::vector<std::string>{"ChatSession", "ChatMessage"}));
  EXPECT_EQ(r.manifest->backend.dependencies, (std::vector<std::string>{"openai>=1.0.0"}));
  EXPECT_EQ(r.manifest->category, "communication");
  EXPECT_TRUE(r.manifest->requiredPlugins.empty());
}

TEST(Manifest, SodiumIdComesFromFolderAndMustMatch) {
  auto r = parseSeed("sodium_server-guard.plugin.json", "plugin.json", "server-guard");
  ASSERT_TRUE(r.ok()) << r.errorText();
  EXPECT_EQ(r.manifest->id, "server-guard");
  EXPECT_EQ(r.manifest->type, "security");
  EXPECT_EQ(r.manifest->kind, PluginKind::kOther);
  EXPECT_EQ(r.manifest->setting("maintenanceMessage")->type, SettingSpec::Type::kString);  // "text"

  auto mismatch = parseManifest(R"({"id":"other","name":"X","version":"1.0.0"})", {"plugin.json", "server-guard"});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.errors[0].toString(),
            "plugin.json: id: is \"other\" but the plugin's folder is \"server-guard\"; they must match");

  auto noFolder = parseSeed("sodium_server-guard.plugin.json", "plugin.json", "");
  ASSERT_FALSE(noFolder.ok());
  EXPECT_EQ(noFolder.errors[0].toString(), "plugin.json: id: is required");
}

TEST(Manifest, ReportsEveryProblemAtOnce) {
  const char* text = R"({
    "id": "Bad Id",
    "version": "1.0",
    "type": "Gadget",
    "sodium": ">=x.y",
    "price": -1,
    "requires": {"ok-dep": "^1", "bad dep": "1", "x": "not a range"},
    "permissions": ["servers:raed", "db:own"],
    "hooks": ["server:onCreate", "has space"],
    "settings": {
      "currency": {"type": "select", "label": "Currency", "options": ["USD", "EUR"], "default": "JPY"},
      "count": {"type": "number", "default": "five"},
      "flag": {"type": "checkbox"},
      "mode": {"type": "select"}
    },
    "backend": {"routes": "not-a-list"}
  })";
  auto r = parseManifest(text, {"metadata.json", ""});
  ASSERT_FALSE(r.ok());
  std::string all = r.errorText();
  for (const char* expected : {
           "metadata.json: id: \"Bad Id\" is not a valid plugin id",
           "metadata.json: name: is required",
           "metadata.json: version: \"1.0\" is not a SemVer 2.0 version",
           "metadata.json: type: must be \"hook\", \"widget\", \"feature\", \"theme\" or a lowercase category word",
           "metadata.json: sodium: invalid range \">=x.y\"",
           "metadata.json: price: must be a number of at least 0, got a number (-1)",
           "metadata.json: requires.bad dep: \"bad dep\" is not a valid plugin id",
           "metadata.json: requires.x: invalid range \"not a range\"",
           "metadata.json: permissions: unknown permission \"servers:raed\" (did you mean \"servers:read\"?)",
           "metadata.json: hooks: \"has space\" is not a hook name",
           "metadata.json: settings.currency.default: must be one of the options (\"USD\", \"EUR\"); got \"JPY\"",
           "metadata.json: settings.count.default: must be a number (the setting's type), got a string (\"five\")",
           "metadata.json: settings.flag.type: must be one of \"string\" (or \"text\"), \"number\", \"boolean\", \"select\"; got \"checkbox\"",
           "metadata.json: settings.mode.options: is required for a \"select\" setting",
           "metadata.json: backend.routes: must be an array of strings, got a string (\"not-a-list\")",
       }) {
    EXPECT_NE(all.find(expected), std::string::npos) << "missing: " << expected << "\nall errors:\n" << all;
  }
  EXPECT_EQ(r.errors.size(), 15u) << all;
  EXPECT_FALSE(r.manifest.has_value());
}

TEST(Manifest, SyntaxErrorsGiveLineAndColumn) {
  auto r = parseManifest("{\n  \"id\": \"a\",\n  \"name\": ,\n}", {"plugin.json", ""});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].toString().find("plugin.json: invalid JSON at line 3, column 11"), std::string::npos)
      << r.errors[0].toString();
}

TEST(Manifest, DuplicateKeysAreRefused) {
  auto r = parseManifest(R"({"id":"a","name":"A","version":"1.0.0","id":"b"})", {"metadata.json", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].toString(), "metadata.json: duplicate key \"id\"");
}

TEST(Manifest, NonObjectAndOversized) {
  EXPECT_EQ(parseManifest("[1,2]", {"plugin.json", "x"}).errors[0].toString(),
            "plugin.json: must be a JSON object, got an array");
  std::string big(2 << 20, ' ');
  EXPECT_NE(parseManifest(big, {"plugin.json", "x"}).errors[0].message.find("at most 1 MiB"), std::string::npos);
}

TEST(Manifest, RequiresListOrMapAndUnknownFieldsWarn) {
  auto list = parseManifest(R"({"id":"a","name":"A","version":"1.0.0","requires":["b","c"],"extra":1})", {"metadata.json", ""});
  ASSERT_TRUE(list.ok()) << list.errorText();
  ASSERT_EQ(list.manifest->requiredPlugins.size(), 2u);
  EXPECT_EQ(list.manifest->requiredPlugins[0].range, "*");
  ASSERT_EQ(list.warnings.size(), 1u);
  EXPECT_EQ(list.warnings[0].toString(), "metadata.json: extra: unknown field, ignored");

  auto map = parseManifest(R"({"id":"a","name":"A","version":"1.0.0","requires":{"b":"^1.2"}})", {"metadata.json", ""});
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map.manifest->requiredPlugins[0].range, "^1.2");

  auto self = parseManifest(R"({"id":"a","name":"A","version":"1.0.0","requires":["a"]})", {"metadata.json", ""});
  EXPECT_EQ(self.errors[0].toString(), "metadata.json: requires[0]: a plugin cannot require itself");
}

TEST(Manifest, LoadFromFolder) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("pb_manifest_" + std::to_string(::getpid())) / "server-guard";
  fs::create_directories(dir);
  std::ofstream(dir / "plugin.json") << readFile(std::string(PATCHBAY_SOURCE_DIR) + "/tests/data/seed_manifests/sodium_server-guard.plugin.json");
  auto r = loadManifestFromFolder(dir.string());
  ASSERT_TRUE(r.ok()) << r.errorText();
  EXPECT_EQ(r.manifest->id, "server-guard");
  std::ofstream(dir / "metadata.json") << "{}";
  auto both = loadManifestFromFolder(dir.string());
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.errors[0].message.find("both plugin.json and metadata.json"), std::string::npos);
  fs::remove_all(dir.parent_path());
}

}  // namespace
}  // namespace patchbay

namespace patchbay {
namespace {

// Found by fuzz_manifest: a number too large for a double made nlohmann
// throw out_of_range, which escaped the parser.
TEST(Manifest, NumbersTooLargeAreAnErrorNotACrash) {
  ManifestReport r = parseManifest(R"({"id":"big","name":"Big","version":"1.0.0","price":88E8888888888888888888})",
                                   {.fileName = "plugin.json", .folderName = "big"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errorText().find("invalid JSON"), std::string::npos) << r.errorText();
  EXPECT_NE(r.errorText().find("number overflow"), std::string::npos) << r.errorText();
}

}  // namespace
}  // namespace patchbay
