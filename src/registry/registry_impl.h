// Registry internals shared by catalog.cc (data) and service.cc (HTTP).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "patchbay/archive.h"
#include "patchbay/blob_store.h"
#include "patchbay/clock.h"
#include "patchbay/registry.h"
#include "patchbay/postgres.h"
#include "patchbay/sql_database.h"
#include "patchbay/store.h"
#include "patchbay/worker_pool.h"
#include "registry/folder_watch.h"

namespace patchbay {

// An immutable view of the catalog; replaced whole after every change.
struct CatalogSnapshot {
  struct Plugin {
    std::vector<PackageRecord> versions;  // newest first
    // Parallel to versions, computed once per snapshot for fast listing:
    std::vector<std::optional<Range>> hostRanges;  // parsed host ranges
    std::vector<std::string> searchText;           // lowercase "id name description"
    std::vector<std::string> sortName;             // lowercase name
    std::vector<std::string> lowerCategory;
  };
  std::map<std::string, Plugin> plugins;
  // Each plugin's newest listed version (for no host filter), in name order:
  // the default listing is a walk over this, with no sorting per request.
  struct Listed {
    const Plugin* plugin;
    size_t index;  // into plugin->versions
  };
  std::vector<Listed> byName;
};

struct Registry::Impl {
  RegistryOptions options;
  std::unique_ptr<BlobStore> blobs;  // package and bundle bytes, by content

  std::mutex dbMutex;
  std::unique_ptr<SqlDatabase> db;  // guarded by dbMutex
  // The catalog generation the snapshot was built at. Every change bumps
  // it in its transaction (and, on PostgreSQL, NOTIFYs the other replicas,
  // whose listener or upkeep timer then re-reads the catalog).
  int64_t generation = -1;  // guarded by dbMutex
  std::unique_ptr<PgListener> changes;  // PostgreSQL only
  // The drop-in folder is scanned by one replica at a time: the one holding
  // a session advisory lock on the shared database.
  bool holdsFolderLock = false;  // guarded by dbMutex
  FolderWatch folderWatch;       // guarded by dbMutex
  // The folder as the last completed scan saw it (file name -> size and
  // mtime) and the catalog generation it left: a scan that finds the same
  // files while the generation is unchanged has nothing to compare with the
  // database, so a periodic scan of 100,000 files costs their stat()s only.
  struct SeenFile {
    int64_t size = 0, mtime = 0;
    bool operator==(const SeenFile&) const = default;
  };
  std::map<std::string, SeenFile> folderSeen;  // guarded by dbMutex
  int64_t folderSeenGeneration = -1;           // guarded by dbMutex
  // Set when the last scan met a problem that may pass: when to try again.
  std::optional<std::chrono::steady_clock::time_point> folderRetryAt;  // guarded by dbMutex
  uint64_t folderLockConnection = 0;  // the connection it was taken on

  mutable std::mutex snapshotMutex;
  std::shared_ptr<const CatalogSnapshot> snapshot;  // guarded by snapshotMutex

  mutable std::mutex problemsMutex;
  std::vector<FolderProblem> problems;  // guarded by problemsMutex

  // Rendered /api/plugins responses by request target, reused for up to a
  // second while the snapshot is the same (download counts may lag by that).
  struct CachedList {
    std::shared_ptr<const CatalogSnapshot> snapshot;
    std::chrono::steady_clock::time_point renderedAt;
    std::shared_ptr<const std::string> body;
    size_t total = 0;
  };
  mutable std::mutex listCacheMutex;
  std::map<std::string, CachedList> listCache;  // guarded by listCacheMutex

  Metrics metrics;
  SecretKey signingKey;  // registry.key: signs the metadata served (signing.cc)

  mutable std::mutex downloadsMutex;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> pendingDownloads;  // (id, version, day)
  std::map<std::pair<std::string, std::string>, uint64_t> downloadTotals;                  // (id, version)

  // Publishing (validation, esbuild, compression) runs here, off the
  // server's IO threads; a full queue answers 503.
  std::unique_ptr<WorkerPool> publishers = std::make_unique<WorkerPool>("pb-publish", 1, 8);

  explicit Impl(std::unique_ptr<SqlDatabase> database) : db(std::move(database)) {}

  std::shared_ptr<const CatalogSnapshot> current() const {
    std::lock_guard lock(snapshotMutex);
    return snapshot;
  }
  uint64_t totalDownloads(const std::string& id, const std::string& version) const;
  // Re-reads the catalog and the download totals (requires dbMutex held).
  Status rebuildSnapshot();
  // In a changing transaction: the next generation, told to the other
  // replicas at commit (requires dbMutex held).
  Status bumpGeneration();
  // Rebuilds when the database's generation differs from the snapshot's
  // (the first takes dbMutex, the second requires it held).
  Status refreshIfChanged();
  Status refreshIfChangedLocked();
  // Re-reads downloadTotals from the database (requires dbMutex held).
  Status loadDownloadTotals();
  std::chrono::steady_clock::time_point totalsReadAt;  // guarded by dbMutex

  // With a remote blob store: downloads and bundles are read from it here,
  // off the server's IO threads (a slow store never stalls other answers);
  // a full queue answers 503. Declared last: it finishes its jobs before
  // the rest goes.
  std::unique_ptr<WorkerPool> blobReaders;
};

// The blob store's key for the bytes with this SHA-256: <sha[0:2]>/<sha><extension>
// (".zip" for packages; ".js", ".js.gz", ".js.br", ".map", ... for bundles).
std::string blobKey(const std::string& sha256, std::string_view extension = ".zip");

// A whole number read from a text column ("" for NULL reads as 0).
int64_t columnInteger(const std::string& text);

// The browser bundle of a package's client entry (client.ts, .tsx, .jsx or
// .js at the top), built with esbuild: bundled, minified, with a source map,
// bare imports left external. nullopt when the package has no client entry;
// kInvalidInput with esbuild's message when it does not build, or when it
// imports anything outside the package. See bundle.cc for how.
struct ClientBundle {
  std::string entry;  // "client.tsx"
  std::string js;
  std::string map;
};
Result<std::optional<ClientBundle>> buildClientBundle(std::string_view zipBytes, const ArchiveListing& listing,
                                                      const std::string& scratchParent);

// The signing key: registry.key in the data folder (made with registry.pub
// on first start); on PostgreSQL the one row all replicas share (made by
// the first, from the data folder's registry.key when there is one).
Status loadOrCreateRegistryKey(Registry::Impl& impl);
// "approved", "pending", "rejected", or "yanked" for a yanked version.
std::string effectiveStatus(const PackageRecord& record);
// canonicalMetadata() of the record's fields.
std::string canonicalMetadata(const PackageRecord& record);
// Appends an audit event (requires dbMutex held).
Status recordEvent(SqlDatabase& db, std::string_view actor, std::string_view action, std::string_view pluginId,
                   std::string_view version, std::string_view detail);


}  // namespace patchbay
