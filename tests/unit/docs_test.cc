// The examples in docs/ are run: manifests are parsed, shell blocks are
// executed. A doc that drifts from the code fails here.
#include <gtest/gtest.h>

#include <filesystem>

#include "patchbay/manifest.h"
#include "patchbay/package.h"
#include "patchbay/permissions.h"
#include "patchbay/registry.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

struct Block {
  std::string info;  // the text after ``` ("json", "json invalid", "sh")
  std::string body;
  std::string after;  // the indented lines right after the block
};

std::vector<Block> codeBlocks(const std::string& markdown) {
  std::vector<Block> out;
  size_t pos = 0;
  while ((pos = markdown.find("```", pos)) != std::string::npos) {
    size_t infoEnd = markdown.find('\n', pos);
    size_t close = markdown.find("\n```", infoEnd);
    if (infoEnd == std::string::npos || close == std::string::npos) break;
    Block b;
    b.info = markdown.substr(pos + 3, infoEnd - pos - 3);
    b.body = markdown.substr(infoEnd + 1, close - infoEnd);
    size_t next = markdown.find('\n', close + 1);
    pos = next == std::string::npos ? markdown.size() : next + 1;
    while (pos < markdown.size() && markdown.compare(pos, 4, "    ") == 0) {
      size_t eol = markdown.find('\n', pos);
      b.after += markdown.substr(pos + 4, eol - pos - 4) + "\n";
      pos = eol == std::string::npos ? markdown.size() : eol + 1;
    }
    out.push_back(std::move(b));
  }
  return out;
}

std::string doc(const char* name) { return test::readFile(std::string(PATCHBAY_SOURCE_DIR) + "/docs/" + name); }

TEST(Docs, ManifestExamplesParseOrFailAsShown) {
  int valid = 0, invalid = 0;
  for (const auto& b : codeBlocks(doc("manifest.md"))) {
    if (b.info == "json") {
      auto r = parseManifest(b.body, {"metadata.json", ""});
      EXPECT_TRUE(r.ok()) << b.body << "\n" << r.errorText();
      ++valid;
    } else if (b.info == "json invalid") {
      auto r = parseManifest(b.body, {"metadata.json", ""});
      ASSERT_FALSE(r.ok()) << b.body;
      EXPECT_EQ(r.errorText(), b.after) << b.body;
      ++invalid;
    }
  }
  EXPECT_GE(valid, 3);
  EXPECT_GE(invalid, 3);
}

// docs/manifest.md's permission table is the code's table, row by row.
TEST(Docs, PermissionTableIsTheCodes) {
  const std::string text = doc("manifest.md");
  const size_t start = text.find("| permission | opens |");
  ASSERT_NE(start, std::string::npos);
  std::vector<std::string> rows;
  for (size_t pos = text.find('\n', text.find('\n', start) + 1) + 1; pos < text.size() && text[pos] == '|';) {
    size_t eol = text.find('\n', pos);
    rows.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  std::vector<std::string> expected;
  for (const auto& p : permissionTable()) expected.push_back("| `" + std::string(p.name) + "` | " + std::string(p.meaning) + " |");
  EXPECT_EQ(rows, expected);
}

TEST(Docs, PackageCommandsRun) {
  test::TempDir dir;
  std::string path = std::filesystem::path(test::patchbayBinary()).parent_path().string();
  int blocks = 0;
  for (const auto& b : codeBlocks(doc("packages.md"))) {
    if (b.info != "sh") continue;
    ++blocks;
    auto r = test::run("cd " + dir.str() + " && export PATH=" + path + ":$PATH && set -e\n" + b.body);
    EXPECT_EQ(r.exitCode, 0) << b.body << "\n" << r.output;
  }
  EXPECT_GE(blocks, 4);
}

// docs/install.md, block after block in one folder (each block is its own
// shell, so the environment the doc exports is set for all of them).
TEST(Docs, InstallExamplesRun) {
  test::TempDir dir;
  std::string path = std::filesystem::path(test::patchbayBinary()).parent_path().string();
  int blocks = 0;
  for (const auto& b : codeBlocks(doc("install.md"))) {
    if (b.info != "sh") continue;
    ++blocks;
    auto r = test::run("cd " + dir.str() + " && export PATH=" + path + ":$PATH PLUGIN_SOURCE=local PLUGIN_MODULES_DIR=modules && set -e\n" + b.body);
    EXPECT_EQ(r.exitCode, 0) << b.body << "\n" << r.output;
  }
  EXPECT_GE(blocks, 4);
}

TEST(Docs, TenantExamplesRunAgainstALiveHost) {
  test::TempDir dir;
  std::string path = std::filesystem::path(test::patchbayBinary()).parent_path().string();
  int blocks = 0;
  for (const auto& b : codeBlocks(doc("tenants.md"))) {
    if (b.info != "sh") continue;
    ++blocks;
    auto r = test::run("cd " + dir.str() + " && export PATH=" + path + ":$PATH && set -e\n" + b.body);
    EXPECT_EQ(r.exitCode, 0) << b.body << "\n" << r.output << "\n--- serve.log:\n" << test::readFile(dir / "serve.log");
  }
  EXPECT_EQ(blocks, 2);
}

TEST(Docs, PanelExamplesRunAgainstALivePanel) {
  std::string path = std::filesystem::path(test::patchbayBinary()).parent_path().string();
  int blocks = 0;
  for (const auto& b : codeBlocks(doc("panel.md"))) {
    if (b.info != "sh") continue;
    ++blocks;
    test::TempDir dir;  // each block starts its own panel
    auto r = test::run("cd " + dir.str() + " && export PATH=" + path + ":$PATH && set -e\n" + b.body);
    EXPECT_EQ(r.exitCode, 0) << b.body << "\n" << r.output << "\n--- serve.log:\n" << test::readFile(dir / "serve.log");
  }
  EXPECT_EQ(blocks, 3);
}

TEST(Docs, MarketplaceExamplesRunAgainstALivePanel) {
  std::string path = std::filesystem::path(test::patchbayBinary()).parent_path().string();
  int blocks = 0;
  for (const auto& b : codeBlocks(doc("marketplace.md"))) {
    if (b.info != "sh") continue;
    ++blocks;
    test::TempDir dir;
    auto r = test::run("cd " + dir.str() + " && export PATH=" + path + ":$PATH && set -e\n" + b.body);
    EXPECT_EQ(r.exitCode, 0) << b.body << "\n" << r.output << "\n--- serve.log:\n" << test::readFile(dir / "serve.log");
  }
  EXPECT_EQ(blocks, 1);
}

TEST(Docs, RegistryExamplesRunAgainstALiveRegistry) {
  test::TempDir dir;
  for (const char* example : {"billing", "discord-alerts", "ai_chatbot"}) {
    auto packed = packFolder(std::string(PATCHBAY_SOURCE_DIR) + "/examples/plugins/" + example, (dir / "plugins").string());
    ASSERT_TRUE(packed.ok()) << packed.error().message;
  }
  auto registry = Registry::open({(dir / "data").string(), (dir / "plugins").string()});
  ASSERT_TRUE(registry.ok()) << registry.error().message;
  http::Router router;
  (*registry)->addRoutes(router);
  http::Server server({}, router);
  ASSERT_TRUE(server.start().ok());
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto token = (*registry)->createToken("docs", {"publish"});
  ASSERT_TRUE(token.ok());
  auto admin = (*registry)->createToken("docs-admin", {"admin"});
  ASSERT_TRUE(admin.ok());
  std::string path = std::filesystem::path(test::patchbayBinary()).parent_path().string();
  int blocks = 0;
  for (const auto& b : codeBlocks(doc("registry.md"))) {
    if (b.info != "sh") continue;
    ++blocks;
    auto r = test::run("cd " + dir.str() + " && export REGISTRY=" + base + " TOKEN=" + token->second + " ADMIN=" + admin->second + " PATH=" + path +
                       ":$PATH && set -e\n" + b.body);
    EXPECT_EQ(r.exitCode, 0) << b.body << "\n" << r.output;
  }
  EXPECT_GE(blocks, 10);
}

}  // namespace
}  // namespace patchbay
