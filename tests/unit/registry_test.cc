// The registry over real HTTP on loopback: seed 000's drop-in folder and
// API shapes, downloads served like a static file server, resolution.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "patchbay/http_client.h"
#include "patchbay/package.h"
#include "patchbay/registry.h"
#include "patchbay/sql_database.h"
#include "support/raw_zip.h"
#include "support/registry_fixture.h"
#include "support/test_util.h"

#include <thread>

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST_F(RegistryTest, ListsTheDropInFolderInSeed000Shape) {
  fs::create_directories(plugins());
  addPlugin("analytics", "2.1.0", {{"category", "analytics"}});
  addPlugin("analytics", "2.0.0", {{"category", "analytics"}});
  addPlugin("analytics", "3.0.0-beta.1", {{"category", "analytics"}});
  addPlugin("backup", "1.5.0", {{"category", "tools"}});
  startServer();
  auto r = get("/api/plugins");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  json list = json::parse(r.body);
  ASSERT_EQ(list.size(), 2u);
  const json& a = list[0];
  for (const char* key : {"id", "name", "version", "filename", "size", "download_url", "description",  // seed 000
                          "integrity", "sha256", "category", "author", "downloads", "updated_at", "signed"}) {
    EXPECT_TRUE(a.contains(key)) << key;
  }
  EXPECT_EQ(a["id"], "analytics");
  EXPECT_EQ(a["version"], "2.1.0");  // newest release, not the beta
  EXPECT_EQ(a["filename"], "analytics_v2.1.0.zip");
  EXPECT_EQ(a["download_url"], "/download/analytics/2.1.0");
  EXPECT_EQ(a["size"], fs::file_size(plugins() / "analytics_v2.1.0.zip"));
  EXPECT_EQ(a["sha256"], digestFile((plugins() / "analytics_v2.1.0.zip").string())->sha256);
  EXPECT_EQ(r.header("x-total-count"), "2");
}

TEST_F(RegistryTest, FilesAppearAndDisappearWithoutRestart) {
  fs::create_directories(plugins());
  startServer();
  EXPECT_EQ(getJson("/api/plugins").size(), 0u);
  std::string path = addPlugin("hello", "1.0.0");
  ASSERT_TRUE(registry_->syncFolder().ok());
  EXPECT_EQ(getJson("/api/plugins").size(), 1u);
  EXPECT_EQ(get("/download/hello/1.0.0").status, 200);
  fs::remove(path);
  ASSERT_TRUE(registry_->syncFolder().ok());
  EXPECT_EQ(getJson("/api/plugins").size(), 0u);
  EXPECT_EQ(get("/download/hello/1.0.0").status, 404);
}

// A scan of a folder that has not changed reads no rows (and on a local
// file system, no files); it must still keep what the last scan found, and
// compare again once the catalog changed under it (here: a version's row
// lost while its file stays).
TEST_F(RegistryTest, AnUnchangedFolderKeepsItsProblemsAndALostRowComesBack) {
  addPlugin("hello", "1.0.0");
  test::writeFile(plugins() / "broken_v1.0.0.zip", "not a zip");
  startServer([](RegistryOptions& o) { o.folderFullScanEvery = std::chrono::seconds(0); });  // where no events: every call scans
  ASSERT_EQ(registry_->folderProblems().size(), 1u);
  auto again = registry_->syncFolder();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, 0u);
  ASSERT_EQ(registry_->folderProblems().size(), 1u);
  EXPECT_EQ(registry_->folderProblems()[0].file, "broken_v1.0.0.zip");

  {
    auto db = openSqlDatabase((dir_ / "data" / "registry.db").string());
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE((*db)->query("DELETE FROM versions WHERE plugin_id = 'hello'").ok());
    ASSERT_TRUE((*db)->query("UPDATE catalog_generation SET generation = generation + 1").ok());
  }
  ASSERT_TRUE(registry_->refresh().ok());
  EXPECT_EQ(get("/api/plugins/hello").status, 404);
  auto restored = registry_->syncFolder();
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(*restored, 1u);
  EXPECT_EQ(get("/api/plugins/hello").status, 200);
}

// A file that failed for a reason that may pass (here the blob store
// cannot be written) is tried again after a while, with no change to the
// folder to prompt it.
TEST_F(RegistryTest, AFileThatFailedForAPassingReasonIsTriedAgain) {
  startServer([](RegistryOptions& o) { o.folderFullScanEvery = std::chrono::seconds(1); });
  const fs::path blobs = dir_ / "data" / "blobs";
  fs::remove_all(blobs);
  test::writeFile(blobs, "a file where the blob folder should be");
  addPlugin("hello", "1.0.0");
  ASSERT_TRUE(registry_->syncFolder().ok());
  ASSERT_EQ(registry_->folderProblems().size(), 1u);
  EXPECT_EQ(get("/api/plugins/hello").status, 404);
  fs::remove(blobs);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto again = registry_->syncFolder();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, 1u);
  EXPECT_TRUE(registry_->folderProblems().empty());
  EXPECT_EQ(get("/api/plugins/hello").status, 200);
}

// A long import says how far it has come: told while files are imported
// (here before every file) and once at the end.
TEST_F(RegistryTest, AFolderImportReportsItsProgress) {
  addPlugin("alpha", "1.0.0");
  addPlugin("beta", "1.0.0");
  addPlugin("gamma", "1.0.0");
  test::writeFile(plugins() / "broken_v1.0.0.zip", "not a zip");
  auto told = std::make_shared<std::vector<FolderProgress>>();
  startServer([told](RegistryOptions& o) {
    o.folderProgressEvery = std::chrono::milliseconds(0);
    o.onFolderProgress = [told](const FolderProgress& p) { told->push_back(p); };
  });
  ASSERT_EQ(told->size(), 5u);  // before each file, then at the end
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*told)[i].imported, i);
    EXPECT_EQ((*told)[i].toImport, 4u);
  }
  EXPECT_EQ(told->back().imported, 4u);
  EXPECT_EQ(told->back().toImport, 4u);
  EXPECT_EQ(getJson("/api/plugins").size(), 3u);
}

TEST_F(RegistryTest, ZipWithoutManifestIsServedAsSeed000Does) {
  test::writeFile(plugins() / "ai_chatbot_v1.0.0.zip",
                  *writeDeterministicZip({{"backend/routes.py", "router = None\n"}, {"frontend/pages/ChatsPage.tsx", "export {}\n"}}));
  startServer();
  json list = getJson("/api/plugins");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], "ai_chatbot");
  EXPECT_EQ(list[0]["name"], "Ai Chatbot");
  EXPECT_EQ(list[0]["version"], "1.0.0");
}

TEST_F(RegistryTest, InvalidFilesAreReportedAndNeverServed) {
  addPlugin("good", "1.0.0");
  test::writeFile(plugins() / "broken_v1.0.0.zip", "this is not a zip");
  test::writeFile(plugins() / "evil_v1.0.0.zip", test::buildRawZip({{.name = "../../etc/cron.d/x", .data = "boom"}}));
  test::writeFile(plugins() / "notes.zip", *writeDeterministicZip({{"a.txt", "a"}}));
  fs::copy_file(plugins() / "good_v1.0.0.zip", plugins() / "good_v2.0.0.zip");  // manifest says 1.0.0
  startServer();
  json list = getJson("/api/plugins");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], "good");
  EXPECT_EQ(list[0]["version"], "1.0.0");
  json status = getJson("/api/admin/status");
  std::map<std::string, std::string> problems;
  for (const auto& p : status["folder_problems"]) problems[p["file"]] = p["message"];
  EXPECT_EQ(problems.size(), 4u) << status.dump(2);
  EXPECT_NE(problems["broken_v1.0.0.zip"].find("not a valid ZIP archive"), std::string::npos);
  EXPECT_EQ(problems["evil_v1.0.0.zip"], "entry \"../../etc/cron.d/x\": path contains \"..\"");
  EXPECT_EQ(problems["notes.zip"], "the file name does not follow {id}_v{version}.zip");
  EXPECT_NE(problems["good_v2.0.0.zip"].find("says good 2.0.0 but plugin.json says good 1.0.0"), std::string::npos);
  EXPECT_EQ(get("/download/evil/1.0.0").status, 404);
  EXPECT_EQ(get("/download/broken/1.0.0").status, 404);
}

TEST_F(RegistryTest, DownloadsBehaveLikeAStaticFileServer) {
  std::string path = addPlugin("files", "1.2.0");
  addPlugin("files", "1.3.0-rc.1");
  startServer();
  const std::string bytes = test::readFile(path);
  const std::string sha = digestFile(path)->sha256;

  auto full = get("/download/files/1.2.0");
  EXPECT_EQ(full.status, 200);
  EXPECT_EQ(full.body, bytes);
  EXPECT_EQ(full.header("etag"), "\"" + sha + "\"");
  EXPECT_EQ(full.header("content-type"), "application/zip");
  EXPECT_EQ(full.header("content-disposition"), "attachment; filename=\"files_v1.2.0.zip\"");
  EXPECT_EQ(full.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(full.header("accept-ranges"), "bytes");

  auto latest = get("/download/files/latest");
  EXPECT_EQ(latest.body, bytes);  // the newest release, not the rc
  EXPECT_EQ(latest.header("x-plugin-version"), "1.2.0");
  EXPECT_EQ(latest.header("cache-control"), "public, max-age=60");
  EXPECT_EQ(get("/download/files/1.3.0-rc.1").status, 200);  // asked for by name, a pre-release downloads

  auto notModified = get("/download/files/1.2.0", {{"If-None-Match", "\"" + sha + "\""}});
  EXPECT_EQ(notModified.status, 304);
  EXPECT_EQ(notModified.body, "");
  EXPECT_EQ(get("/download/files/1.2.0", {{"If-None-Match", "\"other\""}}).status, 200);

  auto part = get("/download/files/1.2.0", {{"Range", "bytes=10-19"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, bytes.substr(10, 10));
  EXPECT_EQ(part.header("content-range"), "bytes 10-19/" + std::to_string(bytes.size()));
  auto tail = get("/download/files/1.2.0", {{"Range", "bytes=-5"}});
  EXPECT_EQ(tail.body, bytes.substr(bytes.size() - 5));
  auto open = get("/download/files/1.2.0", {{"Range", "bytes=100-"}});
  EXPECT_EQ(open.body, bytes.substr(100));
  auto beyond = get("/download/files/1.2.0", {{"Range", "bytes=999999-"}});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.header("content-range"), "bytes */" + std::to_string(bytes.size()));
  EXPECT_EQ(get("/download/files/1.2.0", {{"Range", "bytes=0-1,5-6"}}).status, 200);  // multi-range: the whole file
  EXPECT_EQ(get("/download/files/1.2.0", {{"Range", "bytes=0-9"}, {"If-Range", "\"stale\""}}).status, 200);

  auto head = get("/download/files/1.2.0", {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(bytes.size()));
  EXPECT_EQ(head.body, "");
}

TEST_F(RegistryTest, DownloadsAreCountedPerVersionPerDayAndSurviveRestart) {
  addPlugin("counted", "1.0.0");
  addPlugin("counted", "1.1.0");
  startServer();
  for (int i = 0; i < 3; ++i) get("/download/counted/1.0.0");
  get("/download/counted/latest");
  get("/download/counted/1.0.0", {}, "HEAD");  // not a download
  get("/download/counted/1.0.0", {{"Range", "bytes=50-60"}});  // a resumed download, not a new one
  json stats = getJson("/api/stats");
  ASSERT_EQ(stats["downloads"].size(), 2u) << stats.dump(2);
  std::map<std::string, int> perVersion;
  for (const auto& d : stats["downloads"]) {
    perVersion[d["version"]] = d["count"];
    EXPECT_EQ(d["day"].get<std::string>().size(), 10u);
  }
  EXPECT_EQ(perVersion["1.0.0"], 3);
  EXPECT_EQ(perVersion["1.1.0"], 1);
  EXPECT_EQ(getJson("/api/plugins")[0]["downloads"], 4);
  stopServer();
  startServer();
  EXPECT_EQ(getJson("/api/plugins")[0]["downloads"], 4);
  EXPECT_EQ(getJson("/api/stats")["popular"][0]["downloads"], 4);
}

TEST_F(RegistryTest, PathParametersAreValidated) {
  addPlugin("safe", "1.0.0");
  startServer();
  for (const char* path : {"/download/..%2F..%2Fdata%2Fregistry.db/1.0.0", "/download/safe/..%2F..%2Fregistry.db",
                           "/download/SAFE/1.0.0", "/download/safe/1.0", "/download/safe%00/1.0.0", "/api/plugins/..",
                           "/api/plugins/safe/..%2F..", "/download/%2e%2e/%2e%2e"}) {
    auto r = get(path);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << path << " -> " << r.status;
    EXPECT_EQ(r.body.find("SQLite"), std::string::npos) << path;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << path;
  }
  EXPECT_EQ(get("/download/safe/9.9.9").status, 404);
  EXPECT_EQ(get("/download/other/1.0.0").status, 404);
}

TEST_F(RegistryTest, QueryFilterSortAndPage) {
  addPlugin("alpha", "1.0.0", {{"category", "analytics"}, {"sodium", ">=2.0.0"}});
  addPlugin("alpha", "0.9.0", {{"category", "analytics"}, {"sodium", ">=1.0.0"}});
  addPlugin("beta", "1.0.0", {{"category", "billing"}, {"description", "Invoices and payments"}});
  addPlugin("gamma", "1.0.0", {{"category", "billing"}});
  startServer();
  EXPECT_EQ(getJson("/api/plugins?q=invoice").size(), 1u);
  EXPECT_EQ(getJson("/api/plugins?q=INVOICE")[0]["id"], "beta");
  EXPECT_EQ(getJson("/api/plugins?category=billing").size(), 2u);
  json forOldHost = getJson("/api/plugins?host=1.5.0&q=alpha");
  ASSERT_EQ(forOldHost.size(), 1u);
  EXPECT_EQ(forOldHost[0]["version"], "0.9.0");  // 1.0.0 needs host >= 2
  EXPECT_EQ(getJson("/api/plugins?host=2.1.0&q=alpha")[0]["version"], "1.0.0");
  auto page = get("/api/plugins?per_page=2&page=2");
  EXPECT_EQ(json::parse(page.body).size(), 1u);
  EXPECT_EQ(page.header("x-total-count"), "3");
  EXPECT_EQ(getJson("/api/plugins?per_page=2&page=9").size(), 0u);
  for (int i = 0; i < 2; ++i) get("/download/gamma/1.0.0");
  EXPECT_EQ(getJson("/api/plugins?sort=downloads")[0]["id"], "gamma");
  EXPECT_EQ(get("/api/plugins?sort=random").status, 400);
  EXPECT_EQ(get("/api/plugins?page=0").status, 400);
  EXPECT_EQ(get("/api/plugins?host=banana").status, 400);
}

TEST_F(RegistryTest, PluginDetailsVersionsAndResolve) {
  addPlugin("multi", "1.0.0", {{"sodium", ">=1.0.0"}}, "# Multi\n\nDoes many things.\n");
  addPlugin("multi", "1.4.2", {{"sodium", ">=1.2.0"}}, "# Multi\n\nNow better.\n");
  addPlugin("multi", "2.0.0", {{"sodium", ">=2.0.0"}}, "# Multi 2\n");
  startServer();
  json details = getJson("/api/plugins/multi");
  EXPECT_EQ(details["version"], "2.0.0");
  EXPECT_EQ(details["readme"], "# Multi 2\n");
  ASSERT_EQ(details["versions"].size(), 3u);
  EXPECT_EQ(details["versions"][0]["version"], "2.0.0");
  json one = getJson("/api/plugins/multi/1.4.2");
  EXPECT_EQ(one["manifest"]["sodium"], ">=1.2.0");
  EXPECT_EQ(one["readme"], "# Multi\n\nNow better.\n");
  EXPECT_EQ(get("/api/plugins/nothing").status, 404);
  EXPECT_EQ(get("/api/plugins/multi/3.0.0").status, 404);

  EXPECT_EQ(getJson("/api/plugins/multi/resolve?range=%5E1")["version"], "1.4.2");
  EXPECT_EQ(getJson("/api/plugins/multi/resolve?range=%5E1&host=1.1.0")["version"], "1.0.0");
  EXPECT_EQ(getJson("/api/plugins/multi/resolve")["version"], "2.0.0");
  auto none = get("/api/plugins/multi/resolve?range=%5E1&host=0.5.0");
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("works with host version 0.5.0"), std::string::npos) << none.body;
  auto noRange = get("/api/plugins/multi/resolve?range=%5E9");
  EXPECT_NE(noRange.body.find("available: 2.0.0, 1.4.2, 1.0.0"), std::string::npos) << noRange.body;
  EXPECT_EQ(get("/api/plugins/multi/resolve?range=not-a-range").status, 400);
}

TEST_F(RegistryTest, PrometheusMetrics) {
  addPlugin("measured", "1.0.0");
  startServer();
  get("/download/measured/1.0.0");
  get("/download/measured/1.0.0");
  get("/no/such/path/abc");
  get("/no/such/path/xyz");
  // A request is recorded after its response is written (on whichever
  // thread served it), so the client may ask for /metrics first: wait until
  // all four show.
  http::ClientResponse m;
  for (int i = 0; i < 100; ++i) {
    m = get("/metrics");
    if (m.body.find("route=\"other\",method=\"GET\",status=\"404\"} 2") != std::string::npos &&
        m.body.find("route=\"/download/{id}/{version}\",method=\"GET\",status=\"200\"} 2") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("patchbay_http_requests_total{route=\"/download/{id}/{version}\",method=\"GET\",status=\"200\"} 2"),
            std::string::npos) << m.body;
  EXPECT_NE(m.body.find("patchbay_http_requests_total{route=\"other\",method=\"GET\",status=\"404\"} 2"), std::string::npos) << m.body;
  EXPECT_EQ(m.body.find("abc"), std::string::npos) << "raw paths must not become labels";
  EXPECT_NE(m.body.find("patchbay_http_request_duration_seconds_bucket{route=\"/download/{id}/{version}\",le=\"+Inf\"} 2"),
            std::string::npos);
  EXPECT_NE(m.body.find("patchbay_downloads_total 2"), std::string::npos) << m.body;
}

TEST_F(RegistryTest, Seed001ManifestWithETagAndGzip) {
  addPlugin("ai_chatbot", "1.0.0");
  addPlugin("email_marketing", "1.0.0");
  startServer();
  auto r = get("/manifest.json");
  json m = json::parse(r.body);
  ASSERT_EQ(m["plugins"].size(), 2u);
  EXPECT_EQ(m["plugins"][0]["id"], "ai_chatbot");
  EXPECT_EQ(m["plugins"][0]["version"], "1.0.0");
  EXPECT_EQ(m["plugins"][0]["download_url"], "/download/ai_chatbot/1.0.0");
  std::string etag = r.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(get("/manifest.json", {{"If-None-Match", etag}}).status, 304);
  auto gz = get("/manifest.json", {{"Accept-Encoding", "gzip, br"}});
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  ASSERT_GE(gz.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[1]), 0x8b);
  EXPECT_EQ(get("/healthz").body, R"({"status":"ok"})");
}

// Metadata may change with any publish, so the cache in front
// (deploy/nginx/) may keep it only until the second it was answered in
// ends: nginx's own lifetimes are whole seconds (1 to 2 s in fact), which
// could hide a publish for more than the 2 s issue 16 allows. An exact
// version's package and a bundle never change and keep their long lifetime.
TEST_F(RegistryTest, MetadataIsCachedInFrontOnlyUntilItsSecondEnds) {
  addPlugin("notes", "1.0.0");
  startServer();
  auto unixSecond = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  auto expiresWithinTheSecond = [&](const http::ClientResponse& r) {
    const std::string value = r.header("x-accel-expires");
    if (value.size() < 2 || value[0] != '@') return testing::AssertionFailure() << "X-Accel-Expires is \"" << value << "\"";
    const long long at = std::stoll(value.substr(1)), now = unixSecond();
    if (at < now - 1 || at > now) return testing::AssertionFailure() << "X-Accel-Expires is " << value << " at " << now;
    return testing::AssertionSuccess();
  };
  for (const char* path : {"/api/plugins", "/api/plugins/notes", "/api/plugins/notes/1.0.0", "/api/plugins/notes/resolve",
                           "/manifest.json", "/download/notes/latest"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_TRUE(expiresWithinTheSecond(r)) << path;
  }
  // A revalidation's 304 says the same (nginx takes the new lifetime from it).
  auto manifest = get("/manifest.json");
  auto unchanged = get("/manifest.json", {{"If-None-Match", manifest.header("etag")}});
  EXPECT_EQ(unchanged.status, 304);
  EXPECT_TRUE(expiresWithinTheSecond(unchanged));
  // A plugin not published yet: its 404 is cached no longer either.
  auto missing = get("/api/plugins/later");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(expiresWithinTheSecond(missing));
  // What never changes keeps nginx's long lifetime; errors nginx does not cache are not stamped.
  auto exact = get("/download/notes/1.0.0");
  EXPECT_EQ(exact.status, 200);
  EXPECT_EQ(exact.header("x-accel-expires"), "");
  auto badVersion = get("/api/plugins/notes/not-a-version");
  EXPECT_EQ(badVersion.status, 400);
  EXPECT_EQ(badVersion.header("x-accel-expires"), "");
}

}  // namespace
}  // namespace patchbay

namespace patchbay {
namespace {

TEST_F(PublishTest, TokensScopesOwnershipAndImmutability) {
  startServer();
  std::string alice = token("alice", {"publish"}), bob = token("bob", {"publish"}), reviewer = token("rita", {"review"});
  std::string admin = token("root", {"admin"});
  std::string v1 = packageBytes("notes", "1.0.0");

  EXPECT_EQ(upload(v1, "").status, 401);
  EXPECT_EQ(upload(v1, "pb_" + std::string(64, '0')).status, 401);
  auto wrongScope = upload(v1, reviewer);
  EXPECT_EQ(wrongScope.status, 403);
  EXPECT_NE(wrongScope.body.find("scope \\\"publish\\\" needed"), std::string::npos) << wrongScope.body;

  auto created = upload(v1, alice);
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("location"), "/api/plugins/notes/1.0.0");
  EXPECT_EQ(getJson("/api/plugins")[0]["id"], "notes");
  EXPECT_EQ(get("/download/notes/1.0.0").body, v1);

  EXPECT_EQ(upload(v1, alice).status, 200);  // the same bytes again: fine, nothing changes
  auto changed = upload(packageBytes("notes", "1.0.0", "different"), alice);
  EXPECT_EQ(changed.status, 409);
  EXPECT_NE(changed.body.find("versions are immutable"), std::string::npos);

  auto stolen = upload(packageBytes("notes", "1.1.0"), bob);
  EXPECT_EQ(stolen.status, 403);
  EXPECT_NE(stolen.body.find("belongs to \\\"alice\\\""), std::string::npos) << stolen.body;
  EXPECT_EQ(upload(packageBytes("notes", "1.1.0"), admin).status, 201);  // admins may

  auto bad = upload("this is not a zip", alice);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("not a valid ZIP archive"), std::string::npos);
  auto hostile = upload(test::buildRawZip({{.name = "plugin.json", .data = "{}"}, {.name = "../x", .data = "x"}}), alice);
  EXPECT_EQ(hostile.status, 400);
  EXPECT_NE(hostile.body.find("path contains"), std::string::npos);

  ASSERT_TRUE(registry_->revokeToken(registry_->authenticate(alice)->id).ok());
  EXPECT_EQ(upload(packageBytes("notes2", "1.0.0"), alice).status, 401);
  std::string metrics = get("/metrics").body;  // uploads are counted before the response: no wait needed
  EXPECT_NE(metrics.find("patchbay_uploads_total{result=\"created\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("patchbay_uploads_total{result=\"conflict\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("patchbay_uploads_total{result=\"unchanged\"} 1"), std::string::npos) << metrics;
  // Tokens are stored hashed: the secret is nowhere in the database file.
  EXPECT_EQ(test::readFile(dir_ / "data/registry.db").find(bob), std::string::npos);
}

TEST_F(PublishTest, ConcurrentUploadsOfOneVersionHaveOneWinner) {
  startServer();
  std::string secret = token("racer", {"publish"});
  std::vector<std::string> variants;
  for (int i = 0; i < 6; ++i) variants.push_back(packageBytes("race", "1.0.0", "v" + std::to_string(i)));
  std::vector<int> statuses(variants.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < variants.size(); ++i) {
    threads.emplace_back([&, i] { statuses[i] = upload(variants[i], secret).status; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), 5);
  size_t winner = static_cast<size_t>(std::find(statuses.begin(), statuses.end(), 201) - statuses.begin());
  EXPECT_EQ(get("/download/race/1.0.0").body, variants[winner]);
}

TEST_F(PublishTest, TrustedKeysMakeSignaturesMandatory) {
  SecretKey trusted = SecretKey::generate(), stranger = SecretKey::generate();
  startServer([&](RegistryOptions& o) {
    o.trustedKeys = {trusted.publicKey()};
    o.requireReview = true;
  });
  std::string secret = token("signer", {"publish"});
  std::string bytes = packageBytes("signed", "1.0.0");
  auto b64 = [](const std::string& s) { return toBase64(reinterpret_cast<const unsigned char*>(s.data()), s.size()); };

  auto unsigned_ = upload(bytes, secret);
  EXPECT_EQ(unsigned_.status, 400);
  EXPECT_NE(unsigned_.body.find("only accepts signed packages"), std::string::npos);
  auto byStranger = upload(bytes, secret, b64(SignatureFile::sign(stranger, bytes, packageTrustedComment("x", "signed", "1.0.0", 1)).toFileText()));
  EXPECT_EQ(byStranger.status, 400);
  EXPECT_NE(byStranger.body.find("which this registry does not trust"), std::string::npos);
  auto wrongVersion = upload(bytes, secret, b64(SignatureFile::sign(trusted, bytes, packageTrustedComment("x", "signed", "9.0.0", 1)).toFileText()));
  EXPECT_EQ(wrongVersion.status, 400);
  auto ok = upload(bytes, secret, b64(SignatureFile::sign(trusted, bytes, packageTrustedComment("x", "signed", "1.0.0", 1)).toFileText()));
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["status"], "pending");
  EXPECT_EQ(getJson("/api/plugins").size(), 0u);  // pending versions are not listed
  EXPECT_EQ(get("/download/signed/1.0.0").status, 404);
}

}  // namespace
}  // namespace patchbay
