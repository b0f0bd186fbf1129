// The registry's data: schema, blobs, queries, counts (the drop-in folder: folder_scan.cc).
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "patchbay/clock.h"
#include "patchbay/package.h"
#include "registry/registry_impl.h"

namespace patchbay {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCatalogSchema = R"sql(
CREATE TABLE IF NOT EXISTS versions (
  plugin_id    TEXT NOT NULL,
  version      TEXT NOT NULL,
  name         TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  category     TEXT NOT NULL DEFAULT '',
  author       TEXT NOT NULL DEFAULT '',
  host_range   TEXT NOT NULL DEFAULT '',
  file_name    TEXT NOT NULL,
  size         BIGINT NOT NULL,
  sha256       TEXT NOT NULL,
  integrity    TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'approved',
  yanked       INTEGER NOT NULL DEFAULT 0,
  source       TEXT NOT NULL,
  manifest     TEXT NOT NULL DEFAULT '',
  readme       TEXT NOT NULL DEFAULT '',
  signature    TEXT NOT NULL DEFAULT '',
  created_at   TEXT NOT NULL,
  folder_size  BIGINT,
  folder_mtime BIGINT,
  PRIMARY KEY (plugin_id, version)
);
CREATE TABLE IF NOT EXISTS owners (
  plugin_id  TEXT PRIMARY KEY,
  owner      TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS downloads (
  plugin_id TEXT NOT NULL,
  version   TEXT NOT NULL,
  day       TEXT NOT NULL,
  count     BIGINT NOT NULL,
  PRIMARY KEY (plugin_id, version, day)
);
CREATE TABLE IF NOT EXISTS catalog_generation (
  id         INTEGER PRIMARY KEY,
  generation BIGINT NOT NULL
);
INSERT INTO catalog_generation (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
)sql";

// Schema changes after the first release, applied in order to databases whose
// schema version (SQLite: PRAGMA user_version; PostgreSQL: registry_schema)
// is lower than their number (1-based). %ID% is an id column.
const char* const kMigrations[] = {
    R"sql(
ALTER TABLE versions ADD COLUMN review_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN reviewed_at TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN yank_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN bundle_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN bundle_map_sha256 TEXT NOT NULL DEFAULT '';
CREATE TABLE plugin_overrides (
  plugin_id   TEXT PRIMARY KEY,
  description TEXT,
  category    TEXT,
  updated_by  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE TABLE events (
  id        %ID%,
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  plugin_id TEXT NOT NULL DEFAULT '',
  version   TEXT NOT NULL DEFAULT '',
  detail    TEXT NOT NULL DEFAULT ''
);
)sql",
};

// Every replica runs this at start; on PostgreSQL one at a time (a
// transaction-scoped advisory lock), so the schema is made and migrated
// once per cluster.
constexpr const char* kCatalogSchemaLock = "7253010001";
constexpr const char* kChangesChannel = "patchbay_registry";

Status prepareSchema(SqlDatabase& db) {
  SqlTransaction tx(db);
  if (auto s = tx.begin(); !s) return s;
  const bool pg = db.isPostgres();
  if (pg) {
    if (auto r = db.query("SELECT pg_advisory_xact_lock($1)", {kCatalogSchemaLock}); !r) return r.error();
  }
  if (auto s = db.exec(kCatalogSchema); !s) return s;
  if (auto s = tokens::ensureSchema(db); !s) return s;
  int64_t at = 0;
  if (pg) {
    // registry_schema: the schema version; signing_key: the one key all replicas sign with (signing.cc).
    if (auto s = db.exec("CREATE TABLE IF NOT EXISTS registry_schema (version INTEGER NOT NULL);"
                         "CREATE TABLE IF NOT EXISTS signing_key (id INTEGER PRIMARY KEY, secret TEXT NOT NULL, created_at TEXT NOT NULL)");
        !s) {
      return s;
    }
    auto rows = db.query("SELECT version FROM registry_schema");
    if (!rows) return rows.error();
    if (rows->empty()) {
      if (auto r = db.query("INSERT INTO registry_schema (version) VALUES (0)"); !r) return r.error();
    } else {
      at = std::stoll(rows->front()[0]);
    }
  } else {
    auto rows = db.query("PRAGMA user_version");
    if (!rows) return rows.error();
    at = rows->empty() ? 0 : std::stoll(rows->front()[0]);
  }
  const int64_t target = static_cast<int64_t>(std::size(kMigrations));
  for (int64_t v = at; v < target; ++v) {
    std::string sql = kMigrations[v];
    for (size_t i; (i = sql.find("%ID%")) != std::string::npos;) {
      sql.replace(i, 4, pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
    }
    Status s = db.exec(sql);
    if (s && pg) {
      if (auto r = db.query("UPDATE registry_schema SET version = $1", {std::to_string(v + 1)}); !r) s = r.error();
    } else if (s) {
      s = db.exec("PRAGMA user_version = " + std::to_string(v + 1));
    }
    if (!s) return Error{s.error().kind, db.describe() + ": schema migration " + std::to_string(v + 1) + " failed: " + s.error().message};
  }
  return tx.commit();
}

bool preferOver(const PackageRecord& a, const PackageRecord& b) {
  // Releases before pre-releases, then higher versions first.
  if (a.version.isPrerelease() != b.version.isPrerelease()) return !a.version.isPrerelease();
  return compareVersions(b.version, a.version) < 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool hostAdmits(const std::optional<Range>& range, const std::optional<Version>& host) {
  return !host || !range || range->satisfiedBy(*host);
}

}  // namespace

std::string blobKey(const std::string& sha256, std::string_view extension) {
  return sha256.substr(0, 2) + "/" + sha256 + std::string(extension);
}

int64_t columnInteger(const std::string& text) {
  if (text.empty()) return 0;
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return 0;
  }
}

Registry::Registry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Registry::~Registry() {
  if (!impl_) return;
  // The listener's thread reads the catalog: it goes before what it reads.
  if (impl_->changes) impl_->changes->stop();
  (void)flush();
}

Result<std::unique_ptr<Registry>> Registry::open(RegistryOptions options) {
  std::error_code ec;
  fs::create_directories(options.dataDir, ec);
  if (ec) return Error::io(options.dataDir + ": cannot create the data folder: " + ec.message());
  auto db = options.database.empty() ? openSqlDatabase(options.dataDir + "/registry.db")
                                     : isPostgresUrl(options.database)
                                         ? openSqlDatabase(options.database, "patchbay_registry")
                                         : Result<std::unique_ptr<SqlDatabase>>(Error::invalid(
                                               "database: expected a postgresql:// URL (or nothing for registry.db in the data folder), got \"" +
                                               options.database + "\""));
  if (!db) return db.error();
  if (auto s = prepareSchema(**db); !s) return s.error();
  auto impl = std::make_unique<Impl>(std::move(db.value()));
  impl->options = std::move(options);
  auto blobs = openBlobStore(impl->options.blobs.empty() ? impl->options.dataDir + "/blobs" : impl->options.blobs);
  if (!blobs) return blobs.error();
  impl->blobs = std::move(*blobs);
  if (impl->blobs->localFile(blobKey(std::string(64, '0'))).empty()) impl->blobReaders = std::make_unique<WorkerPool>("pb-blob-reads", 8, 256);
  if (auto s = loadOrCreateRegistryKey(*impl); !s) return s.error();
  {
    std::lock_guard lock(impl->dbMutex);
    if (auto s = impl->rebuildSnapshot(); !s) return s.error();
  }
  std::unique_ptr<Registry> registry(new Registry(std::move(impl)));
  if (registry->impl_->db->isPostgres()) {
    // Other replicas' changes: re-read at once when told, and after every
    // (re)connect of the listener (what it missed while away).
    Impl* m = registry->impl_.get();
    auto reread = [m] { (void)m->refreshIfChanged(); };
    m->changes = std::make_unique<PgListener>(m->options.database, kChangesChannel,
                                              PgListener::Callbacks{.connected = reread, .notified = [reread](const PgNotification&) { reread(); }});
  }
  if (!registry->impl_->options.pluginsDir.empty()) {
    if (auto r = registry->syncFolder(); !r) return r.error();
  }
  return registry;
}

Status Registry::Impl::bumpGeneration() {
  auto rows = db->query("UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1 RETURNING generation");
  if (!rows) return rows.error();
  if (db->isPostgres()) {
    // Delivered at commit, and only if it commits.
    if (auto r = db->query("SELECT pg_notify($1, $2)", {kChangesChannel, rows->empty() ? "" : rows->front()[0]}); !r) return r.error();
  }
  return {};
}

Status Registry::Impl::refreshIfChanged() {
  std::lock_guard lock(dbMutex);
  return refreshIfChangedLocked();
}

Status Registry::Impl::refreshIfChangedLocked() {
  auto rows = db->query("SELECT generation FROM catalog_generation WHERE id = 1");
  if (!rows) return rows.error();
  if (rows->empty() || columnInteger(rows->front()[0]) != generation) return rebuildSnapshot();
  // The catalog is the same; other replicas' download counts are read every few seconds.
  if (db->isPostgres() && std::chrono::steady_clock::now() - totalsReadAt >= std::chrono::seconds(5)) return loadDownloadTotals();
  return {};
}

Status Registry::Impl::loadDownloadTotals() {
  // What every replica flushed, and what this one has not yet.
  auto totals = db->query("SELECT plugin_id, version, SUM(count) FROM downloads GROUP BY plugin_id, version");
  if (!totals) return totals.error();
  std::lock_guard lock(downloadsMutex);
  downloadTotals.clear();
  for (const auto& row : *totals) downloadTotals[{row[0], row[1]}] = static_cast<uint64_t>(columnInteger(row[2]));
  for (const auto& [key, count] : pendingDownloads) downloadTotals[{std::get<0>(key), std::get<1>(key)}] += count;
  totalsReadAt = std::chrono::steady_clock::now();
  return {};
}

Status Registry::refresh() { return impl_->refreshIfChanged(); }

Status Registry::Impl::rebuildSnapshot() {
  auto next = std::make_shared<CatalogSnapshot>();
  // The generation first: a change committed while the rest is read makes
  // the next refresh read again, never the other way round.
  auto gen = db->query("SELECT generation FROM catalog_generation WHERE id = 1");
  if (!gen) return gen.error();
  const int64_t readAt = gen->empty() ? 0 : columnInteger(gen->front()[0]);
  // Read row by row into the records (100,000 versions are ~100 MB as a
  // table of strings: not made twice).
  auto read = db->queryEach(
      "SELECT plugin_id, version, name, description, category, author, host_range, file_name, size, sha256, integrity, "
      "status, yanked, source, manifest, readme, created_at, review_reason, reviewed_by, reviewed_at, yank_reason, "
      "bundle_sha256, bundle_map_sha256, signature FROM versions",
      {}, [&next](std::vector<std::string>& row) {
    auto v = Version::parse(row[1]);
    if (!v) return;  // cannot happen: only parsed versions are stored
    PackageRecord r;
    r.id = std::move(row[0]);
    r.version = v.value();
    r.name = std::move(row[2]);
    r.description = std::move(row[3]);
    r.category = std::move(row[4]);
    r.author = std::move(row[5]);
    r.hostRange = std::move(row[6]);
    r.fileName = std::move(row[7]);
    r.size = static_cast<uint64_t>(columnInteger(row[8]));
    r.sha256 = std::move(row[9]);
    r.integrity = std::move(row[10]);
    r.status = std::move(row[11]);
    r.yanked = columnInteger(row[12]) != 0;
    r.source = std::move(row[13]);
    r.manifestJson = std::move(row[14]);
    r.readme = std::move(row[15]);
    r.createdAt = std::move(row[16]);
    r.reviewReason = std::move(row[17]);
    r.reviewedBy = std::move(row[18]);
    r.reviewedAt = std::move(row[19]);
    r.yankReason = std::move(row[20]);
    r.bundleSha256 = std::move(row[21]);
    r.bundleMapSha256 = std::move(row[22]);
    r.signature = std::move(row[23]);
    r.blobKey = blobKey(r.sha256);
    next->plugins[r.id].versions.push_back(std::move(r));
  });
  if (!read) return read;
  // Owners and edits made with PUT /api/plugins/{id} apply to every version.
  auto owners = db->query("SELECT plugin_id, owner FROM owners");
  if (!owners) return owners.error();
  for (const auto& row : *owners) {
    auto it = next->plugins.find(row[0]);
    if (it == next->plugins.end()) continue;
    for (auto& r : it->second.versions) r.owner = row[1];
  }
  auto overrides = db->query(
      "SELECT plugin_id, COALESCE(description, ''), COALESCE(category, ''), "
      "CASE WHEN description IS NULL THEN 0 ELSE 1 END, CASE WHEN category IS NULL THEN 0 ELSE 1 END FROM plugin_overrides");
  if (!overrides) return overrides.error();
  for (const auto& row : *overrides) {
    auto it = next->plugins.find(row[0]);
    if (it == next->plugins.end()) continue;
    for (auto& r : it->second.versions) {
      if (row[3] == "1") r.description = row[1];
      if (row[4] == "1") r.category = row[2];
    }
  }
  if (auto s = loadDownloadTotals(); !s) return s;
  for (auto& [id, plugin] : next->plugins) {
    std::sort(plugin.versions.begin(), plugin.versions.end(),
              [](const PackageRecord& a, const PackageRecord& b) { return compareVersions(b.version, a.version) < 0; });
    for (const auto& r : plugin.versions) {
      std::optional<Range> range;
      if (!r.hostRange.empty()) {
        if (auto parsed = Range::parse(r.hostRange)) range = parsed.value();
      }
      plugin.hostRanges.push_back(std::move(range));
      plugin.searchText.push_back(lower(r.id + "\n" + r.name + "\n" + r.description));
      plugin.sortName.push_back(lower(r.name));
      plugin.lowerCategory.push_back(lower(r.category));
    }
  }
  for (const auto& [id, plugin] : next->plugins) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < plugin.versions.size(); ++i) {
      if (plugin.versions[i].listed() && (best == SIZE_MAX || preferOver(plugin.versions[i], plugin.versions[best]))) best = i;
    }
    if (best != SIZE_MAX) next->byName.push_back({&plugin, best});
  }
  std::stable_sort(next->byName.begin(), next->byName.end(), [](const auto& a, const auto& b) {
    return a.plugin->sortName[a.index] < b.plugin->sortName[b.index];
  });
  generation = readAt;
  std::lock_guard lock(snapshotMutex);
  snapshot = std::move(next);
  return {};
}

uint64_t Registry::Impl::totalDownloads(const std::string& id, const std::string& version) const {
  std::lock_guard lock(downloadsMutex);
  auto it = downloadTotals.find({id, version});
  return it == downloadTotals.end() ? 0 : it->second;
}

CatalogPage Registry::list(const CatalogQuery& q) const {
  auto snap = impl_->current();
  const std::string text = lower(q.text), category = lower(q.category);
  auto downloadsOf = [&](const std::string& id) {
    uint64_t n = 0;
    std::lock_guard lock(impl_->downloadsMutex);
    for (auto it = impl_->downloadTotals.lower_bound({id, ""}); it != impl_->downloadTotals.end() && it->first.first == id; ++it) {
      n += it->second;
    }
    return n;
  };
  if (!q.host && q.sort == "name") {
    // The common listing: the snapshot is already in name order.
    CatalogPage page;
    for (const auto& l : snap->byName) {
      if (!category.empty() && l.plugin->lowerCategory[l.index] != category) continue;
      if (!text.empty() && l.plugin->searchText[l.index].find(text) == std::string::npos) continue;
      if (page.total >= q.offset && page.items.size() < q.limit) {
        const PackageRecord& r = l.plugin->versions[l.index];
        page.items.push_back({&r, downloadsOf(r.id)});
      }
      ++page.total;
    }
    page.snapshot = snap;
    return page;
  }
  struct Hit {
    const PackageRecord* record;
    const std::string* sortName;
    uint64_t downloads;
  };
  std::vector<Hit> hits;
  hits.reserve(snap->plugins.size());
  for (const auto& [id, plugin] : snap->plugins) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < plugin.versions.size(); ++i) {
      const PackageRecord& r = plugin.versions[i];
      if (!r.listed() || !hostAdmits(plugin.hostRanges[i], q.host)) continue;
      if (best == SIZE_MAX || preferOver(r, plugin.versions[best])) best = i;
    }
    if (best == SIZE_MAX) continue;
    if (!category.empty() && plugin.lowerCategory[best] != category) continue;
    if (!text.empty() && plugin.searchText[best].find(text) == std::string::npos) continue;
    hits.push_back({&plugin.versions[best], &plugin.sortName[best], downloadsOf(id)});
  }
  if (q.sort == "downloads") {
    std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.downloads > b.downloads; });
  } else if (q.sort == "updated") {
    std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.record->createdAt > b.record->createdAt; });
  } else {
    std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return *a.sortName < *b.sortName; });
  }
  CatalogPage page;
  page.total = hits.size();
  for (size_t i = q.offset; i < hits.size() && page.items.size() < q.limit; ++i) {
    page.items.push_back({hits[i].record, hits[i].downloads});
  }
  page.snapshot = snap;
  return page;
}

std::vector<PackageRecord> Registry::versions(const std::string& id) const {
  auto snap = impl_->current();
  auto it = snap->plugins.find(id);
  if (it == snap->plugins.end()) return {};
  std::vector<PackageRecord> out = it->second.versions;
  for (auto& r : out) r.downloads = impl_->totalDownloads(id, r.version.toString());
  return out;
}

std::optional<PackageRecord> Registry::find(const std::string& id, const Version& version) const {
  auto snap = impl_->current();
  auto it = snap->plugins.find(id);
  if (it == snap->plugins.end()) return std::nullopt;
  for (const auto& r : it->second.versions) {
    if (r.version.toString() == version.toString()) {  // exact: "1.0.0+b" is not "1.0.0"
      PackageRecord out = r;
      out.downloads = impl_->totalDownloads(id, r.version.toString());
      return out;
    }
  }
  return std::nullopt;
}

std::optional<PackageRecord> Registry::latest(const std::string& id) const {
  auto snap = impl_->current();
  auto it = snap->plugins.find(id);
  if (it == snap->plugins.end()) return std::nullopt;
  const PackageRecord* best = nullptr;
  for (const auto& r : it->second.versions) {
    if (r.listed() && (!best || preferOver(r, *best))) best = &r;
  }
  if (!best) return std::nullopt;
  return *best;
}

Result<PackageRecord> Registry::resolve(const std::string& id, const Range& range, const std::optional<Version>& host) const {
  auto snap = impl_->current();
  auto it = snap->plugins.find(id);
  if (it == snap->plugins.end()) return Error::notFound("no plugin \"" + id + "\" in this registry");
  const PackageRecord* best = nullptr;
  bool rangeMatched = false;
  std::string listed;
  for (size_t i = 0; i < it->second.versions.size(); ++i) {
    const PackageRecord& r = it->second.versions[i];
    if (!r.listed()) continue;
    listed += (listed.empty() ? "" : ", ") + r.version.toString();
    if (!range.satisfiedBy(r.version)) continue;
    rangeMatched = true;
    if (!hostAdmits(it->second.hostRanges[i], host)) continue;
    if (!best || compareVersions(best->version, r.version) < 0) best = &r;
  }
  if (!best) {
    if (rangeMatched && host) {
      return Error::notFound("no version of \"" + id + "\" that satisfies \"" + range.text() + "\" works with host version " + host->toString());
    }
    return Error::notFound("no version of \"" + id + "\" satisfies \"" + range.text() + "\" (available: " + (listed.empty() ? "none" : listed) + ")");
  }
  return *best;
}

Metrics& Registry::metrics() { return impl_->metrics; }

void Registry::observe(const http::AccessRecord& r) {
  // Only route patterns become labels; unmatched paths are "other".
  impl_->metrics.observeRequest(r.route.empty() ? "other" : r.route, r.method, r.status, r.seconds);
}

void Registry::recordDownload(const std::string& id, const Version& version) {
  impl_->metrics.count("downloads");
  std::lock_guard lock(impl_->downloadsMutex);
  impl_->pendingDownloads[{id, version.toString(), utcToday()}] += 1;
  impl_->downloadTotals[{id, version.toString()}] += 1;
}

Status Registry::flush() {
  std::lock_guard dbLock(impl_->dbMutex);
  decltype(impl_->pendingDownloads) pending;
  {
    std::lock_guard lock(impl_->downloadsMutex);
    pending.swap(impl_->pendingDownloads);
  }
  if (pending.empty()) return {};
  SqlDatabase& db = *impl_->db;
  auto write = [&]() -> Status {
    SqlTransaction tx(db);
    if (auto s = tx.begin(); !s) return s;
    for (const auto& [key, count] : pending) {
      auto r = db.query(
          "INSERT INTO downloads (plugin_id, version, day, count) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (plugin_id, version, day) DO UPDATE SET count = downloads.count + excluded.count",
          {std::get<0>(key), std::get<1>(key), std::get<2>(key), std::to_string(count)});
      if (!r) return r.error();
    }
    return tx.commit();
  };
  Status s = write();
  if (!s) {  // keep the counts for the next try
    std::lock_guard lock(impl_->downloadsMutex);
    for (const auto& [key, count] : pending) impl_->pendingDownloads[key] += count;
  }
  return s;
}

std::string Registry::downloadStatsJson() {
  (void)flush();
  nlohmann::ordered_json days = nlohmann::ordered_json::array();
  std::map<std::string, uint64_t> perPlugin;
  {
    std::lock_guard dbLock(impl_->dbMutex);
    auto rows = impl_->db->query("SELECT plugin_id, version, day, count FROM downloads ORDER BY day DESC, plugin_id, version");
    if (rows) {
      for (const auto& row : *rows) {
        const int64_t count = columnInteger(row[3]);
        days.push_back({{"id", row[0]}, {"version", row[1]}, {"day", row[2]}, {"count", count}});
        perPlugin[row[0]] += static_cast<uint64_t>(count);
      }
    }
  }
  std::vector<std::pair<std::string, uint64_t>> popular(perPlugin.begin(), perPlugin.end());
  std::stable_sort(popular.begin(), popular.end(), [](auto& a, auto& b) { return a.second > b.second; });
  nlohmann::ordered_json top = nlohmann::ordered_json::array();
  for (const auto& [id, n] : popular) top.push_back({{"id", id}, {"downloads", n}});
  return nlohmann::ordered_json{{"popular", top}, {"downloads", days}}.dump();
}

}  // namespace patchbay
