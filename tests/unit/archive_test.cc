// Safe extraction of untrusted ZIPs: each hostile archive is built here,
// must be refused with its entry and rule named, and must leave nothing
// outside the staging folder.
#include <gtest/gtest.h>

#include "patchbay/archive.h"
#include "support/raw_zip.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

using test::RawEntry;

class ArchiveTest : public ::testing::Test {
 protected:
  // Extracts into <tmp>/staging and checks nothing appeared beside it.
  Result<ArchiveListing> extract(const std::string& zip, const ArchiveLimits& limits = {}) {
    std::filesystem::remove_all(dir_ / "staging");
    std::filesystem::create_directories(dir_ / "staging");
    auto r = extractZip(zip, (dir_ / "staging").string(), limits);
    std::string outside = test::listTree(dir_.path());
    std::string allowed;
    for (size_t pos = 0; pos < outside.size();) {
      size_t nl = outside.find('\n', pos);
      std::string line = outside.substr(pos, nl - pos);
      pos = nl + 1;
      if (line != "staging/" && line.rfind("staging/", 0) != 0) allowed += line + "\n";
    }
    EXPECT_EQ(allowed, "") << "files appeared outside the staging folder";
    return r;
  }
  void expectRefused(const std::string& zip, const std::string& expectedMessage, const ArchiveLimits& limits = {}) {
    auto inspected = inspectZip(zip, limits);
    auto r = extract(zip, limits);
    ASSERT_FALSE(r.ok()) << "accepted an archive that should fail with: " << expectedMessage;
    EXPECT_NE(r.error().message.find(expectedMessage), std::string::npos) << "got: " << r.error().message;
    if (!inspected.ok()) {
      EXPECT_EQ(inspected.error().message, r.error().message);
    }
  }
  test::TempDir dir_;
};

TEST_F(ArchiveTest, RoundTripAndDeterminism) {
  std::vector<ZipInput> files = {{"plugin.json", "{}"}, {"assets/app.css", "body{}"}, {"server.js", std::string(10000, 'a')},
                                 {"migrations/up.sql", "CREATE TABLE t(x);"}, {"empty.txt", ""}};
  auto zip = writeDeterministicZip(files);
  ASSERT_TRUE(zip.ok()) << zip.error().message;
  std::reverse(files.begin(), files.end());
  auto again = writeDeterministicZip(files);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*zip, *again) << "same files in another order gave different bytes";

  auto listing = extract(*zip);
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  EXPECT_EQ(listing->entries.size(), 5u);
  EXPECT_EQ(listing->entries[0].path, "assets/app.css");  // sorted
  EXPECT_EQ(test::readFile(dir_ / "staging/server.js"), std::string(10000, 'a'));
  EXPECT_EQ(test::readFile(dir_ / "staging/migrations/up.sql"), "CREATE TABLE t(x);");
  EXPECT_EQ(test::listTree(dir_ / "staging"),
            "assets/\nassets/app.css\nempty.txt\nmigrations/\nmigrations/up.sql\nplugin.json\nserver.js\n");
  auto manifest = readZipEntry(*zip, "plugin.json", 1024);
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(*manifest, "{}");
  EXPECT_FALSE(readZipEntry(*zip, "nope.txt", 1024).ok());
  EXPECT_EQ(readZipEntry(*zip, "server.js", 100).error().kind, ErrorKind::kLimitExceeded);
}

TEST_F(ArchiveTest, UnzipReadsOurArchives) {
  auto zip = writeDeterministicZip({{"a/b.txt", "hello"}, {"c.txt", "world"}});
  ASSERT_TRUE(zip.ok());
  test::writeFile(dir_ / "x.zip", *zip);
  auto r = test::run("cd " + dir_.str() + " && unzip -t x.zip");
  EXPECT_EQ(r.exitCode, 0) << r.output;
}

TEST_F(ArchiveTest, PathTraversal) {
  expectRefused(test::buildRawZip({{.name = "../evil.txt", .data = "x"}}), "entry \"../evil.txt\": path contains \"..\"");
  expectRefused(test::buildRawZip({{.name = "a/../../evil.txt", .data = "x"}}), "path contains \"..\"");
  expectRefused(test::buildRawZip({{.name = "/tmp/evil.txt", .data = "x"}}), "entry \"/tmp/evil.txt\": absolute path");
  expectRefused(test::buildRawZip({{.name = "C:evil.txt", .data = "x"}}), "drive letter");
  expectRefused(test::buildRawZip({{.name = "a\\..\\evil.txt", .data = "x"}}), "backslash");
  expectRefused(test::buildRawZip({{.name = "a//b.txt", .data = "x"}}), "empty component");
  expectRefused(test::buildRawZip({{.name = "./a.txt", .data = "x"}}), "path contains \".\"");
  expectRefused(test::buildRawZip({{.name = "a\x01.txt", .data = "x"}}), "control character");
  expectRefused(test::buildRawZip({{.name = "\xff\xfe.txt", .data = "x"}}), "not valid UTF-8");
}

TEST_F(ArchiveTest, LinksAndSpecialFiles) {
  expectRefused(test::buildRawZip({{.name = "link", .data = "/etc/passwd", .unixMode = 0120777}}),
                "entry \"link\": is a symbolic link");
  expectRefused(test::buildRawZip({{.name = "dev", .data = "", .unixMode = 0020644}}), "entry \"dev\": is a device file");
  expectRefused(test::buildRawZip({{.name = "blk", .data = "", .unixMode = 0060644}}), "is a device file");
  expectRefused(test::buildRawZip({{.name = "fifo", .data = "", .unixMode = 0010644}}), "is a FIFO");
  expectRefused(test::buildRawZip({{.name = "sock", .data = "", .unixMode = 0140644}}), "is a socket");
  // A link followed by a file written "through" it.
  expectRefused(test::buildRawZip({{.name = "d", .data = "/tmp", .unixMode = 0120777}, {.name = "d/evil.txt", .data = "x"}}),
                "is a symbolic link");
}

TEST_F(ArchiveTest, NameCollisions) {
  expectRefused(test::buildRawZip({{.name = "a.txt", .data = "1"}, {.name = "a.txt", .data = "2"}}),
                "entry \"a.txt\": appears twice in the archive");
  expectRefused(test::buildRawZip({{.name = "README.md", .data = "1"}, {.name = "readme.md", .data = "2"}}),
                "entry \"readme.md\": collides with \"README.md\" when letter case is ignored");
  expectRefused(test::buildRawZip({{.name = "\xc3\x84pfel.txt", .data = "1"}, {.name = "\xc3\xa4pfel.txt", .data = "2"}}),
                "collides with \"\xc3\x84pfel.txt\" when letter case is ignored");  // Äpfel / äpfel
  expectRefused(test::buildRawZip({{.name = "\xd0\x9c\xd0\xb8\xd1\x80", .data = "1"}, {.name = "\xd0\xbc\xd0\xb8\xd1\x80", .data = "2"}}),
                "when letter case is ignored");  // Мир / мир
  expectRefused(test::buildRawZip({{.name = "\xc5\x81odz", .data = "1"}, {.name = "\xc5\x82odz", .data = "2"}}),
                "when letter case is ignored");  // Łodz / łodz
  auto distinct = extract(test::buildRawZip({{.name = "\xc3\xa4.txt", .data = "1"}, {.name = "\xc3\xb6.txt", .data = "2"}}));
  ASSERT_TRUE(distinct.ok()) << distinct.error().message;  // ä and ö are different letters
  EXPECT_EQ(test::readFile(dir_ / "staging/\xc3\xb6.txt"), "2");
  expectRefused(test::buildRawZip({{.name = "a", .data = "file"}, {.name = "a/b", .data = "x"}}),
                "entry \"a\": is both a file and a folder (\"a/b\" is inside it)");
  expectRefused(test::buildRawZip({{.name = "a/b/c", .data = "x"}, {.name = "a/b", .data = "file"}}),
                "is both a file and a folder");
}

TEST_F(ArchiveTest, Limits) {
  std::vector<RawEntry> many;
  for (int i = 0; i < 6; ++i) many.push_back({.name = "f" + std::to_string(i), .data = "x"});
  ArchiveLimits fewEntries;
  fewEntries.maxEntries = 5;
  expectRefused(test::buildRawZip(many), "archive has 6 entries; the limit is 5", fewEntries);

  ArchiveLimits small;
  small.maxTotalBytes = 1000;
  expectRefused(test::buildRawZip({{.name = "a", .data = std::string(600, 'a')}, {.name = "b", .data = std::string(600, 'b')}}),
                "archive unpacks to more than 1000 bytes (at entry \"b\")", small);

  ArchiveLimits tinyFile;
  tinyFile.maxEntryBytes = 100;
  expectRefused(test::buildRawZip({{.name = "big", .data = std::string(101, 'a')}}), "entry \"big\": 101 bytes", tinyFile);

  ArchiveLimits tinyArchive;
  tinyArchive.maxArchiveBytes = 50;
  expectRefused(test::buildRawZip({{.name = "a", .data = std::string(100, 'a')}}), "archive is ", tinyArchive);
}

TEST_F(ArchiveTest, CompressionBomb) {
  auto bomb = writeDeterministicZip({{"zeros.bin", std::string(40u << 20, '\0')}});
  ASSERT_TRUE(bomb.ok());
  ASSERT_LT(bomb->size(), 100u << 10);
  expectRefused(*bomb, "entry \"zeros.bin\": compression ratio ");
}

TEST_F(ArchiveTest, OverlappingEntries) {
  // "a" claims a size that swallows b's local header and data: the
  // overlapping-file construction behind the best-known zip bombs.
  std::string aData = "AAAA", bData = "BBBB";
  uint32_t swallowed = static_cast<uint32_t>(aData.size() + 30 + 1 + bData.size());
  auto zip = test::buildRawZip({{.name = "a", .data = aData, .compressedSize = swallowed, .uncompressedSize = swallowed},
                                {.name = "b", .data = bData}});
  expectRefused(zip, "entries \"a\" and \"b\" overlap");
  // Two central entries sharing one local header.
  auto shared = test::buildRawZip({{.name = "x", .data = "1"}, {.name = "x", .data = "1", .offsetOverride = 0}});
  expectRefused(shared, "overlap");
}

TEST_F(ArchiveTest, LyingHeaders) {
  expectRefused(test::buildRawZip({{.name = "a.txt", .data = "x", .localName = "b.txt"}}),
                "entry \"a.txt\": local header names \"b.txt\" instead");
  expectRefused(test::buildRawZip({{.name = "a.txt", .data = "hello", .uncompressedSize = 3}}),
                "entry \"a.txt\": stored entry's compressed and uncompressed sizes differ");
  expectRefused(test::buildRawZip({{.name = "a.txt", .data = "hello", .crc = 0x12345678}}), "entry \"a.txt\"");

  // A deflated entry whose central directory understates its size.
  auto zip = writeDeterministicZip({{"data.txt", std::string(5000, 'z')}});
  ASSERT_TRUE(zip.ok());
  std::string lying = *zip;
  size_t cd = lying.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(cd, std::string::npos);
  lying[cd + 24] = static_cast<char>(100);  // uncompressed size 5000 -> 100 (low byte)
  lying[cd + 25] = 0;
  expectRefused(lying, "entry \"data.txt\": local and central headers disagree on CRC or sizes");
}

TEST_F(ArchiveTest, UnsupportedAndCorrupt) {
  expectRefused(test::buildRawZip({{.name = "a", .data = "x", .flags = 0x0801}}), "entry \"a\": encrypted entries are not supported");
  expectRefused(test::buildRawZip({{.name = "a", .data = "x", .method = 12}}), "compression method 12 is not supported");
  expectRefused("not a zip at all, just some text that is long enough", "not a valid ZIP archive");
  auto good = test::buildRawZip({{.name = "a", .data = "hello"}});
  expectRefused(good.substr(0, good.size() / 2), "not a valid ZIP archive");
  expectRefused("junk" + good, "not a valid ZIP archive");
}

TEST_F(ArchiveTest, StagingMustBeEmpty) {
  std::filesystem::create_directories(dir_ / "busy");
  test::writeFile(dir_ / "busy/existing", "keep me");
  auto r = extractZip(test::buildRawZip({{.name = "existing", .data = "overwrite"}}), (dir_ / "busy").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is not empty"), std::string::npos);
  EXPECT_EQ(test::readFile(dir_ / "busy/existing"), "keep me");
}

}  // namespace
}  // namespace patchbay
