// The data folder: one owner at a time, config.json's one writer, and a
// config.json that is wrong said so (where, what) before anything starts.
#include "patchbay/data_folder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "patchbay/install.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;

TEST(DataFolderTest, OneOwnerAtATimeAndReadersBeside) {
  test::TempDir dir;
  const std::string root = (dir / "data").string();
  auto owner = DataFolder::open(root);
  ASSERT_TRUE(owner.ok()) << owner.error().message;
  EXPECT_TRUE((*owner)->writable());
  // The default config.json names no folder by its absolute path: the data folder can move.
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(test::readFile(dir / "data/config.json"));
  EXPECT_EQ(config, nlohmann::ordered_json::parse(R"({"plugins": {"enabled": true, "active": []}})"));
  EXPECT_EQ((*owner)->pluginsDir(), fs::canonical(root).string() + "/plugins");
  EXPECT_TRUE(fs::is_directory((*owner)->pluginsDir()));

  auto second = DataFolder::open(root);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kConflict);
  EXPECT_NE(second.error().message.find("patchbay serve"), std::string::npos) << second.error().message;
  // An installer is refused the same way while the owner lives.
  auto installer = Installer::open(root);
  ASSERT_FALSE(installer.ok());
  EXPECT_EQ(installer.error().kind, ErrorKind::kConflict);

  auto reader = DataFolder::openForReading(root);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_FALSE((*reader)->writable());
  auto refused = (*reader)->setActive("notes", true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(DataFolder::openForReading((dir / "missing").string()).error().kind, ErrorKind::kNotFound);

  owner->reset();  // the lock goes with its owner
  auto next = DataFolder::open(root);
  EXPECT_TRUE(next.ok()) << next.error().message;
}

TEST(DataFolderTest, SetActiveIsTheOneWriterOfTheActiveSetAndKeepsEveryOtherKey) {
  test::TempDir dir;
  test::writeFile(dir / "data/config.json",
                  R"({"panel": {"name": "kept"}, "plugins": {"enabled": true, "active": ["a"], "settings": {"a": {"x": 1}}}})");
  auto folder = DataFolder::open((dir / "data").string());
  ASSERT_TRUE(folder.ok()) << folder.error().message;
  DataFolder& f = **folder;
  ASSERT_TRUE(f.setActive("b", true).ok());
  ASSERT_TRUE(f.setActive("a", true).ok());  // already there: no change, not twice
  EXPECT_EQ(f.activePlugins(), (std::vector<std::string>{"a", "b"}));
  // An administrator's edit of another key while the host runs survives the next write.
  nlohmann::ordered_json edited = nlohmann::ordered_json::parse(test::readFile(dir / "data/config.json"));
  edited["panel"]["name"] = "edited";
  test::writeFile(dir / "data/config.json", edited.dump());
  ASSERT_TRUE(f.setActive("a", false).ok());
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(test::readFile(dir / "data/config.json"));
  EXPECT_EQ(config["plugins"]["active"], nlohmann::ordered_json::array({"b"}));
  EXPECT_EQ(config["panel"]["name"], "edited");
  EXPECT_EQ(config["plugins"]["settings"]["a"]["x"], 1);
  EXPECT_FALSE(f.isActive("a"));
  EXPECT_TRUE(f.isActive("b"));
}

TEST(DataFolderTest, AWrongConfigSaysWhereAndWhat) {
  struct Case {
    const char* config;
    const char* says;
  };
  for (const Case& c : {Case{"[1, 2]", "not a JSON object"},
                        Case{"{\"plugins\": []}", "\"plugins\" must be an object"},
                        Case{"{\"plugins\": {\"active\": \"notes\"}}", "plugins.active must be an array"},
                        Case{"{\"plugins\": {\"active\": [1]}}", "plugins.active must hold plugin ids"},
                        Case{"{\"plugins\": {\"directory\": 7}}", "plugins.directory must be a folder name"},
                        Case{"{\"plugins\": {\"enabled\": \"yes\"}}", "plugins.enabled must be true or false"},
                        Case{"{\"database\": \"mysql://x\"}", "\"database\" must be a postgresql:// URL"}}) {
    test::TempDir dir;
    test::writeFile(dir / "data/config.json", c.config);
    for (bool writing : {true, false}) {
      auto folder = writing ? DataFolder::open((dir / "data").string()) : DataFolder::openForReading((dir / "data").string());
      ASSERT_FALSE(folder.ok()) << c.config;
      EXPECT_EQ(folder.error().kind, ErrorKind::kInvalidInput) << c.config;
      EXPECT_NE(folder.error().message.find("config.json: "), std::string::npos) << folder.error().message;
      EXPECT_NE(folder.error().message.find(c.says), std::string::npos) << folder.error().message;
    }
    EXPECT_EQ(test::readFile(dir / "data/config.json"), c.config);  // nothing lost
  }
}

TEST(DataFolderTest, APluginsDirectoryElsewhereIsUsedAsGiven) {
  test::TempDir dir;
  test::writeFile(dir / "data/config.json", R"({"plugins": {"directory": ")" + (dir / "elsewhere/plugins/").string() + R"("}})");
  auto folder = DataFolder::open((dir / "data").string());
  ASSERT_TRUE(folder.ok()) << folder.error().message;
  EXPECT_EQ((*folder)->pluginsDir(), (dir / "elsewhere/plugins").string());
  EXPECT_EQ((*folder)->versionsDir(), (dir / "elsewhere/plugins/.versions").string());
  EXPECT_TRUE(fs::is_directory(dir / "elsewhere/plugins"));
}

}  // namespace
}  // namespace patchbay
