// Registry::syncFolder: seed 000's drop-in folder compared with the
// catalog. New and changed package files are imported (checked, stored in
// the blob store, written as rows), the rows of removed files deleted, in
// one transaction per scan.
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "patchbay/clock.h"
#include "patchbay/package.h"
#include "registry/registry_impl.h"

namespace patchbay {

namespace fs = std::filesystem;

namespace {

// pg_advisory_lock's key for "watching the drop-in folder".
constexpr const char* kFolderLock = "7253010002";

using FolderFiles = std::map<std::string, Registry::Impl::SeenFile>;

// The folder's package files (*.zip, regular files), by name.
FolderFiles listPackageFiles(const std::string& dir) {
  FolderFiles files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    if (file.size() < 4 || file.compare(file.size() - 4, 4, ".zip") != 0) continue;
    struct stat st;
    if (::stat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    files[std::move(file)] = {static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  }
  return files;
}

// A folder row as the catalog has it.
struct FolderRow {
  std::string id, version, sha256;
  int64_t size = 0, mtime = 0;
};

// Why a file was not imported; `mayPass` when trying again later may
// succeed (a read failed, the blob store did).
struct Refusal {
  std::string message;
  bool mayPass = false;
};

using Outcome = std::optional<Refusal>;  // nullopt: imported

Outcome refused(std::string message, bool mayPass = false) { return Refusal{std::move(message), mayPass}; }

// Imports one file of the folder: nullopt once its row is written, a
// Refusal when the file is not served; an error when the database failed
// (the scan ends and its transaction rolls back).
Result<Outcome> importPackageFile(SqlDatabase& db, BlobStore& blobs, const fs::path& path, const std::string& file,
                                                 const Registry::Impl::SeenFile& seen) {
  auto name = parsePackageFileName(file);
  if (!name) return refused("the file name does not follow {id}_v{version}.zip");
  ArchiveLimits limits;
  auto bytes = readFileLimited(path.string(), limits.maxArchiveBytes);
  if (!bytes) return refused(bytes.error().message, true);
  PackageRecord r;
  r.id = name->id;
  r.version = name->version;
  r.fileName = file;
  auto listing = inspectZip(*bytes, limits);
  if (!listing) return refused(listing.error().message);
  bool hasManifest = false;
  for (const char* mf : kManifestFileNames) hasManifest = hasManifest || listing->find(mf) != nullptr;
  if (hasManifest) {
    auto info = openPackage(*bytes, file, limits);
    if (!info) return refused(info.error().message);
    r.name = info->manifest.name;
    r.description = info->manifest.description;
    r.category = info->manifest.category.empty() ? info->manifest.type : info->manifest.category;
    r.author = info->manifest.author;
    r.hostRange = info->manifest.hostRange;
    r.readme = info->readme.value_or("");
    if (auto text = readZipEntry(*bytes, info->manifest.file, 1 << 20, limits)) r.manifestJson = *text;
  } else {
    r.name = displayNameFromId(r.id);  // seed 000's manifest-less packages
  }
  Digest digest = digestBytes(*bytes);
  // Version immutability: the same id and version from elsewhere must be the same bytes.
  auto other = db.query("SELECT sha256, source, file_name FROM versions WHERE plugin_id = $1 AND version = $2", {r.id, r.version.toString()});
  if (!other) return other.error();
  if (!other->empty() && other->front()[2] != file && other->front()[0] != digest.sha256) {
    const auto& o = other->front();
    return refused("conflicts with " + r.id + " " + r.version.toString() + " already in the registry (from " + o[1] + " \"" + o[2] +
                   "\") with different bytes; versions are immutable");
  }
  if (auto s = blobs.put(blobKey(digest.sha256), *bytes); !s) return refused(s.error().message, true);
  auto up = db.query(
      "INSERT INTO versions (plugin_id, version, name, description, category, author, host_range, file_name, size, sha256, "
      "integrity, status, yanked, source, manifest, readme, created_at, folder_size, folder_mtime) "
      "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'approved',0,'folder',$12,$13,$14,$15,$16) "
      "ON CONFLICT (plugin_id, version) DO UPDATE SET name=excluded.name, description=excluded.description, "
      "category=excluded.category, author=excluded.author, host_range=excluded.host_range, file_name=excluded.file_name, "
      "size=excluded.size, sha256=excluded.sha256, integrity=excluded.integrity, manifest=excluded.manifest, "
      "readme=excluded.readme, folder_size=excluded.folder_size, folder_mtime=excluded.folder_mtime",
      {r.id, r.version.toString(), r.name, r.description, r.category, r.author, r.hostRange, file, std::to_string(digest.size),
       digest.sha256, digest.sri, r.manifestJson, r.readme, utcNow(), std::to_string(seen.size), std::to_string(seen.mtime)});
  if (!up) return up.error();
  return Outcome{};
}

}  // namespace

Result<size_t> Registry::syncFolder() {
  Impl& m = *impl_;
  const std::string& dir = m.options.pluginsDir;
  if (dir.empty()) return size_t{0};
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::lock_guard lock(m.problemsMutex);
    m.problems = {{dir, "the plugins folder does not exist"}};
    return size_t{0};
  }
  std::lock_guard dbLock(m.dbMutex);
  SqlDatabase& db = *m.db;
  if (auto* pg = dynamic_cast<PostgresDatabase*>(&db)) {
    // Replicas on one database: only the holder of the folder lock scans
    // (it keeps it while its connection lives; another takes over after).
    if (!m.holdsFolderLock || m.folderLockConnection != pg->connectionEpoch()) {
      auto got = db.query("SELECT pg_try_advisory_lock($1)", {kFolderLock});
      if (!got) return got.error();
      m.holdsFolderLock = !got->empty() && got->front()[0] == "t";
      m.folderLockConnection = pg->connectionEpoch();
    }
    if (!m.holdsFolderLock) {
      std::lock_guard lock(m.problemsMutex);
      m.problems = {{dir, "not scanned here: another registry replica on this database watches the drop-in folder"}};
      return size_t{0};
    }
  }
  // The folder is compared with the catalog when a file may have changed
  // (folder_watch.h), when the catalog changed since the last comparison
  // (a row of the folder's may have gone), and, after a problem that may
  // pass (a read, the blob store), again after a while.
  const bool folderChanged = m.folderWatch.due(dir, m.options.folderFullScanEvery);
  const bool catalogChanged = m.folderSeenGeneration != m.generation;
  const auto started = std::chrono::steady_clock::now();
  const bool retryDue = m.folderRetryAt && started >= *m.folderRetryAt;
  if (!folderChanged && !catalogChanged && !retryDue) return size_t{0};
  FolderFiles onDisk = listPackageFiles(dir);
  // The same files as the last scan, and no change to the catalog since: the
  // rows, and the problems found, are what that scan left.
  if (!catalogChanged && !retryDue && onDisk == m.folderSeen) return size_t{0};

  // One transaction for the whole scan: thousands of new files are one
  // commit, not thousands; an error part-way leaves the catalog as it was.
  SqlTransaction tx(db);
  if (auto s = tx.begin(); !s) return s.error();
  std::map<std::string, FolderRow> rows;  // file name -> its row
  auto read = db.queryEach("SELECT file_name, plugin_id, version, sha256, folder_size, folder_mtime FROM versions WHERE source = 'folder'", {},
                           [&rows](std::vector<std::string>& row) {
                             rows[std::move(row[0])] = {std::move(row[1]), std::move(row[2]), std::move(row[3]), columnInteger(row[4]),
                                                        columnInteger(row[5])};
                           });
  if (!read) return read.error();
  // What to import: the files without a row, or whose size or time changed.
  std::vector<FolderFiles::const_iterator> toImport;
  std::set<std::string> present;
  for (auto it = onDisk.begin(); it != onDisk.end(); ++it) {
    auto row = rows.find(it->first);
    if (row != rows.end() && row->second.size == it->second.size && row->second.mtime == it->second.mtime) {
      present.insert(it->first);
    } else {
      toImport.push_back(it);
    }
  }
  std::vector<FolderProblem> problems;
  bool retry = false;
  size_t changes = 0;
  auto lastReport = started;
  bool reported = false;
  for (size_t i = 0; i < toImport.size(); ++i) {
    if (m.options.onFolderProgress && std::chrono::steady_clock::now() - lastReport >= m.options.folderProgressEvery) {
      lastReport = std::chrono::steady_clock::now();
      reported = true;
      m.options.onFolderProgress(FolderProgress{i, toImport.size()});
    }
    const auto& [file, seen] = *toImport[i];
    auto outcome = importPackageFile(db, *m.blobs, fs::path(dir) / file, file, seen);
    if (!outcome) return outcome.error();
    if (*outcome) {
      problems.push_back({file, (*outcome)->message});
      retry = retry || (*outcome)->mayPass;
      continue;
    }
    present.insert(file);
    ++changes;
  }
  for (const auto& [file, row] : rows) {
    if (present.count(file)) continue;
    auto del = db.query("DELETE FROM versions WHERE source = 'folder' AND file_name = $1", {file});
    if (!del) return del.error();
    ++changes;
  }
  if (changes > 0) {
    if (auto s = m.bumpGeneration(); !s) return s.error();
  }
  if (auto s = tx.commit(); !s) return s.error();
  if (reported) m.options.onFolderProgress(FolderProgress{toImport.size(), toImport.size()});
  {
    std::lock_guard lock(m.problemsMutex);
    m.problems = std::move(problems);
  }
  if (changes > 0) {
    if (auto s = m.rebuildSnapshot(); !s) return s.error();
  }
  m.folderSeen = std::move(onDisk);
  m.folderSeenGeneration = m.generation;
  m.folderRetryAt.reset();
  if (retry) m.folderRetryAt = started + std::max(m.options.folderFullScanEvery, std::chrono::seconds(1));
  return changes;
}

std::vector<FolderProblem> Registry::folderProblems() const {
  std::lock_guard lock(impl_->problemsMutex);
  return impl_->problems;
}

}  // namespace patchbay
