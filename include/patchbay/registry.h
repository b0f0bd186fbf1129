// patchbay/registry.h — the plugin registry of seeds 000, 001 and 003.
//
// The catalog's source of truth is a SQLite database in the data folder
// (or PostgreSQL, shared by replicas: RegistryOptions::database);
// package bytes live in a content-addressed blob folder next to it
// (blobs/<sha256[0:2]>/<sha256>.zip), so a served file never changes under
// a reader. Reads are answered from an immutable in-memory snapshot of the
// catalog that is rebuilt after every change.
//
// Seed 000's drop-in folder: every {id}_v{version}.zip in pluginsDir is
// served. syncFolder() (run every second by serve()) picks up added,
// changed and removed files; it reads the folder only when inotify saw a
// change or the catalog changed, and every 10 s on file systems whose
// events may miss changes (RegistryOptions::folderFullScanEvery). A zip
// without a manifest is served with a name derived from its id
// ("ai_chatbot" -> "Ai Chatbot"); a file that fails the package checks is
// listed in folderProblems() and never served.
//
// Thread-safe: queries may run on any thread while syncFolder() runs.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "patchbay/http.h"
#include "patchbay/metrics.h"
#include "patchbay/result.h"
#include "patchbay/semver.h"
#include "patchbay/signature.h"
#include "patchbay/tokens.h"

namespace patchbay {

// How far a folder scan that imports files has come: `imported` of
// `toImport` files checked (a first start over a large folder takes a
// while: ~1 ms a file).
struct FolderProgress {
  size_t imported = 0;
  size_t toImport = 0;
};

struct RegistryOptions {
  std::string dataDir;     // registry.db and blobs/; created if missing
  std::string pluginsDir;  // seed 000's drop-in folder; empty: none
  // inotify tells at once when the folder changes. On a network, FUSE or
  // overlay file system, where a change made elsewhere sends no event, a
  // full scan (a stat() of every file) also comes this often; on a local
  // one (ext4, xfs, btrfs, tmpfs, ...) never. The files are compared with
  // the catalog's rows only when a file or the catalog changed.
  std::chrono::seconds folderFullScanEvery{10};
  // Told every `folderProgressEvery` while a scan imports files, and once
  // at its end if it was told before (short scans say nothing). Runs on
  // the scanning thread.
  std::function<void(const FolderProgress&)> onFolderProgress;
  std::chrono::milliseconds folderProgressEvery{2000};
  // Uploads must carry a minisign signature by one of these keys; empty:
  // signatures are checked when present but not required.
  std::vector<PublicKey> trustedKeys;
  // New uploads start "pending" until reviewed; otherwise "approved".
  bool requireReview = false;
  // Downloads need this key in X-API-Key (or ?api_key=) when set (seed
  // 000's "API key authentication for downloads"). Empty: open downloads.
  std::string downloadKey;
  // The largest package an upload may carry (413 above it, refused before
  // it is read). Every other endpoint takes the server's default (1 MiB).
  uint64_t maxUploadBytes = 50ull << 20;
  // Where the catalog lives: "" is registry.db in dataDir; a postgresql://
  // URL puts it in that database (schema patchbay_registry), where any
  // number of replicas share it (docs/scale.md): tokens, the audit log, the
  // signing key and download counts included. Each replica's snapshot
  // follows the others' changes within a second (LISTEN/NOTIFY, and a
  // generation re-read by refresh()).
  std::string database;
  // Where package and bundle bytes are kept: a folder ("" is
  // dataDir/blobs), or an S3-compatible store ("s3://BUCKET?endpoint=…",
  // patchbay/blob_store.h). Replicas share one (the store, or a network
  // file system): the catalog names bytes by their SHA-256, so whichever
  // replica wrote them, every one finds them.
  std::string blobs;
  // Bytes in the store that no version refers to (a publish that died
  // between its blob and its row, an erased version) are removed once
  // they are this old (collectGarbage(), and every hour by `serve`).
  std::chrono::seconds garbageGrace{3600};
};

// One version of one plugin, as the catalog knows it.
struct PackageRecord {
  std::string id;
  Version version;
  std::string name;
  std::string description;
  std::string category;
  std::string author;
  std::string hostRange;  // the manifest's host range, "" if none
  std::string fileName;   // {id}_v{version}.zip
  uint64_t size = 0;
  std::string sha256;
  std::string integrity;  // sha512-...
  std::string status = "approved";  // pending | approved | rejected
  bool yanked = false;
  std::string source;    // "folder" or "upload"
  std::string blobKey;   // its bytes' key in the blob store (patchbay/blob_store.h)
  std::string manifestJson;  // the manifest as written ("" for manifest-less zips)
  std::string readme;
  std::string createdAt;  // ISO 8601 UTC
  uint64_t downloads = 0;  // all time, this version
  std::string owner;         // the token name that first published the id ("" for folder plugins)
  std::string reviewReason;  // the reviewer's words with the last status change
  std::string reviewedBy;
  std::string reviewedAt;
  std::string yankReason;
  std::string signature;        // the uploaded .minisig, "" if none
  std::string bundleSha256;     // the esbuild bundle of the client entry, "" if none
  std::string bundleMapSha256;  // its source map

  bool listed() const { return status == "approved" && !yanked; }
};

struct PublishResult {
  PackageRecord record;
  bool created = false;  // false: the same bytes were already there
};

struct FolderProblem {
  std::string file;
  std::string message;
};

struct CatalogQuery {
  std::string text;      // q: matched in id, name, description (case-insensitive)
  std::string category;
  std::optional<Version> host;  // only versions whose host range admits this version
  std::string sort = "name";    // name | downloads | updated
  size_t offset = 0;
  size_t limit = SIZE_MAX;
};

// One plugin in a listing: its newest listed version and all-time downloads.
struct CatalogEntry {
  const PackageRecord* record;  // points into the page's snapshot
  uint64_t downloads = 0;
};

// A view of the catalog: no record is copied. The entries stay valid as
// long as the page (which holds the snapshot they point into) lives.
struct CatalogPage {
  std::vector<CatalogEntry> items;  // one per plugin
  size_t total = 0;                 // before paging
  std::shared_ptr<const void> snapshot;
};

// The registry signs the metadata it serves, so a client can tell that the
// bytes (sha256, integrity) and their status came from this registry: an
// Ed25519 signature (base64 in "registry_signature") over the canonical
// JSON of five fields, keys sorted, no spaces, e.g.
//   {"id":"billing","integrity":"sha512-...","sha256":"ab12...","status":"approved","version":"1.2.0"}
// status is pending, approved, rejected, or yanked for a yanked version.
// The public key is served at GET /api/registry/key (registry.pub in the
// data folder).
std::string canonicalMetadata(std::string_view id, std::string_view version, std::string_view sha256,
                              std::string_view integrity, std::string_view status);
bool verifyMetadataSignature(const PublicKey& key, std::string_view canonical, std::string_view signatureBase64);

// Changes PUT /api/plugins/{id} makes: unset fields stay as they are.
struct PluginUpdate {
  std::optional<std::string> description;
  std::optional<std::string> category;
  std::optional<std::string> status;  // for every version: pending, approved, rejected (review scope)
  std::string reason;
};

// An entry of the registry's audit log.
struct RegistryEvent {
  int64_t id = 0;
  std::string at, actor, action, pluginId, version, detail;
};

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> open(RegistryOptions options);
  ~Registry();

  // Scans the drop-in folder now. Returns the number of changes applied.
  Result<size_t> syncFolder();
  std::vector<FolderProblem> folderProblems() const;

  // Newest listed version of each plugin that matches the query. "Newest"
  // prefers releases: a pre-release is shown only when a plugin has nothing else.
  CatalogPage list(const CatalogQuery& query) const;
  // Every version of a plugin, newest first (all statuses).
  std::vector<PackageRecord> versions(const std::string& id) const;
  std::optional<PackageRecord> find(const std::string& id, const Version& version) const;
  // The version "latest" stands for: the newest listed release (or
  // pre-release when there is no release).
  std::optional<PackageRecord> latest(const std::string& id) const;
  // Newest listed version satisfying `range` whose host range admits `host`
  // (when given). The error says why nothing matched.
  Result<PackageRecord> resolve(const std::string& id, const Range& range, const std::optional<Version>& host) const;

  // API tokens. createToken returns the secret ("pb_" + 64 hex digits),
  // which is not stored and cannot be shown again. Scopes: publish, review,
  // admin. expiresAt: ISO 8601 UTC or "". `actor` names who did it in the
  // audit log ("cli" for `patchbay registry token`).
  Result<std::pair<TokenInfo, std::string>> createToken(const std::string& name, const std::vector<std::string>& scopes,
                                                        const std::string& expiresAt = "", const std::string& actor = "cli");
  std::vector<TokenInfo> listTokens() const;
  Status revokeToken(int64_t id, const std::string& actor = "cli");
  // The token a secret belongs to; kUnauthenticated when unknown, revoked
  // or expired (the message does not say which secret was tried).
  Result<TokenInfo> authenticate(std::string_view secret);

  // Publishes an uploaded package (seed 003): every package rule, the
  // signature policy, ownership (the first publisher of an id owns it;
  // admins may publish any), and immutability (the same id and version
  // again: the same bytes succeed with created=false, other bytes are a
  // kConflict). Concurrent uploads of one id and version: exactly one wins.
  Result<PublishResult> publish(std::string_view zipBytes, const std::optional<std::string>& signatureText,
                                const TokenInfo& publisher);

  // Management (seed 003). Every change is recorded in the audit log.
  // Description and category: the owner or an admin. Status: a token with
  // the review scope. Errors: kNotFound, kPermissionDenied, kInvalidInput.
  Result<std::vector<PackageRecord>> updatePlugin(const std::string& id, const PluginUpdate& update, const TokenInfo& who);
  // Sets one version's review status (pending, approved, rejected) with
  // the reviewer's reason. Review scope.
  Result<PackageRecord> review(const std::string& id, const Version& version, const std::string& status,
                               const std::string& reason, const TokenInfo& who);
  // Admin. Yanking keeps the version (and its downloads by exact version for
  // those who pinned it) but removes it from listings and resolution;
  // erasing removes the record, its bytes when nothing else shares them, and
  // a drop-in file. A version of nullopt means every version of the plugin.
  Result<size_t> yank(const std::string& id, const std::optional<Version>& version, const std::string& reason,
                      const TokenInfo& who);
  Result<size_t> erase(const std::string& id, const std::optional<Version>& version, const TokenInfo& who);
  // Versions waiting for review, oldest first.
  std::vector<PackageRecord> reviewQueue() const;
  std::vector<RegistryEvent> events(size_t limit = 200) const;

  // The key the metadata is signed with, and a version's signature.
  PublicKey metadataKey() const;
  std::string signMetadata(const PackageRecord& record) const;

  // Counts a download (flushed to the database by flush()).
  void recordDownload(const std::string& id, const Version& version);
  // Downloads per plugin, version and day, and popularity; flushes pending
  // counts first so the figures are current.
  std::string downloadStatsJson();
  // Writes pending download counts; serve() calls it every second.
  Status flush();
  // Removes stored bytes no version refers to once they are older than
  // `grace` (default: RegistryOptions::garbageGrace): what a publish left
  // when it died between its bytes and its row, or was refused after
  // storing them, and what an erase could not remove. Each candidate is
  // checked against the catalog again just before it goes. On PostgreSQL
  // one replica at a time (an advisory lock; `skipped` when another holds
  // it). `patchbay registry serve` runs it every hour.
  struct GarbageReport {
    size_t examined = 0, removed = 0;
    uint64_t bytesRemoved = 0;
    std::vector<std::string> removedKeys;
    bool skipped = false;
  };
  Result<GarbageReport> collectGarbage(std::optional<std::chrono::seconds> grace = std::nullopt);
  // Re-reads the catalog when the database says it changed (another
  // replica published, reviewed, yanked…): a notification that got lost is
  // caught by the next call. serve() calls it every second; on SQLite it
  // costs one query.
  Status refresh();

  // Request, download and upload metrics, served at GET /metrics. Feed it
  // every request: ServerOptions::onAccess = [&](auto& r) { registry.observe(r); }.
  Metrics& metrics();
  void observe(const http::AccessRecord& record);

  // The registry's HTTP endpoints (seed 000/001/003 shapes), for mounting on
  // an http::Server. The router refers to this registry: keep it alive.
  void addRoutes(http::Router& router);

  struct Impl;  // opaque

 private:
  explicit Registry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace patchbay
