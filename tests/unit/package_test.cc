// Packing and opening packages: determinism, ignore rules, file names.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patchbay/archive.h"
#include "patchbay/package.h"
#include "patchbay/skeleton.h"
#include "support/raw_zip.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;

TEST(PackageName, ParsesSeedConvention) {
  auto n = parsePackageFileName("ai_chatbot_v1.0.0.zip");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->id, "ai_chatbot");
  EXPECT_EQ(n->version.toString(), "1.0.0");
  auto tricky = parsePackageFileName("/plugins/my_video_v2.1.0-rc.1.zip");
  ASSERT_TRUE(tricky.has_value());
  EXPECT_EQ(tricky->id, "my_video");
  EXPECT_EQ(tricky->version.toString(), "2.1.0-rc.1");
  EXPECT_FALSE(parsePackageFileName("backup.zip").has_value());
  EXPECT_FALSE(parsePackageFileName("Bad_v1.0.0.zip").has_value());
  EXPECT_FALSE(parsePackageFileName("x_v1.0.zip").has_value());
  EXPECT_EQ(packageFileName("analytics", Version::parse("2.1.0").value()), "analytics_v2.1.0.zip");
  EXPECT_EQ(displayNameFromId("ai_chatbot"), "Ai Chatbot");
  EXPECT_EQ(displayNameFromId("discord-alerts"), "Discord Alerts");
}

TEST(IgnoreRules, DefaultsAndPatterns) {
  auto rules = IgnoreRules::fromText("# comment\n*.log\n!keep.log\nbuild/\n/todo.txt\ndocs/**/draft.md\n", "demo");
  EXPECT_TRUE(rules.ignored(".git", true));
  EXPECT_TRUE(rules.ignored(".env", false));
  EXPECT_TRUE(rules.ignored("assets/.DS_Store", false));
  EXPECT_TRUE(rules.ignored("node_modules", true));
  EXPECT_TRUE(rules.ignored("lib/node_modules", true));
  EXPECT_TRUE(rules.ignored("demo_v1.0.0.zip", false));
  EXPECT_TRUE(rules.ignored("demo_v1.0.0.zip.minisig", false));
  EXPECT_FALSE(rules.ignored("assets/demo_v1.0.0.zip", false));
  EXPECT_TRUE(rules.ignored("debug.log", false));
  EXPECT_TRUE(rules.ignored("sub/debug.log", false));
  EXPECT_FALSE(rules.ignored("keep.log", false));
  EXPECT_TRUE(rules.ignored("build", true));
  EXPECT_FALSE(rules.ignored("build", false));
  EXPECT_TRUE(rules.ignored("todo.txt", false));
  EXPECT_FALSE(rules.ignored("sub/todo.txt", false));
  EXPECT_TRUE(rules.ignored("docs/draft.md", false));
  EXPECT_TRUE(rules.ignored("docs/a/b/draft.md", false));
  EXPECT_FALSE(rules.ignored("server.js", false));
}

class PackTest : public ::testing::Test {
 protected:
  fs::path plugin() { return dir_ / "demo"; }
  void SetUp() override { ASSERT_TRUE(writeSkeleton(plugin().string(), "demo", SkeletonType::kFeature).ok()); }
  test::TempDir dir_;
};

TEST_F(PackTest, SameFolderSameBytesWhateverTheMetadata) {
  auto first = packFolder(plugin().string(), (dir_ / "a.zip").string());
  ASSERT_TRUE(first.ok()) << first.error().message;
  // New times, modes and a new inode for one file: the bytes must not change.
  for (auto& e : fs::recursive_directory_iterator(plugin())) {
    if (e.is_regular_file()) {
      fs::last_write_time(e.path(), fs::file_time_type::clock::now() + std::chrono::hours(5));
      ::chmod(e.path().c_str(), 0600);
    }
  }
  std::string server = test::readFile(plugin() / "server.js");
  fs::remove(plugin() / "server.js");
  test::writeFile(plugin() / "server.js", server);
  auto second = packFolder(plugin().string(), (dir_ / "b.zip").string());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->digest.sha256, second->digest.sha256);
  EXPECT_EQ(test::readFile(dir_ / "a.zip"), test::readFile(dir_ / "b.zip"));
  // Changing one byte changes the hash.
  test::writeFile(plugin() / "server.js", server + " ");
  auto third = packFolder(plugin().string(), (dir_ / "c.zip").string());
  ASSERT_TRUE(third.ok());
  EXPECT_NE(first->digest.sha256, third->digest.sha256);
}

TEST_F(PackTest, LeavesOutIgnoredFilesAndDefaultsToConventionalName) {
  test::writeFile(plugin() / ".git/config", "x");
  test::writeFile(plugin() / "node_modules/left-pad/index.js", "x");
  test::writeFile(plugin() / ".env", "SECRET=1");
  test::writeFile(plugin() / "debug.log", "x");
  test::writeFile(plugin() / ".patchbayignore", "*.log\n");
  test::writeFile(plugin() / "demo_v0.0.9.zip", "an older package");
  auto r = packFolder(plugin().string(), dir_.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->path, (dir_ / "demo_v0.1.0.zip").string());
  auto intoNewFolder = packFolder(plugin().string(), (dir_ / "out/plugins").string());
  ASSERT_TRUE(intoNewFolder.ok()) << intoNewFolder.error().message;
  EXPECT_EQ(intoNewFolder->path, (dir_ / "out/plugins/demo_v0.1.0.zip").string());
  std::vector<std::string> paths;
  for (const auto& f : r->files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"README.md", "client.js", "migrations/down.sql", "migrations/up.sql",
                                             "plugin.json", "server.js"}));
}

// server.ts: compiled by esbuild into server.js with its map, relative
// imports bundled, the sources left out; what cannot work is refused with
// the file and the reason.
TEST_F(PackTest, CompilesServerTsAndRefusesWhatCannotRun) {
  fs::remove(plugin() / "server.js");
  test::writeFile(plugin() / "lib/price.ts", "export const withTax = (n: number): number => n * 1.2;\n");
  test::writeFile(plugin() / "server.ts",
                  "import { withTax } from './lib/price';\n"
                  "export default function (sodium: { logger: { info(m: string): void } }) { sodium.logger.info(String(withTax(10))); }\n");
  auto packed = packFolder(plugin().string(), dir_.str());
  ASSERT_TRUE(packed.ok()) << packed.error().message;
  std::vector<std::string> paths;
  for (const auto& f : packed->files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"README.md", "client.js", "migrations/down.sql", "migrations/up.sql", "plugin.json",
                                             "server.js", "server.js.map"}));
  auto js = readZipEntry(test::readFile(packed->path), "server.js", 1 << 20);
  ASSERT_TRUE(js.ok());
  EXPECT_NE(js->find("* 1.2"), std::string::npos) << *js;  // lib/price.ts bundled in
  EXPECT_NE(js->find("sourceMappingURL=server.js.map"), std::string::npos);

  test::writeFile(plugin() / "server.ts", "import _ from 'lodash';\nexport default function () { _.noop(); }\n");
  auto bare = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.error().message.find("server.ts imports \"lodash\": server code may import only the plugin's own files"), std::string::npos)
      << bare.error().message;

  test::writeFile(plugin() / "server.ts", "export default function ( {\n");
  auto broken = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("server.ts does not compile:"), std::string::npos) << broken.error().message;
  EXPECT_NE(broken.error().message.find("server.ts:"), std::string::npos) << broken.error().message;  // esbuild names file and line

  test::writeFile(plugin() / "server.js", "export default function () {}\n");
  auto both = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("has both server.ts and server.js"), std::string::npos) << both.error().message;
}

// client.tsx compiled for the browser into client.js, its own files and
// the npm packages it imports (node_modules) bundled in, JSX as its pragma
// says; the sources stay in the package (a registry bundles them too).
TEST_F(PackTest, CompilesClientTsxIntoOneBrowserModule) {
  fs::remove(plugin() / "client.js");
  test::writeFile(plugin() / "node_modules/tiny-shout/package.json", R"({"name":"tiny-shout","version":"1.0.0","main":"index.js"})");
  test::writeFile(plugin() / "node_modules/tiny-shout/index.js", "exports.shout = (s) => s.toUpperCase() + '!!';\n");
  test::writeFile(plugin() / "label.ts", "export const label: string = 'balance';\n");
  test::writeFile(plugin() / "client.tsx",
                  "/** @jsx h */\n"
                  "import { shout } from 'tiny-shout';\n"
                  "import { label } from './label';\n"
                  "const h = (tag: string, _props: unknown, ...kids: string[]) => `<${tag}>${kids.join('')}</${tag}>`;\n"
                  "export default function (sodium: any) {\n"
                  "  sodium.ui.addDashboardWidget({ id: 'w', title: 'W', render: () => <b>{shout(label)}</b> });\n"
                  "}\n");
  auto packed = packFolder(plugin().string(), dir_.str());
  ASSERT_TRUE(packed.ok()) << packed.error().message;
  std::vector<std::string> paths;
  for (const auto& f : packed->files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"README.md", "client.js", "client.js.map", "client.tsx", "label.ts", "migrations/down.sql",
                                             "migrations/up.sql", "plugin.json", "server.js"}));  // the sources stay, node_modules not
  auto js = readZipEntry(test::readFile(packed->path), "client.js", 1 << 20);
  ASSERT_TRUE(js.ok());
  EXPECT_NE(js->find("toUpperCase()"), std::string::npos) << *js;  // the package, bundled in
  EXPECT_NE(js->find("\"balance\""), std::string::npos) << *js;   // label.ts
  EXPECT_EQ(js->find("<b>"), std::string::npos) << *js;             // JSX compiled away
  EXPECT_NE(js->find("export"), std::string::npos) << *js;          // an ES module
  EXPECT_NE(js->find("sourceMappingURL=client.js.map"), std::string::npos);

  test::writeFile(plugin() / "client.tsx", "export default function ( {\n");
  auto broken = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("client.tsx does not compile:"), std::string::npos) << broken.error().message;

  test::writeFile(plugin() / "client.tsx", "import 'not-installed';\nexport default function () {}\n");
  auto missing = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("not-installed"), std::string::npos) << missing.error().message;

  test::writeFile(plugin() / "client.tsx", "export default function () {}\n");
  test::writeFile(plugin() / "client.ts", "export default function () {}\n");
  auto two = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("has both client.ts and client.tsx"), std::string::npos) << two.error().message;
  fs::remove(plugin() / "client.ts");

  test::writeFile(plugin() / "client.js", "export default function () {}\n");
  auto both = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("has both client.tsx and client.js"), std::string::npos) << both.error().message;
}

TEST_F(PackTest, RefusesLinksAndBadManifests) {
  fs::create_symlink("/etc/passwd", plugin() / "passwd");
  auto linked = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(linked.ok());
  EXPECT_NE(linked.error().message.find("passwd: is a symbolic link"), std::string::npos) << linked.error().message;
  fs::remove(plugin() / "passwd");

  test::writeFile(plugin() / "plugin.json", R"({"id":"demo","version":"one","permissions":["root"]})");
  auto bad = packFolder(plugin().string(), dir_.str());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "plugin.json: name: is required\n"
            "plugin.json: version: \"one\" is not a SemVer 2.0 version (MAJOR.MINOR.PATCH, e.g. \"1.0.0\")\n"
            "plugin.json: permissions: unknown permission \"root\"; see docs/manifest.md for the list");
  EXPECT_FALSE(fs::exists(dir_ / "demo_v0.1.0.zip"));
}

TEST_F(PackTest, OpenPackageChecksNameAndManifest) {
  auto r = packFolder(plugin().string(), dir_.str());
  ASSERT_TRUE(r.ok());
  auto info = openPackageFile(r->path);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->manifest.id, "demo");
  EXPECT_EQ(info->digest.sha256, r->digest.sha256);
  ASSERT_TRUE(info->readme.has_value());

  fs::copy_file(r->path, dir_ / "demo_v9.9.9.zip");
  auto renamed = openPackageFile((dir_ / "demo_v9.9.9.zip").string());
  ASSERT_FALSE(renamed.ok());
  EXPECT_NE(renamed.error().message.find("file name \"demo_v9.9.9.zip\" says demo 9.9.9 but plugin.json says demo 0.1.0"),
            std::string::npos) << renamed.error().message;

  auto noManifest = openPackage(test::buildRawZip({{.name = "demo/plugin.json", .data = "{}"}}), "x.zip");
  ASSERT_FALSE(noManifest.ok());
  EXPECT_EQ(noManifest.error().message,
            "package has no plugin.json or metadata.json at its top (found \"demo/plugin.json\": zip the folder's contents, not the folder itself)");
}

TEST_F(PackTest, SodiumStyleIdFromPackageName) {
  test::writeFile(dir_ / "guard/plugin.json", R"({"name":"Guard","version":"1.0.0"})");
  test::writeFile(dir_ / "guard/server.js", "export default function () {}\n");
  auto r = packFolder((dir_ / "guard").string(), dir_.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->fileName, "guard_v1.0.0.zip");
  auto info = openPackageFile(r->path);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->manifest.id, "guard");
}

TEST(Examples, InfoZipPackagesAsSeed000DescribesThem) {
  // Seed 000: "cd my_plugin && zip -r ../my_plugin_v1.0.0.zip ."
  test::TempDir out;
  std::string src = std::string(PATCHBAY_SOURCE_DIR) + "/examples/plugins/ai_chatbot";
  auto zipped = test::run("cd " + src + " && zip -qr " + out.str() + "/ai_chatbot_v1.0.0.zip .");
  ASSERT_EQ(zipped.exitCode, 0) << zipped.output;
  auto info = openPackageFile(out.str() + "/ai_chatbot_v1.0.0.zip");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->manifest.id, "ai_chatbot");
  EXPECT_NE(info->listing.find("backend/models.py"), nullptr);
  fs::create_directories(out.path() / "staging");
  auto bytes = readFileLimited(out.str() + "/ai_chatbot_v1.0.0.zip", 1 << 20);
  ASSERT_TRUE(bytes.ok());
  auto extracted = extractZip(*bytes, (out.path() / "staging").string());
  ASSERT_TRUE(extracted.ok()) << extracted.error().message;
  EXPECT_EQ(test::readFile(out.path() / "staging/migrations/down.sql"), test::readFile(src + "/migrations/down.sql"));
}

TEST(Examples, EverySeedExamplePacks) {
  test::TempDir out;
  for (const char* name : {"discord-alerts", "billing", "ai_chatbot"}) {
    auto r = packFolder(std::string(PATCHBAY_SOURCE_DIR) + "/examples/plugins/" + name, out.str());
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    EXPECT_TRUE(r->warnings.empty()) << name << ": " << r->warnings[0].toString();
    auto info = openPackageFile(r->path);
    ASSERT_TRUE(info.ok()) << name << ": " << info.error().message;
  }
}

}  // namespace
}  // namespace patchbay
