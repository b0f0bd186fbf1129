// Beyond one machine: registry replicas on one PostgreSQL. Two
// `patchbay registry serve` processes with their own data folders, one
// database and one shared blob folder (a network file system's place)
// serve one catalog: a package published through one is listed by the
// other within 2 s and downloads byte-identical from both; both sign with
// one key; tokens made once work on both; a yank on one is seen by the
// other; the drop-in folder is scanned by one replica at a time and taken
// over when that one dies; with PostgreSQL down, writes fail fast with 503
// while reads go on, and writes work again soon after it is back.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "patchbay/http_client.h"
#include "patchbay/package.h"
#include "support/nginx_server.h"
#include "patchbay/blob_store.h"
#include "patchbay/integrity.h"
#include "support/postgres_server.h"
#include "support/swift_server.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Replica {
  test::TempDir dir;
  std::unique_ptr<test::ServeProcess> serve;
  // `blobs`: the store's spec ("" is a folder under `shared`).
  Replica(const std::string& database, const fs::path& shared, const std::string& blobs = "") {
    serve = std::make_unique<test::ServeProcess>(dir, "registry serve --data data --database " + database + " --blobs '" +
                                                          (blobs.empty() ? (shared / "blobs").string() : blobs) + "' --plugins-dir " +
                                                          (shared / "plugins").string());
  }
  std::string base() const { return "http://127.0.0.1:" + serve->port; }
  std::string log() const { return test::readFile(dir / "log"); }
};

http::ClientResponse request(const std::string& method, const std::string& url, std::string body = "",
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto r = http::fetch({.method = method, .url = url, .headers = std::move(headers), .body = std::move(body)});
  return r.ok() ? *r : http::ClientResponse{};
}

// A package of plugin `id` at `version`, as bytes.
std::string package(const test::TempDir& dir, const std::string& id, const std::string& version, const std::string& note = "") {
  const fs::path src = dir / "src" / (id + "-" + version + note) / id;
  test::writeFile(src / "plugin.json", json{{"id", id}, {"name", id + " plugin"}, {"version", version}, {"description", "The " + id + " plugin"}}.dump());
  test::writeFile(src / "server.js", "export default function () { /* " + note + " */ }\n");
  const fs::path out = dir / "out" / (id + "-" + version + note);
  fs::create_directories(out);
  auto packed = packFolder(src.string(), out.string());
  EXPECT_TRUE(packed.ok()) << packed.error().message;
  return packed.ok() ? test::readFile(packed->path) : "";
}

http::ClientResponse publish(const Replica& r, const std::string& token, const std::string& bytes) {
  return request("POST", r.base() + "/api/plugins", bytes, {{"Authorization", "Bearer " + token}, {"Content-Type", "application/zip"}});
}

// Polls `done` every 20 ms for up to `limit`; the time it took, or `limit` when it never held.
template <class F>
std::chrono::milliseconds timeUntil(F done, std::chrono::milliseconds limit) {
  const auto start = Clock::now();
  while (Clock::now() - start < limit) {
    if (done()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return limit;
}

std::string token(const std::string& database, const test::TempDir& dir, const std::string& name, const std::string& scope) {
  auto made = test::run(test::patchbayBinary() + " registry token create --data " + (dir / "tokens").string() + " --database " + database +
                        " --name " + name + " --scope " + scope + " --json");
  json j = json::parse(made.output, nullptr, false);
  EXPECT_TRUE(j.is_object() && j.value("ok", false)) << made.output;
  return j.is_object() ? j.value("token", "") : "";
}

// PostgreSQL, a shared folder (drop-in packages, and the blobs unless
// `blobs` names another store) and two replica processes on them.
class ClusterRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pg.ok()) << pg.error();
    pg.createDatabase("registry");
    database = pg.url("registry");
    fs::create_directories(shared / "plugins");
    a = std::make_unique<Replica>(database, shared.path(), blobs);
    ASSERT_FALSE(a->serve->port.empty()) << a->log();
    b = std::make_unique<Replica>(database, shared.path(), blobs);
    ASSERT_FALSE(b->serve->port.empty()) << b->log();
  }
  test::PostgresServer pg;
  std::string database;
  test::TempDir shared;
  std::string blobs;  // "": a folder under `shared`
  std::unique_ptr<Replica> a, b;
};

// The same with the bytes in an S3-compatible store (Debian's OpenStack
// Swift with its s3api middleware), as issue 16's fault tests run it.
class ClusterRegistryOnS3 : public ClusterRegistry {
 protected:
  void SetUp() override {
    ASSERT_TRUE(swift.ok()) << swift.error();
    ASSERT_EQ(swift.createBucket("plugins"), "");
    test::writeFile(shared / "s3-credentials", "AWS_ACCESS_KEY_ID=" + swift.accessKeyId() + "\nAWS_SECRET_ACCESS_KEY=" + swift.secretKey() + "\n");
    blobs = "s3://plugins?endpoint=" + swift.endpoint() + "&region=us-east-1&credentials=" + (shared / "s3-credentials").string();
    ClusterRegistry::SetUp();
  }
  test::SwiftServer swift;
};

TEST_F(ClusterRegistry, ReplicasOnOnePostgresServeOneCatalog) {
  Replica& a = *this->a;
  Replica& b = *this->b;

  // One signing key, made by the first replica, read by the second.
  const auto keyA = request("GET", a.base() + "/api/registry/key"), keyB = request("GET", b.base() + "/api/registry/key");
  ASSERT_EQ(keyA.status, 200) << keyA.body;
  EXPECT_EQ(keyA.body, keyB.body);
  EXPECT_FALSE(fs::exists(a.dir / "data" / "registry.key")) << "a key of the replica's own";

  // Tokens are rows of the database: made once, good on both.
  const std::string alice = token(database, shared, "alice", "publish"), root = token(database, shared, "root", "admin");
  ASSERT_FALSE(alice.empty());

  // Published through A: listed by B within 2 s, the same bytes from both.
  const std::string notes = package(shared, "notes", "1.0.0");
  auto published = publish(a, alice, notes);
  ASSERT_EQ(published.status, 201) << published.body;
  const auto seen = timeUntil([&] { return request("GET", b.base() + "/api/plugins/notes").status == 200; }, std::chrono::seconds(2));
  EXPECT_LT(seen.count(), 2000) << "B never listed what A published";
  const auto fromA = request("GET", a.base() + "/download/notes/1.0.0"), fromB = request("GET", b.base() + "/download/notes/1.0.0");
  EXPECT_EQ(fromA.status, 200);
  EXPECT_EQ(fromB.status, 200) << fromB.body;
  EXPECT_TRUE(fromA.body == notes && fromB.body == notes) << "downloads differ from what was published";
  // Both sign the metadata alike.
  json metaA = json::parse(request("GET", a.base() + "/api/plugins/notes/1.0.0").body, nullptr, false);
  json metaB = json::parse(request("GET", b.base() + "/api/plugins/notes/1.0.0").body, nullptr, false);
  EXPECT_EQ(metaA.value("registry_signature", "a"), metaB.value("registry_signature", "b"));

  // Immutable across replicas: other bytes for the version are refused by
  // B, the same bytes again are an idempotent success.
  EXPECT_EQ(publish(b, alice, package(shared, "notes", "1.0.0", "other")).status, 409);
  EXPECT_EQ(publish(b, alice, notes).status, 200);
  // Ownership too: another publisher may not take the id on B.
  const std::string mallory = token(database, shared, "mallory", "publish");
  EXPECT_EQ(publish(b, mallory, package(shared, "notes", "1.1.0")).status, 403);

  // A yank through B leaves A's listing within 2 s.
  auto yanked = request("DELETE", b.base() + "/api/plugins/notes/1.0.0?reason=broken", "", {{"Authorization", "Bearer " + root}});
  ASSERT_EQ(yanked.status, 200) << yanked.body;
  const auto gone = timeUntil(
      [&] {
        json list = json::parse(request("GET", a.base() + "/api/plugins").body, nullptr, false);
        return list.is_array() && list.empty();  // seed 000's shape: the listed plugins
      },
      std::chrono::seconds(2));
  EXPECT_LT(gone.count(), 2000) << "A still lists the yanked version";

  // The drop-in folder: scanned by the replica holding its lock (A, the
  // first), served by both; when A dies, B takes the folder over.
  {
    test::writeFile(shared / "src" / "dropin" / "dropin" / "plugin.json", json{{"id", "dropin"}, {"name", "Drop-in"}, {"version", "1.0.0"}}.dump());
    test::writeFile(shared / "src" / "dropin" / "dropin" / "server.js", "export default function () {}\n");
    ASSERT_TRUE(packFolder((shared / "src" / "dropin" / "dropin").string(), (shared / "plugins").string()).ok());
  }
  const auto dropped = timeUntil([&] { return request("GET", b.base() + "/api/plugins/dropin").status == 200; }, std::chrono::seconds(4));
  EXPECT_LT(dropped.count(), 4000) << "the drop-in package never reached B\n" << a.log();
  ::kill(a.serve->pid, SIGKILL);
  test::writeFile(shared / "src" / "later" / "later" / "plugin.json", json{{"id", "later"}, {"name", "Later"}, {"version", "1.0.0"}}.dump());
  test::writeFile(shared / "src" / "later" / "later" / "server.js", "export default function () {}\n");
  ASSERT_TRUE(packFolder((shared / "src" / "later" / "later").string(), (shared / "plugins").string()).ok());
  const auto takenOver = timeUntil([&] { return request("GET", b.base() + "/api/plugins/later").status == 200; }, std::chrono::seconds(8));
  EXPECT_LT(takenOver.count(), 8000) << "B never took the folder over\n" << b.log();
  EXPECT_EQ(request("GET", b.base() + "/api/plugins/dropin").status, 200) << "the take-over lost a drop-in package";

  // PostgreSQL restarts: writes fail fast with 503 (and say to retry),
  // reads are served from the snapshot meanwhile; writes work again soon
  // after it is back.
  pg.stop();
  const auto before = Clock::now();
  auto refused = publish(b, alice, package(shared, "notes", "2.0.0"));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - before);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_LT(took.count(), 2500) << "a write waited for the database";
  EXPECT_EQ(request("GET", b.base() + "/api/plugins/dropin").status, 200);
  EXPECT_EQ(request("GET", b.base() + "/download/dropin/1.0.0").status, 200);
  ASSERT_TRUE(pg.start());
  const std::string v2 = package(shared, "notes", "2.0.0");
  const auto recovered = timeUntil([&] { return publish(b, alice, v2).status == 201; }, std::chrono::seconds(5));
  EXPECT_LT(recovered.count(), 5000) << b.log();
  EXPECT_EQ(request("GET", b.base() + "/api/plugins/notes/2.0.0").status, 200);
}

// The bytes in an S3-compatible store (Debian's OpenStack Swift with its
// s3api middleware): two replicas on one PostgreSQL and one bucket. A
// package published through A downloads byte-identical from B (read from
// the store) and from C, which redirects to a presigned URL; its client
// bundle is served from the store, compressed as stored; the store refuses
// an upload whose bytes do not match their signed SHA-256; and garbage
// collection removes bytes no version refers to, never one that a version does.
// Run by the test below on its servers, with a database, folders and
// replicas of its own: one Swift started for both (~15 s on this machine).
void replicasKeepTheirBytesInAnS3Store(test::PostgresServer& pg, const test::SwiftServer& swift) {
  pg.createDatabase("registry_s3");
  const std::string database = pg.url("registry_s3");
  test::TempDir shared;
  test::writeFile(shared / "s3-credentials", "# tempauth's user\nAWS_ACCESS_KEY_ID=" + swift.accessKeyId() + "\nAWS_SECRET_ACCESS_KEY=" + swift.secretKey() + "\n");
  const std::string store = "s3://plugins?endpoint=" + swift.endpoint() + "&region=us-east-1&prefix=registry&credentials=" + (shared / "s3-credentials").string();
  fs::create_directories(shared / "plugins");
  Replica a(database, shared.path(), store), b(database, shared.path(), store), c(database, shared.path(), store + "&presign=60");
  for (Replica* r : {&a, &b, &c}) ASSERT_FALSE(r->serve->port.empty()) << r->log();

  // Published through A (with a client entry: a bundle and its compressed copies go to the store too).
  const std::string alice = token(database, shared, "alice", "publish");
  const fs::path src = shared / "src" / "widget";
  test::writeFile(src / "plugin.json", json{{"id", "widget"}, {"name", "Widget"}, {"version", "1.0.0"}, {"description", "A widget"}}.dump());
  test::writeFile(src / "server.js", "export default function () {}\n");
  test::writeFile(src / "client.js", "export default function (api) { api.log('widget ' + '" + std::string(2000, 'w') + "'); }\n");
  fs::create_directories(shared / "out");
  auto packed = packFolder(src.string(), (shared / "out").string());
  ASSERT_TRUE(packed.ok()) << packed.error().message;
  const std::string bytes = test::readFile(packed->path);
  auto published = publish(a, alice, bytes);
  ASSERT_EQ(published.status, 201) << published.body << a.log();

  // B reads the bytes from the store; C hands out a presigned URL to them.
  ASSERT_GE(timeUntil([&] { return request("GET", b.base() + "/api/plugins/widget").status == 200; }, std::chrono::milliseconds(2000)).count(), 0);
  auto fromB = request("GET", b.base() + "/download/widget/1.0.0");
  ASSERT_EQ(fromB.status, 200) << fromB.body << b.log();
  EXPECT_TRUE(fromB.body == bytes) << "B's download differs from the bytes published (" << fromB.body.size() << " vs " << bytes.size() << ")";
  auto ranged = request("GET", b.base() + "/download/widget/1.0.0", "", {{"Range", "bytes=10-19"}});
  EXPECT_EQ(ranged.status, 206);
  EXPECT_EQ(ranged.body, bytes.substr(10, 10));
  timeUntil([&] { return request("GET", c.base() + "/api/plugins/widget").status == 200; }, std::chrono::milliseconds(2000));
  auto redirect = request("GET", c.base() + "/download/widget/1.0.0");
  ASSERT_EQ(redirect.status, 302) << redirect.body;
  const std::string location = redirect.header("location");
  EXPECT_NE(location.find("X-Amz-Signature="), std::string::npos) << location;
  EXPECT_EQ(redirect.header("cache-control"), "no-store");
  auto presigned = request("GET", location);
  EXPECT_EQ(presigned.status, 200) << location << "\n" << presigned.body;
  EXPECT_TRUE(presigned.body == bytes) << "the presigned URL served other bytes";
  std::string forged = location;
  forged.replace(forged.find("X-Amz-Signature=") + 16, 4, "0000");
  EXPECT_EQ(request("GET", forged).status, 403) << "a changed signature was accepted";

  // The client bundle, from the store, compressed as the browser asks.
  auto meta = json::parse(request("GET", b.base() + "/api/plugins/widget/1.0.0").body, nullptr, false);
  ASSERT_TRUE(meta.is_object());
  const std::string bundleUrl = meta.value("bundle_url", "");
  ASSERT_FALSE(bundleUrl.empty()) << meta.dump();
  auto bundle = request("GET", b.base() + bundleUrl, "", {{"Accept-Encoding", "br"}});
  EXPECT_EQ(bundle.status, 200) << bundleUrl << " " << bundle.body;
  EXPECT_EQ(bundle.header("content-encoding"), "br");
  auto plain = request("GET", b.base() + bundleUrl, "", {{"Accept-Encoding", "identity"}});
  EXPECT_EQ(plain.status, 200);
  EXPECT_NE(plain.body.find("widget"), std::string::npos) << plain.body.substr(0, 200);

  // The store checks what it is given: bytes whose SHA-256 is not the one signed are refused.
  http::ClientRequest corrupt;
  corrupt.method = "PUT";
  corrupt.url = swift.endpoint() + "/plugins/registry/corrupt.zip";
  corrupt.body = "the bytes sent";
  corrupt.headers = {{"x-amz-content-sha256", sha256Hex("the bytes meant")}};
  corrupt.sigV4 = {"aws:amz:us-east-1:s3", swift.accessKeyId(), swift.secretKey()};
  auto refused = http::fetch(corrupt);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 400) << refused->body;
  EXPECT_NE(refused->body.find("BadDigest"), std::string::npos) << refused->body;

  // Garbage: bytes of a publish that died before its row. Young, they stay; past the grace, they go; what a version refers to stays.
  auto direct = openBlobStore(store);
  ASSERT_TRUE(direct.ok()) << direct.error().message;
  const std::string orphan = sha256Hex("orphan");
  ASSERT_TRUE((*direct)->put(orphan.substr(0, 2) + "/" + orphan + ".zip", "orphan").ok());
  auto young = test::run(test::patchbayBinary() + " registry gc --data " + (shared / "gc").string() + " --database " + database + " --blobs '" + store + "' --json");
  ASSERT_EQ(young.exitCode, 0) << young.output;
  EXPECT_EQ(json::parse(young.output)["removed"], 0) << young.output;
  // S3 times have whole seconds, rounded up (Swift's are): at grace 0 the
  // orphan is garbage once its stored time has passed.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto swept = test::run(test::patchbayBinary() + " registry gc --data " + (shared / "gc").string() + " --database " + database + " --blobs '" + store +
                         "' --grace 0 --json");
  ASSERT_EQ(swept.exitCode, 0) << swept.output;
  json sweptJson = json::parse(swept.output);
  EXPECT_EQ(sweptJson["keys"], json::array({orphan.substr(0, 2) + "/" + orphan + ".zip"})) << swept.output;
  auto stillThere = (*direct)->exists(orphan.substr(0, 2) + "/" + orphan + ".zip");
  ASSERT_TRUE(stillThere.ok()) << stillThere.error().message;
  EXPECT_FALSE(*stillThere);
  auto after = request("GET", b.base() + "/download/widget/1.0.0");
  EXPECT_EQ(after.status, 200);
  EXPECT_TRUE(after.body == bytes) << "garbage collection took a version's bytes";
}

// deploy/nginx/patchbay-registry.conf, as written, in front of two replicas.
// Issue 16's fault tests 1 and 2, with the bytes in S3: a publish visible
// through the cache within 2 s, byte-identical downloads from both
// replicas, kill -9 of one under read load with no failed GET, the publish
// after it made once, and no row without its bytes in the store. Then the
// store itself, as above.
TEST_F(ClusterRegistryOnS3, NginxCachesInFrontOfTwoReplicasAndTheStoreKeepsTheBytes) {
  Replica& a = *this->a;
  Replica& b = *this->b;
  test::NginxServer nginx(fs::path(PATCHBAY_SOURCE_DIR) / "deploy/nginx/patchbay-registry.conf",
                          {{"127.0.0.1:8081", "127.0.0.1:" + a.serve->port}, {"127.0.0.1:8082", "127.0.0.1:" + b.serve->port}},
                          "127.0.0.1:8080", "/var/cache/nginx/patchbay");
  ASSERT_TRUE(nginx.ok()) << nginx.error();
  const std::string alice = token(database, shared, "alice", "publish");
  auto viaNginx = [&](const std::string& path, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return request("GET", nginx.base() + path, "", std::move(headers));
  };

  // A listing cached before the publish…
  EXPECT_EQ(viaNginx("/api/plugins").body, "[]");
  // …shows the package within 2 s of its publish through the cache.
  const std::string notes = package(shared, "notes", "1.0.0");
  auto published = request("POST", nginx.base() + "/api/plugins", notes, {{"Authorization", "Bearer " + alice}, {"Content-Type", "application/zip"}});
  ASSERT_EQ(published.status, 201) << published.body;
  const auto listed = timeUntil([&] { return viaNginx("/api/plugins").body.find("\"notes\"") != std::string::npos; }, std::chrono::seconds(3));
  EXPECT_LT(listed.count(), 2000) << "the cache hid the publish";
  // The next version too, on a plugin's own page that is cached by now.
  EXPECT_EQ(viaNginx("/api/plugins/notes").status, 200);
  ASSERT_EQ(publish(b, alice, package(shared, "notes", "1.1.0")).status, 201);
  const auto newer = timeUntil([&] { return viaNginx("/api/plugins/notes").body.find("1.1.0") != std::string::npos; }, std::chrono::seconds(3));
  EXPECT_LT(newer.count(), 2000);

  // Downloads: cached after the first, the published bytes from both replicas and the cache.
  auto first = viaNginx("/download/notes/1.0.0"), second = viaNginx("/download/notes/1.0.0");
  EXPECT_EQ(first.body, notes);
  EXPECT_EQ(second.body, notes);
  EXPECT_EQ(second.header("x-cache-status"), "HIT");
  EXPECT_EQ(request("GET", a.base() + "/download/notes/1.0.0").body, notes);
  EXPECT_EQ(request("GET", b.base() + "/download/notes/1.0.0").body, notes);
  // "latest" moves: never cached as if immutable.
  EXPECT_NE(viaNginx("/download/notes/latest").header("x-cache-status"), "HIT");
  // Credentials bypass the cache both ways.
  viaNginx("/api/admin/status", {{"Authorization", "Bearer " + alice}});
  EXPECT_EQ(viaNginx("/api/admin/status", {{"Authorization", "Bearer " + alice}}).header("x-cache-status"), "BYPASS");

  // kill -9 a replica under read load: no GET through nginx fails. The
  // reads miss the cache (each asks for a new query), so they reach the replicas.
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, failed{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        auto r = viaNginx("/api/plugins?q=notes&reader=" + std::to_string(t) + "-" + std::to_string(i));
        ++sent;
        if (r.status != 200) ++failed;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ::kill(a.serve->pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_GT(sent.load(), 50);
  EXPECT_EQ(failed.load(), 0) << "of " << sent.load() << " GETs through nginx";
  // A publish after the kill succeeds once; its retry is the same bytes again.
  const std::string v2 = package(shared, "notes", "2.0.0");
  EXPECT_EQ(request("POST", nginx.base() + "/api/plugins", v2, {{"Authorization", "Bearer " + alice}, {"Content-Type", "application/zip"}}).status, 201);
  EXPECT_EQ(request("POST", nginx.base() + "/api/plugins", v2, {{"Authorization", "Bearer " + alice}, {"Content-Type", "application/zip"}}).status, 200);
  // No row points at missing bytes: each version's are in the store, and downloads from the survivor.
  auto store = openBlobStore(blobs);
  ASSERT_TRUE(store.ok()) << store.error().message;
  for (const char* version : {"1.0.0", "1.1.0", "2.0.0"}) {
    auto meta = json::parse(request("GET", b.base() + "/api/plugins/notes/" + std::string(version)).body, nullptr, false);
    ASSERT_TRUE(meta.is_object()) << version;
    const std::string sha = meta.value("sha256", "");
    ASSERT_EQ(sha.size(), 64u) << meta.dump();
    auto there = (*store)->exists(sha.substr(0, 2) + "/" + sha + ".zip");
    ASSERT_TRUE(there.ok()) << there.error().message;
    EXPECT_TRUE(*there) << version << "'s row points at bytes the store does not have";
    EXPECT_EQ(request("GET", b.base() + "/download/notes/" + version).status, 200) << version;
  }

  // PostgreSQL restarts under read load (fault 3): every GET through nginx
  // is answered (its cache, and the survivor's snapshot behind it); a
  // publish through nginx fails fast with 503 and when to retry; publishing
  // works again within 5 s of the database's return.
  stop = false;
  sent = 0;
  failed = 0;
  readers.clear();
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      const char* paths[] = {"/api/plugins/notes", "/download/notes/1.1.0", "/api/plugins", "/api/plugins/notes/2.0.0"};
      for (int i = 0; !stop; ++i) {
        auto r = viaNginx(paths[(i + t) % 4]);
        ++sent;
        if (r.status != 200) ++failed;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  pg.stop();
  const std::string v3 = package(shared, "notes", "3.0.0");
  const auto refusedAt = Clock::now();
  auto refused = request("POST", nginx.base() + "/api/plugins", v3, {{"Authorization", "Bearer " + alice}, {"Content-Type", "application/zip"}});
  const auto refusedAfter = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - refusedAt);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_FALSE(refused.header("retry-after").empty()) << "a 503 without Retry-After";
  EXPECT_LT(refusedAfter.count(), 2000) << "a write waited for the database";
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_TRUE(pg.start());
  const auto back = timeUntil(
      [&] {
        return request("POST", nginx.base() + "/api/plugins", v3, {{"Authorization", "Bearer " + alice}, {"Content-Type", "application/zip"}}).status == 201;
      },
      std::chrono::seconds(5));
  EXPECT_LT(back.count(), 5000) << "publishing did not come back within 5 s\n" << b.log();
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_GT(sent.load(), 20);
  EXPECT_EQ(failed.load(), 0) << "of " << sent.load() << " GETs through nginx while PostgreSQL restarted";

  replicasKeepTheirBytesInAnS3Store(pg, swift);
}

// AWS's own example of a presigned URL ("Authenticating Requests: Using
// Query Parameters", GET /test.txt from examplebucket, 2013-05-24, 86400 s).
TEST(BlobStoreTest, PresignedUrlsAreSignedAsAwsDocumentsThem) {
  std::tm tm{};
  tm.tm_year = 2013 - 1900;
  tm.tm_mon = 4;
  tm.tm_mday = 24;
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  const std::string url = presignS3Get("https://examplebucket.s3.amazonaws.com/test.txt", "us-east-1", "AKIAIOSFODNN7EXAMPLE",
                                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", std::chrono::seconds(86400), at);
  EXPECT_EQ(url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(BlobStoreTest, BadStoreUrlsSayWhatIsWrong) {
  auto expectError = [](const std::string& spec, const std::string& part) {
    auto store = openBlobStore(spec);
    ASSERT_FALSE(store.ok()) << spec;
    EXPECT_NE(store.error().message.find(part), std::string::npos) << spec << ": " << store.error().message;
  };
  expectError("s3://?endpoint=http://127.0.0.1:1", "name a bucket");
  expectError("s3://b", "endpoint=URL is missing");
  expectError("s3://b?endpoint=ftp://x", "endpoint");
  expectError("s3://b?endpoint=http://127.0.0.1:1&presign=0", "presign=0");
  expectError("s3://b?endpoint=http://127.0.0.1:1&colour=red", "unknown parameter \"colour\"");
  expectError("s3://b?endpoint=http://127.0.0.1:1&credentials=/nonexistent/creds", "credentials=/nonexistent/creds");
  expectError("gs://b", "a folder, or s3://");
}

}  // namespace
}  // namespace patchbay
