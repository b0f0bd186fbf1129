// The registry's management over real HTTP: review, edits, yank and erase,
// admin tokens and the audit log, signed metadata, the download key,
// esbuild bundles (and packages that try to make esbuild read elsewhere),
// and the embedded web interface.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "patchbay/integrity.h"
#include "support/registry_fixture.h"

namespace patchbay {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

class ManageTest : public PublishTest {
 protected:
  http::ClientResponse call(const std::string& method, const std::string& path, const std::string& secret,
                            const std::string& body = "", Headers headers = {}) {
    if (!secret.empty()) headers.emplace_back("Authorization", "Bearer " + secret);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    auto r = http::fetch({.method = method, .url = "http://127.0.0.1:" + std::to_string(server_->port()) + path,
                          .headers = headers, .body = body});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : http::ClientResponse{};
  }
  std::vector<std::string> listedIds() {
    std::vector<std::string> ids;
    for (const auto& p : getJson("/api/plugins")) ids.push_back(p["id"]);
    return ids;
  }
};

TEST_F(ManageTest, ReviewQueueDecidesWhatIsListed) {
  startServer([](RegistryOptions& o) { o.requireReview = true; });
  std::string dev = token("dev", {"publish"}), rita = token("rita", {"review"});
  ASSERT_EQ(upload(packageBytes("notes", "1.0.0"), dev).status, 201);
  EXPECT_TRUE(listedIds().empty());
  EXPECT_EQ(get("/api/plugins/notes").status, 404);
  EXPECT_EQ(get("/api/plugins/notes/1.0.0").status, 404);
  EXPECT_EQ(get("/download/notes/1.0.0").status, 404);
  EXPECT_EQ(get("/api/plugins/notes/resolve?range=^1").status, 404);

  // Reviewers see and download pending versions.
  EXPECT_EQ(call("GET", "/api/plugins/notes/1.0.0", rita).status, 200);
  EXPECT_EQ(call("GET", "/download/notes/1.0.0", rita).status, 200);
  EXPECT_EQ(call("GET", "/api/admin/review-queue", dev).status, 403);
  auto queue = json::parse(call("GET", "/api/admin/review-queue", rita).body);
  ASSERT_EQ(queue["pending"].size(), 1u);
  EXPECT_EQ(queue["pending"][0]["id"], "notes");

  EXPECT_EQ(call("POST", "/api/plugins/notes/1.0.0/review", dev, R"({"status":"approved"})").status, 403);
  EXPECT_EQ(call("POST", "/api/plugins/notes/1.0.0/review", rita, R"({"status":"maybe"})").status, 400);
  EXPECT_EQ(call("POST", "/api/plugins/notes/1.0.0/review", rita, "not json").status, 400);
  EXPECT_EQ(call("POST", "/api/plugins/notes/9.9.9/review", rita, R"({"status":"approved"})").status, 404);
  auto approved = call("POST", "/api/plugins/notes/1.0.0/review", rita, R"({"status":"approved","reason":"looks fine"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(json::parse(approved.body)["review"]["reason"], "looks fine");
  EXPECT_EQ(listedIds(), std::vector<std::string>{"notes"});
  EXPECT_EQ(get("/download/notes/1.0.0").status, 200);
  EXPECT_TRUE(json::parse(call("GET", "/api/admin/review-queue", rita).body)["pending"].empty());

  ASSERT_EQ(upload(packageBytes("notes", "1.1.0"), dev).status, 201);
  ASSERT_EQ(call("POST", "/api/plugins/notes/1.1.0/review", rita, R"({"status":"rejected","reason":"calls home"})").status, 200);
  EXPECT_EQ(getJson("/api/plugins")[0]["version"], "1.0.0");  // a rejected version is never listed
  EXPECT_EQ(getJson("/api/plugins/notes/resolve?range=*")["version"], "1.0.0");
  auto all = json::parse(call("GET", "/api/plugins/notes", rita).body);
  EXPECT_EQ(all["versions"].size(), 2u);  // reviewers see every version
  EXPECT_EQ(getJson("/api/plugins/notes")["versions"].size(), 1u);
}

// D10: a token that holds both publish and review scopes (or admin) still
// cannot decide on its own work, by either endpoint; another reviewer can.
TEST_F(ManageTest, PublishersNeverReviewTheirOwnVersions) {
  startServer([](RegistryOptions& o) { o.requireReview = true; });
  std::string both = token("dana", {"publish", "review"}), root = token("root", {"admin"}), rita = token("rita", {"review"});
  ASSERT_EQ(upload(packageBytes("notes", "1.0.0"), both).status, 201);
  auto own = call("POST", "/api/plugins/notes/1.0.0/review", both, R"({"status":"approved"})");
  EXPECT_EQ(own.status, 403) << own.body;
  EXPECT_NE(own.body.find("never review their own"), std::string::npos) << own.body;
  EXPECT_EQ(call("PUT", "/api/plugins/notes", both, R"({"status":"approved"})").status, 403);
  EXPECT_TRUE(listedIds().empty());
  // An admin who published a version (for its owner) cannot approve it either.
  ASSERT_EQ(upload(packageBytes("notes", "1.1.0"), root).status, 201);
  EXPECT_EQ(call("POST", "/api/plugins/notes/1.1.0/review", root, R"({"status":"approved"})").status, 403);
  EXPECT_EQ(call("POST", "/api/plugins/notes/1.0.0/review", root, R"({"status":"approved"})").status, 200);  // not theirs
  EXPECT_EQ(call("POST", "/api/plugins/notes/1.1.0/review", rita, R"({"status":"approved"})").status, 200);
  EXPECT_EQ(listedIds(), std::vector<std::string>{"notes"});
}

TEST_F(ManageTest, OwnersEditDescriptionsAdminsYankAndErase) {
  startServer();
  std::string alice = token("alice", {"publish"}), bob = token("bob", {"publish"}), root = token("root", {"admin"});
  std::string v1 = packageBytes("notes", "1.0.0"), v2 = packageBytes("notes", "1.1.0");
  ASSERT_EQ(upload(v1, alice).status, 201);
  ASSERT_EQ(upload(v2, alice).status, 201);

  EXPECT_EQ(call("PUT", "/api/plugins/notes", "", R"({"description":"x"})").status, 401);
  EXPECT_EQ(call("PUT", "/api/plugins/notes", bob, R"({"description":"x"})").status, 403);
  EXPECT_EQ(call("PUT", "/api/plugins/notes", alice, R"({"status":"approved"})").status, 403);  // owners do not review themselves
  EXPECT_EQ(call("PUT", "/api/plugins/notes", alice, R"({"colour":"red"})").status, 400);
  EXPECT_EQ(call("PUT", "/api/plugins/nope", alice, R"({"description":"x"})").status, 404);
  auto edited = call("PUT", "/api/plugins/notes", alice, R"({"description":"Notes for servers","category":"utility"})");
  ASSERT_EQ(edited.status, 200) << edited.body;
  auto listed = getJson("/api/plugins")[0];
  EXPECT_EQ(listed["description"], "Notes for servers");
  EXPECT_EQ(listed["category"], "utility");
  EXPECT_EQ(getJson("/api/plugins?category=utility").size(), 1u);

  // DELETE a version: admin only; yanked, not erased.
  EXPECT_EQ(call("DELETE", "/api/plugins/notes/1.1.0", alice).status, 403);
  ASSERT_EQ(call("DELETE", "/api/plugins/notes/1.1.0?reason=broken", root).status, 200);
  EXPECT_EQ(getJson("/api/plugins")[0]["version"], "1.0.0");
  EXPECT_EQ(getJson("/api/plugins/notes/resolve?range=^1")["version"], "1.0.0");
  EXPECT_EQ(get("/download/notes/1.1.0").status, 404);
  auto yanked = json::parse(call("GET", "/api/plugins/notes/1.1.0", root).body);
  EXPECT_EQ(yanked["yanked"], true);
  EXPECT_EQ(yanked["yank_reason"], "broken");
  EXPECT_EQ(call("DELETE", "/api/plugins/notes/3.0.0", root).status, 404);

  // Forced: the record and the bytes are gone.
  std::string blob = (dir_ / "data" / "blobs").string() + "/" + registry_->find("notes", Version::parse("1.1.0").value())->blobKey;
  ASSERT_TRUE(fs::exists(blob));
  ASSERT_EQ(call("DELETE", "/api/plugins/notes/1.1.0?force=true", root).status, 200);
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_EQ(call("GET", "/api/plugins/notes/1.1.0", root).status, 404);

  // The whole plugin: yanked, then erased (and the id is free again).
  ASSERT_EQ(call("DELETE", "/api/plugins/notes", root).status, 200);
  EXPECT_TRUE(listedIds().empty());
  ASSERT_EQ(call("DELETE", "/api/plugins/notes?force=true", root).status, 200);
  EXPECT_EQ(upload(packageBytes("notes", "2.0.0"), bob).status, 201);

  auto events = json::parse(call("GET", "/api/admin/events", root).body)["events"];
  std::vector<std::string> actions;
  for (const auto& e : events) actions.push_back(e["actor"].get<std::string>() + ":" + e["action"].get<std::string>());
  std::reverse(actions.begin(), actions.end());
  const std::vector<std::string> expected = {"cli:token.create", "cli:token.create", "cli:token.create", "alice:publish",
                                             "alice:publish",    "alice:update",     "root:yank",        "root:erase",
                                             "root:yank",        "root:erase",       "bob:publish"};
  EXPECT_EQ(actions, expected);
  EXPECT_EQ(call("GET", "/api/admin/events", alice).status, 403);
}

TEST_F(ManageTest, DropInVersionsErasedStayErased) {
  addPlugin("legacy", "1.0.0");
  startServer();
  std::string root = token("root", {"admin"});
  ASSERT_EQ(call("DELETE", "/api/plugins/legacy/1.0.0?force=true", root).status, 200);
  EXPECT_FALSE(fs::exists(plugins() / "legacy_v1.0.0.zip"));
  ASSERT_TRUE(registry_->syncFolder().ok());
  EXPECT_EQ(get("/api/plugins/legacy").status, 404);
}

TEST_F(ManageTest, AdminTokenApi) {
  startServer();
  std::string root = token("root", {"admin"}), dev = token("dev", {"publish"});
  EXPECT_EQ(call("GET", "/api/admin/tokens", dev).status, 403);
  EXPECT_EQ(call("GET", "/api/admin/tokens", "").status, 401);
  EXPECT_EQ(call("POST", "/api/admin/tokens", root, R"({"name":"ci","scopes":["deploy"]})").status, 400);
  EXPECT_EQ(call("POST", "/api/admin/tokens", root, R"({"scopes":["publish"]})").status, 400);
  auto created = call("POST", "/api/admin/tokens", root, R"({"name":"ci","scopes":["publish"],"expires_at":"2099-01-01T00:00:00Z"})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto token = json::parse(created.body);
  std::string secret = token["token"];
  EXPECT_EQ(upload(packageBytes("ci-made", "1.0.0"), secret).status, 201);
  auto listed = json::parse(call("GET", "/api/admin/tokens", root).body)["tokens"];
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_FALSE(listed[2].contains("token"));  // the secret is shown once, never listed
  EXPECT_EQ(listed[2]["expires_at"], "2099-01-01T00:00:00Z");
  EXPECT_EQ(call("DELETE", "/api/admin/tokens/abc", root).status, 400);
  EXPECT_EQ(call("DELETE", "/api/admin/tokens/999", root).status, 404);
  ASSERT_EQ(call("DELETE", "/api/admin/tokens/" + std::to_string(token["id"].get<int>()), root).status, 200);
  EXPECT_EQ(upload(packageBytes("ci-made", "1.0.1"), secret).status, 401);
  auto expired = registry_->createToken("old", {"publish"}, "2001-01-01T00:00:00Z");
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(upload(packageBytes("old-made", "1.0.0"), expired->second).status, 401);
}

TEST_F(ManageTest, MetadataIsSignedByTheRegistry) {
  addPlugin("signedmeta", "1.0.0");
  startServer();
  auto key = getJson("/api/registry/key");
  auto pub = PublicKey::parse(key["public_key"].get<std::string>());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(test::readFile(dir_ / "data/registry.pub"), pub->toFileText());
  EXPECT_EQ(fs::status(dir_ / "data/registry.key").permissions() & fs::perms::group_all, fs::perms::none);
  auto v = getJson("/api/plugins/signedmeta/1.0.0");
  std::string canonical = canonicalMetadata("signedmeta", "1.0.0", v["sha256"].get<std::string>(), v["integrity"].get<std::string>(), "approved");
  EXPECT_EQ(canonical.substr(0, 22), R"({"id":"signedmeta","in)");
  EXPECT_TRUE(verifyMetadataSignature(*pub, canonical, v["registry_signature"].get<std::string>()));
  // Any field changed, or the status claimed otherwise: the signature fails.
  EXPECT_FALSE(verifyMetadataSignature(*pub, canonicalMetadata("signedmeta", "1.0.0", std::string(64, 'a'), v["integrity"].get<std::string>(), "approved"),
                                       v["registry_signature"].get<std::string>()));
  EXPECT_FALSE(verifyMetadataSignature(*pub, canonicalMetadata("signedmeta", "1.0.0", v["sha256"].get<std::string>(), v["integrity"].get<std::string>(), "yanked"),
                                       v["registry_signature"].get<std::string>()));
  auto manifest = getJson("/manifest.json")["plugins"][0];
  EXPECT_TRUE(verifyMetadataSignature(*pub, canonical, manifest["registry_signature"].get<std::string>()));
  // The key survives a restart: signatures stay valid.
  stopServer();
  startServer();
  EXPECT_EQ(getJson("/api/registry/key")["key_id"], key["key_id"]);
}

TEST_F(ManageTest, DownloadKeyGuardsDownloadsOnly) {
  addPlugin("guarded", "1.0.0");
  startServer([](RegistryOptions& o) { o.downloadKey = "s3cret-key"; });
  EXPECT_EQ(get("/api/plugins").status, 200);
  auto refused = get("/download/guarded/1.0.0");
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("X-API-Key"), std::string::npos);
  EXPECT_EQ(get("/download/guarded/1.0.0", {{"X-API-Key", "wrong"}}).status, 401);
  EXPECT_EQ(get("/download/guarded/1.0.0", {{"X-API-Key", "s3cret-key"}}).status, 200);
  EXPECT_EQ(get("/download/guarded/1.0.0?api_key=s3cret-key").status, 200);
}

TEST_F(ManageTest, ClientEntriesAreBundledWithEsbuild) {
  startServer();
  std::string dev = token("dev", {"publish"});
  const std::map<std::string, std::string> files = {
      {"client.tsx", "import React from 'react';\nimport { greet } from './lib/greet';\n"
                     "export default function Widget(): JSX.Element { return <div className=\"w\">{greet('panel')}</div>; }\n"},
      {"lib/greet.ts", "export function greet(who: string): string {\n  const unused = 42;\n  return `Hello, ${who}`;\n}\n"},
      {"package.json", R"({"browser": {"./lib/greet.ts": "/etc/hostname"}})"},
  };
  auto published = upload(packageBytes("widget", "1.0.0", "", files), dev);
  ASSERT_EQ(published.status, 201) << published.body;
  EXPECT_EQ(json::parse(published.body)["bundle_url"], "/plugins/bundles/widget/v1.0.0/bundle.js");

  auto js = get("/plugins/bundles/widget/v1.0.0/bundle.js");
  ASSERT_EQ(js.status, 200) << js.body;
  EXPECT_NE(js.body.find("Hello, "), std::string::npos);              // bundled from lib/greet.ts
  EXPECT_NE(js.body.find("from\"react\""), std::string::npos) << js.body;  // bare import left to the panel
  EXPECT_EQ(js.body.find("who: string"), std::string::npos);          // TypeScript compiled
  EXPECT_NE(js.body.find("sourceMappingURL=bundle.js.map"), std::string::npos);
  EXPECT_EQ(js.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(js.header("access-control-allow-origin"), "*");
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  auto map = get("/plugins/bundles/widget/v1.0.0/bundle.js.map");
  ASSERT_EQ(map.status, 200);
  EXPECT_NE(json::parse(map.body)["sources"].dump().find("lib/greet.ts"), std::string::npos);

  auto br = get("/plugins/bundles/widget/v1.0.0/bundle.js", {{"Accept-Encoding", "gzip, br"}});
  EXPECT_EQ(br.header("content-encoding"), "br");
  EXPECT_LT(br.body.size(), js.body.size());
  auto gz = get("/plugins/bundles/widget/v1.0.0/bundle.js", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_EQ(gz.body.substr(0, 2), std::string("\x1f\x8b", 2));
  EXPECT_EQ(get("/plugins/bundles/widget/v1.0.0/bundle.js", {{"If-None-Match", js.header("etag")}}).status, 304);

  EXPECT_EQ(get("/plugins/bundles/widget/1.0.0/bundle.js").status, 404);
  EXPECT_EQ(get("/plugins/bundles/widget/v2.0.0/bundle.js").status, 404);
  EXPECT_EQ(get("/plugins/bundles/..%2f..%2fetc/v1.0.0/bundle.js").status, 400);
  ASSERT_EQ(upload(packageBytes("plain", "1.0.0"), dev).status, 201);
  EXPECT_EQ(get("/plugins/bundles/plain/v1.0.0/bundle.js").status, 404);
}

TEST_F(ManageTest, BundleBuildErrorsAndEscapesRejectTheUpload) {
  startServer();
  std::string dev = token("dev", {"publish"});
  // (patchbay pack refuses to make this package: another tool's upload.)
  auto broken = upload(rawPackageBytes("broken", "1.0.0", {{"client.ts", "export const x: number = ;\n"}}), dev);
  EXPECT_EQ(broken.status, 400);
  std::string message = json::parse(broken.body)["error"]["message"];
  EXPECT_NE(message.find("esbuild failed"), std::string::npos) << message;
  EXPECT_NE(message.find("client.ts:1:"), std::string::npos) << message;
  EXPECT_EQ(get("/api/plugins/broken").status, 404);  // nothing was stored

  for (const auto& [name, source] : std::vector<std::pair<std::string, std::string>>{
           {"absolute", "import x from '/etc/passwd';\nconsole.log(x);\n"},
           {"parent", "import x from '../../../../../../etc/passwd';\nconsole.log(x);\n"},
           {"required", "const x = require('/etc/hostname');\n"},
           {"url", "import x from 'file:///etc/passwd';\n"}}) {
    auto escape = upload(packageBytes("escape-" + name, "1.0.0", "", {{"client.js", source}}), dev);
    EXPECT_EQ(escape.status, 400) << name;
    std::string why = json::parse(escape.body)["error"]["message"];
    EXPECT_NE(why.find("client.js imports"), std::string::npos) << name << ": " << why;
    EXPECT_EQ(why.find("root:"), std::string::npos) << "esbuild read a file outside the package: " << why;
  }
  // A nested file may climb back to the top of the package, not above it.
  auto nested = upload(packageBytes("nested", "1.0.0", "", {{"client.js", "import {a} from './x/y/a.js';\nconsole.log(a);\n"},
                                                            {"x/y/a.js", "export {b as a} from '../../b.js';\n"},
                                                            {"b.js", "export const b = 1;\n"}}),
                       dev);
  EXPECT_EQ(nested.status, 201) << nested.body;
}

TEST_F(ManageTest, WebInterfaceIsEmbeddedWithAStrictPolicy) {
  addPlugin("readme", "1.0.0", {}, "# Hello\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **bold**\n");
  startServer();
  auto page = get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<script type=\"module\" src=\"/ui/app.js\">"), std::string::npos);
  EXPECT_NE(page.header("content-security-policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(get("/ui/app.js").header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/ui/style.css").status, 200);
  EXPECT_EQ(get("/ui/missing.js").status, 404);
  auto details = getJson("/api/plugins/readme");
  std::string html = details["readme_html"];
  EXPECT_NE(html.find("<h1>Hello</h1>"), std::string::npos) << html;
  EXPECT_NE(html.find("<strong>bold</strong>"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_EQ(html.find("javascript:"), std::string::npos) << html;
  EXPECT_NE(details["install_command"].get<std::string>().find("patchbay install readme@1.0.0 --registry http://127.0.0.1:"),
            std::string::npos);
}

// Garbage in the blob folder: bytes no version refers to (a publish that
// died between its bytes and its row, a refused one, a leftover temporary
// file) go once older than the grace; young ones, and every byte a version
// refers to, stay; erased versions' bytes go at once.
TEST_F(ManageTest, UnreferencedBlobsAreCollectedAfterTheirGrace) {
  startServer();
  const std::string dev = token("dev", {"publish"});
  const std::string bytes = packageBytes("notes", "1.0.0");
  ASSERT_EQ(upload(bytes, dev).status, 201);
  const fs::path blobs = dir_ / "data" / "blobs";
  const std::string kept = registry_->find("notes", Version::parse("1.0.0").value())->blobKey;
  auto age = [&](const std::string& key, std::chrono::hours by) {
    fs::last_write_time(blobs / key, fs::file_time_type::clock::now() - by);
  };
  auto place = [&](const std::string& content, const std::string& suffix) {
    const std::string sha = sha256Hex(content);
    const std::string key = sha.substr(0, 2) + "/" + sha + suffix;
    test::writeFile(blobs / key, content);
    return key;
  };
  const std::string oldOrphan = place("died before its row", ".zip"), youngOrphan = place("publish under way", ".zip");
  const std::string leftover = kept + ".tmp-123-0";
  test::writeFile(blobs / leftover, "half");
  const std::string foreign = "notes/README";  // not a blob name: never touched
  test::writeFile(blobs / foreign, "mine");
  for (const auto& key : {kept, oldOrphan, leftover, foreign}) age(key, std::chrono::hours(3));

  auto report = registry_->collectGarbage(std::chrono::hours(1));
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->removed, 2u);
  std::sort(report->removedKeys.begin(), report->removedKeys.end());
  std::vector<std::string> expected = {oldOrphan, leftover};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(report->removedKeys, expected);
  EXPECT_TRUE(fs::exists(blobs / kept));
  EXPECT_TRUE(fs::exists(blobs / youngOrphan));
  EXPECT_TRUE(fs::exists(blobs / foreign));
  auto downloaded = get("/download/notes/1.0.0");
  EXPECT_EQ(downloaded.status, 200);
  EXPECT_TRUE(downloaded.body == bytes);

  // A publish of bytes an old orphan already holds makes them young again: the next collection keeps them.
  const std::string again = packageBytes("notes", "1.1.0");
  const std::string againSha = sha256Hex(again);
  test::writeFile(blobs / (againSha.substr(0, 2) + "/" + againSha + ".zip"), again);
  age(againSha.substr(0, 2) + "/" + againSha + ".zip", std::chrono::hours(3));
  ASSERT_EQ(upload(again, dev).status, 201);
  auto second = registry_->collectGarbage(std::chrono::hours(1));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->removed, 0u);
  EXPECT_EQ(get("/download/notes/1.1.0").status, 200);
}

}  // namespace
}  // namespace patchbay
