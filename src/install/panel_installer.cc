// Seed 002's panel layout: backend and frontend folders, the panel's own
// database, addon_registry.json; all or nothing, with the same journal and
// commit point as the host's installer (see patchbay/install.h).
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "install/crash_point.h"
#include "install/journal.h"
#include "install/migrations.h"
#include "install/operation.h"
#include "patchbay/json.h"
#include "patchbay/archive.h"
#include "patchbay/clock.h"
#include "patchbay/files.h"
#include "patchbay/install.h"
#include "patchbay/integrity.h"
#include "patchbay/manifest.h"
#include "patchbay/postgres.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using install::crashPoint;
using install::Journal;
using install::readJsonFile;
using install::removeTree;

namespace {

// Copies a folder tree (regular files and folders only; the package was
// checked when it was unpacked), then makes it durable.
Status copyTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return Error::io(to.string() + ": " + ec.message());
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) return Error::io(to.string() + ": cannot copy " + from.string() + ": " + ec.message());
  return syncTree(to.string());
}

}  // namespace

Result<PanelLayout> PanelLayout::load(const std::string& configPath) {
  auto config = readJsonFile(configPath, json());
  if (!config) return config.error();
  if (config->is_null()) return Error::notFound(configPath + ": no such panel layout file");
  fs::path base = fs::absolute(configPath).parent_path();
  PanelLayout layout;
  for (auto [key, field] : {std::pair{"backend", &layout.backendDir}, std::pair{"frontend", &layout.frontendDir},
                            std::pair{"database", &layout.database}, std::pair{"registry", &layout.registryFile}}) {
    if (!config->contains(key) || !(*config)[key].is_string() || (*config)[key].get<std::string>().empty()) {
      return Error::invalid(configPath + ": \"" + key + "\" must name a path (backend, frontend, database, registry)");
    }
    std::string value = (*config)[key].get<std::string>();
    if (std::string_view(key) == "database") {
      if (isPostgresUrl(value)) {
        *field = value;  // a server, not a path
        continue;
      }
      if (value.find("://") != std::string::npos) {
        return Error::invalid(configPath + ": database: \"" + redactedPostgresUrl(value) +
                              "\" is neither an SQLite file nor a postgresql:// URL");
      }
      if (value.starts_with("sqlite:")) value = value.substr(7);
    }
    fs::path p = value;
    *field = (p.is_absolute() ? p : base / p).lexically_normal().string();
  }
  return layout;
}

struct PanelInstaller::Impl final : install::OperationSteps {
  PanelLayout layout;
  std::string stateDir, stagingDir;
  install::JournalFolder journalFolder{""};
  const install::JournalFolder& journal() const override { return journalFolder; }
  std::vector<std::string> recovered;
  mutable std::mutex mu;
  SignaturePolicy signatures;  // guarded by mu
  std::optional<install::FolderLock> lock;

  std::string backendOf(const std::string& id) const { return layout.backendDir + "/" + id; }
  std::string frontendOf(const std::string& id) const { return layout.frontendDir + "/" + id; }
  std::string incoming(const std::string& dir, const Journal& j) const { return dir + "/." + j.id + ".incoming-" + j.op; }
  std::string stagedDir(const Journal& j) const { return stagingDir + "/" + j.op + "/" + j.id; }

  // The panel's database: its SQLite file or its PostgreSQL server, with
  // the installer's tables and addon_installations made when missing.
  Result<std::unique_ptr<install::MigrationTarget>> openDb() const {
    Result<std::unique_ptr<install::MigrationTarget>> db = Error::internal("");
    if (isPostgresUrl(layout.database)) {
      db = install::postgresTarget(layout.database);
    } else {
      std::error_code ec;
      fs::create_directories(fs::path(layout.database).parent_path(), ec);
      db = install::openSqliteTarget(layout.database);
    }
    if (!db) return db.error();
    if (auto s = install::ensureBookkeeping(**db); !s) return s.error();
    const char* key = (*db)->isPostgres() ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
    if (auto s = (*db)->exec(std::string("CREATE TABLE IF NOT EXISTS addon_installations (id ") + key +
                             ", addon_id TEXT NOT NULL UNIQUE, version TEXT NOT NULL, installed_at TEXT NOT NULL, source TEXT NOT NULL, "
                             "sha256 TEXT NOT NULL)");
        !s) {
      return s.error();
    }
    return db;
  }

  Result<json> readRegistry() const {
    auto j = readJsonFile(layout.registryFile, json{{"addons", json::object()}});
    if (!j) return j;
    if (!j->contains("addons") || !(*j)["addons"].is_object()) return Error::invalid(layout.registryFile + ": \"addons\" must be an object");
    return j;
  }

  bool committedInDatabase(const Journal& j) override {
    auto db = openDb();
    return db && install::committedOperation(**db, j.op);
  }

  Status rollForward(const Journal& j) override {
    std::error_code ec;
    if (j.kind == OperationKind::kInstall) {
      // Steps 6 and 7: the backend and frontend files in place.
      for (const auto& [dir, target] : {std::pair{layout.backendDir, backendOf(j.id)}, std::pair{layout.frontendDir, frontendOf(j.id)}}) {
        const std::string in = incoming(dir, j);
        if (fs::exists(in, ec)) {
          if (auto s = removeTree(target); !s) return s;
          fs::rename(in, target, ec);
          if (ec) return Error::io(target + ": " + ec.message());
          if (auto s = syncFolder(dir); !s) return s;
        }
      }
      crashPoint("panel:placed");
      // Step 9: addon_registry.json.
      auto registry = readRegistry();
      if (!registry) return registry.error();
      json entry = parseJsonOrDiscarded<json>(j.payload.empty() ? "{}" : j.payload);  // the entry, prepared before the commit
      if ((*registry)["addons"][j.id] != entry) {
        (*registry)["addons"][j.id] = entry;
        if (auto s = writeFileAtomically(layout.registryFile, registry->dump(2) + "\n"); !s) return s;
      }
      crashPoint("panel:registered");
    } else {
      // Uninstall steps 4 to 6.
      if (auto s = removeTree(backendOf(j.id)); !s) return s;
      crashPoint("panel:backend-removed");
      if (auto s = removeTree(frontendOf(j.id)); !s) return s;
      crashPoint("panel:frontend-removed");
      auto registry = readRegistry();
      if (!registry) return registry.error();
      if ((*registry)["addons"].contains(j.id)) {
        (*registry)["addons"].erase(j.id);
        if (auto s = writeFileAtomically(layout.registryFile, registry->dump(2) + "\n"); !s) return s;
      }
      crashPoint("panel:unregistered");
    }
    // Step 11: the temporary files.
    return removeTree(stagingDir + "/" + j.op);
  }

  Status rollBack(const Journal& j) override {
    if (auto s = removeTree(stagingDir + "/" + j.op); !s) return s;
    if (j.kind == OperationKind::kInstall) {
      if (auto s = removeTree(incoming(layout.backendDir, j)); !s) return s;
      if (auto s = removeTree(incoming(layout.frontendDir, j)); !s) return s;
    }
    return {};
  }

  Status recover() {
    std::error_code ec;
    auto done = install::recoverOperations(*this);
    if (!done) return done.error();
    for (const auto& r : *done) recovered.push_back(r.describe());
    for (const auto& entry : fs::directory_iterator(stagingDir, ec)) {
      if (!fs::exists(journalFolder.dir() + "/" + entry.path().filename().string() + ".json")) (void)removeTree(entry.path().string());
    }
    fs::path registryDir = fs::path(layout.registryFile).parent_path();
    for (const auto& entry : fs::directory_iterator(registryDir, ec)) {
      if (entry.path().filename().string().find(".tmp-") != std::string::npos) fs::remove(entry.path(), ec);
    }
    return {};
  }

};

PanelInstaller::PanelInstaller(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PanelInstaller::~PanelInstaller() = default;

Result<std::unique_ptr<PanelInstaller>> PanelInstaller::open(const PanelLayout& layout) {
  auto impl = std::make_unique<Impl>();
  impl->layout = layout;
  impl->stateDir = (fs::path(layout.registryFile).parent_path() / ".patchbay-install").string();
  impl->journalFolder = install::JournalFolder(impl->stateDir + "/journal");
  impl->stagingDir = impl->stateDir + "/staging";
  auto folderLock = install::FolderLock::acquire(impl->stateDir, "a running `patchbay panel serve` installs through its endpoints "
                                                                 "(POST /api/v1/marketplace/install); or stop it first");
  if (!folderLock) return folderLock.error();
  impl->lock.emplace(std::move(*folderLock));
  std::error_code ec;
  for (const std::string& dir : {layout.backendDir, layout.frontendDir, impl->journalFolder.dir(), impl->stagingDir}) {
    fs::create_directories(dir, ec);
    if (ec) return Error::io(dir + ": " + ec.message());
  }
  // The panel's database with the installer's tables and addon_installations, made now when missing.
  if (auto db = impl->openDb(); !db) {
    const std::string where = isPostgresUrl(layout.database) ? redactedPostgresUrl(layout.database) : layout.database;
    return db.error().message.starts_with(where) ? db.error() : Error{db.error().kind, where + ": " + db.error().message};
  }
  std::lock_guard lock(impl->mu);
  if (auto s = impl->recover(); !s) return s.error();
  return std::unique_ptr<PanelInstaller>(new PanelInstaller(std::move(impl)));
}

const std::vector<std::string>& PanelInstaller::recovered() const { return impl_->recovered; }

void PanelInstaller::setSignaturePolicy(SignaturePolicy policy) {
  std::lock_guard lock(impl_->mu);
  impl_->signatures = std::move(policy);
}

std::vector<PanelAddon> PanelInstaller::installed() const {
  std::vector<PanelAddon> out;
  auto registry = impl_->readRegistry();
  if (!registry) return out;
  for (const auto& [id, e] : (*registry)["addons"].items()) {
    out.push_back({id, e.value("name", id), e.value("version", ""), e.value("installed_at", ""), e.value("backend_path", ""),
                   e.value("frontend_path", "")});
  }
  return out;
}

Result<OperationReport> PanelInstaller::install(const std::string& id, const std::string& rangeText, PackageSource& source,
                                                const ProgressFn& progress) {
  Impl& m = *impl_;
  if (!isValidPluginId(id)) return Error::invalid("\"" + id + "\" is not a plugin id (lowercase letters, digits, - and _)");
  auto range = parseRequestedRange(rangeText);
  if (!range) return range.error();
  std::lock_guard lock(m.mu);
  const auto started = std::chrono::steady_clock::now();
  auto registry = m.readRegistry();
  if (!registry) return registry.error();
  if ((*registry)["addons"].contains(id)) return Error::conflict(id + " is already installed in " + m.layout.registryFile);
  std::error_code ec;
  if (fs::exists(m.backendOf(id), ec) || fs::exists(m.frontendOf(id), ec)) {
    return Error::conflict(m.backendOf(id) + " or " + m.frontendOf(id) + " exists but is not in addon_registry.json; move it away first");
  }
  // Steps 2 and 3: the source has it; download.
  auto package = source.fetch(id, *range, progress);
  if (!package) return package.error();

  Journal j;
  j.op = install::JournalFolder::newOperationId();
  j.kind = OperationKind::kInstall;
  j.id = id;
  j.toVersion = package->version.toString();
  j.source = source.describe() + ": " + package->origin;
  j.sha256 = package->sha256;
  j.at = utcNowMillis();
  install::Operation op(m, j);
  if (auto s = op.begin(); !s) return s.error();
  OperationReport report{OperationKind::kInstall, id, "", j.toVersion, {}, {}, false, 0};
  auto fail = [&](const Error& e) -> Result<OperationReport> { return op.fail(e); };

  // Step 4: unpack to a staging folder.
  const std::string staged = m.stagedDir(j);
  fs::create_directories(staged, ec);
  if (auto x = extractZip(package->bytes, staged); !x) return fail(Error{x.error().kind, package->fileName + ": " + x.error().message});
  crashPoint("panel:extracted");
  // Step 5: metadata.json, read and checked.
  ManifestReport manifest = loadManifestFromFolder(staged);
  if (!manifest.ok()) return fail(Error::invalid(package->fileName + ": " + manifest.errorText()));
  if (manifest.manifest->id != id) return fail(Error::invalid(package->fileName + ": its metadata names \"" + manifest.manifest->id + "\", not \"" + id + "\""));
  if (auto s = checkSignaturePolicy(m.signatures, *package, *manifest.manifest); !s) return fail(s.error());
  auto migrations = install::Migrations::read(staged);
  if (!migrations) return fail(Error::invalid(package->fileName + ": " + migrations.error().message));
  const bool hasBackend = fs::is_directory(fs::path(staged) / "backend", ec);
  const bool hasFrontend = fs::is_directory(fs::path(staged) / "frontend", ec);
  if (!hasBackend && !hasFrontend) return fail(Error::invalid(package->fileName + ": has neither backend/ nor frontend/ (seed 002's package layout)"));
  // Steps 6 and 7, prepared: copies beside their final places, under names the panel does not read.
  if (hasBackend) {
    const std::string in = m.incoming(m.layout.backendDir, j);
    if (auto s = copyTree(fs::path(staged) / "backend", in); !s) return fail(s.error());
    if (fs::exists(fs::path(staged) / "migrations", ec)) {
      if (auto s = copyTree(fs::path(staged) / "migrations", fs::path(in) / "migrations"); !s) return fail(s.error());
    }
    std::error_code copied;
    fs::copy_file(fs::path(staged) / manifest.manifest->file, fs::path(in) / manifest.manifest->file, copied);
    if (copied) return fail(Error::io(in + ": " + copied.message()));
  }
  if (hasFrontend) {
    if (auto s = copyTree(fs::path(staged) / "frontend", m.incoming(m.layout.frontendDir, j)); !s) return fail(s.error());
  }
  crashPoint("panel:prepared");
  // The registry entry, kept in the journal so that finishing it later writes the same.
  auto metadataText = readFileLimited(staged + "/" + manifest.manifest->file, 1 << 20);
  json entry = {{"id", id},
                {"name", manifest.manifest->name},
                {"version", j.toVersion},
                {"installed_at", j.at},
                {"backend_path", hasBackend ? m.backendOf(id) : ""},
                {"frontend_path", hasFrontend ? m.frontendOf(id) : ""},
                {"metadata", metadataText ? parseJsonOrDiscarded<json>(*metadataText) : json::object()}};
  if (auto s = op.rewrite([&](Journal& journal) { journal.payload = entry.dump(); }); !s) return fail(s.error());

  // Steps 8 and 10, the commit: up.sql and the addon_installations row in one transaction.
  auto db = m.openDb();
  if (!db) return fail(db.error());
  install::DatabaseChange change{id, install::planInstall(*migrations, install::appliedSteps(**db, id)), j.op, j.toVersion, "installed", {}};
  change.alsoInTransaction = [&](install::MigrationTarget& d) -> Status {
    auto row = d.query("INSERT INTO addon_installations (addon_id, version, installed_at, source, sha256) VALUES ($1, $2, $3, $4, $5)",
                       {id, j.toVersion, j.at, j.source, j.sha256});
    return row ? Status{} : Status{row.error()};
  };
  for (const auto& step : change.steps) report.migrations.push_back(step.name);
  // Steps 6, 7, 9 and 11 follow the commit.
  if (auto s = op.commit(**db, change); !s) return s.error();
  report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Result<OperationReport> PanelInstaller::uninstall(const std::string& id) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  const auto started = std::chrono::steady_clock::now();
  // Step 2: what addon_registry.json says is installed.
  auto registry = m.readRegistry();
  if (!registry) return registry.error();
  if (!(*registry)["addons"].contains(id)) return Error::notFound(id + " is not installed (not in " + m.layout.registryFile + ")");
  Journal j;
  j.op = install::JournalFolder::newOperationId();
  j.kind = OperationKind::kUninstall;
  j.id = id;
  j.fromVersion = (*registry)["addons"][id].value("version", "");
  j.at = utcNowMillis();
  install::Operation op(m, j);
  if (auto s = op.begin(); !s) return s.error();
  OperationReport report{OperationKind::kUninstall, id, j.fromVersion, "", {}, {}, false, 0};
  auto fail = [&](const Error& e) -> Result<OperationReport> { return op.fail(e); };
  auto migrations = install::Migrations::read(m.backendOf(id));
  if (!migrations) return fail(migrations.error());
  auto db = m.openDb();
  if (!db) return fail(db.error());
  // Steps 3 and 7, the commit: down.sql and the addon_installations row gone, in one transaction.
  install::DatabaseChange change{id, install::planUninstall(*migrations, install::appliedSteps(**db, id)), j.op, j.fromVersion, "uninstalled", {}};
  change.alsoInTransaction = [&](install::MigrationTarget& d) -> Status {
    auto row = d.query("DELETE FROM addon_installations WHERE addon_id = $1", {id});
    return row ? Status{} : Status{row.error()};
  };
  for (const auto& step : change.steps) report.migrations.push_back(step.name);
  // Steps 4, 5 and 6 follow the commit.
  if (auto s = op.commit(**db, change); !s) return s.error();
  report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace patchbay
