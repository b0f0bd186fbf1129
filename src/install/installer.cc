// The installer of a patchbay host's data folder: journaled operations
// whose commit point is one transaction in the plugin's database (see
// patchbay/install.h for the layout and the rules).
#include "patchbay/install.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "install/crash_point.h"
#include "install/journal.h"
#include "install/migrations.h"
#include "install/operation.h"
#include "patchbay/archive.h"
#include "patchbay/clock.h"
#include "patchbay/data_folder.h"
#include "patchbay/files.h"
#include "patchbay/integrity.h"
#include "patchbay/manifest.h"
#include "patchbay/package.h"
#include "patchbay/postgres.h"
#include "patchbay/store.h"
#include "patchbay/version.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using install::crashPoint;
using install::Journal;
using install::readJsonFile;
using install::removeTree;

namespace {

// A source's download progress as the operation's.
ProgressFn downloadProgress(const std::string& pluginId, const OperationProgressFn& progress) {
  if (!progress) return {};
  return [pluginId, progress](uint64_t done, uint64_t total) { progress({pluginId, OperationStep::kDownload, done, total}); };
}

// The version a manifest's host range is checked against.
std::optional<Version> hostVersionFor(const std::string& key) {
  if (key == "patchbay" || key == "engines.patchbay") return version();
  if (key == "sodium" || key == "engines.sodium") return Version::parse("1.0.0").value();  // the Sodium plugin API patchbay implements
  return std::nullopt;
}

}  // namespace

struct Installer::Impl final : install::OperationSteps {
  std::shared_ptr<DataFolder> folder;  // owned with the host, when there is one
  // Where things are: the folder's.
  const std::string& dataDir() const { return folder->root(); }
  const std::string& pluginsDir() const { return folder->pluginsDir(); }
  std::string versionsDir() const { return folder->versionsDir(); }
  std::string pluginDataDir() const { return folder->pluginDataDir(); }
  std::string stateDir() const { return folder->installerDir(); }
  std::string stagingDir() const { return stateDir() + "/staging"; }
  std::string installedPath() const { return folder->installedFile(); }
  // config.json's "database": plugin data in PostgreSQL, "" = SQLite files.
  const std::string& postgresUrl() const { return folder->postgresUrl(); }
  bool readOnly = false;    // openForReading: no lock, no operations
  Status refuseIfReadOnly() const {
    if (!readOnly) return {};
    return Error::unsupported(dataDir() + " was opened for reading only (a running host may hold it): install, upgrade and uninstall need Installer::open");
  }
  install::JournalFolder journalFolder{""};
  const install::JournalFolder& journal() const override { return journalFolder; }
  LiveHost live;
  SignaturePolicy signatures;  // guarded by mu
  std::vector<std::string> recovered;
  mutable std::mutex mu;  // one operation at a time

  // --- state files ---------------------------------------------------------
  Result<json> readInstalled() const {
    auto j = readJsonFile(installedPath(), json{{"plugins", json::object()}});
    if (!j) return j;
    if (!(*j)["plugins"].is_object()) return Error::invalid(installedPath() + ": \"plugins\" must be an object");
    return j;
  }
  Status writeInstalled(const json& j) { return writeFileAtomically(installedPath(), j.dump(2) + "\n"); }

  std::vector<std::string> activeSet() const { return folder->activePlugins(); }
  Status setActive(const std::string& id, bool on) { return folder->setActive(id, on); }

  // --- the plugin's database -------------------------------------------------
  std::string dataFolder(const std::string& id) const { return pluginDataDir() + "/" + id; }
  Result<std::unique_ptr<install::MigrationTarget>> openPluginDb(const std::string& id) {
    std::error_code ec;
    fs::create_directories(dataFolder(id), ec);
    if (ec) return Error::io(dataFolder(id) + ": " + ec.message());
    if (!postgresUrl().empty()) return install::postgresPluginTarget(postgresUrl(), id, "");
    return install::openSqliteTarget(dataFolder(id) + "/data.db");
  }
  // The plugin's database for reading the bookkeeping only (nothing made), or nullptr.
  std::unique_ptr<install::MigrationTarget> readPluginDb(const std::string& id) const {
    std::error_code ec;
    if (!postgresUrl().empty()) {
      auto db = install::postgresPluginReader(postgresUrl(), id, "");
      return db ? std::move(*db) : nullptr;
    }
    if (!fs::exists(dataFolder(id) + "/data.db", ec)) return nullptr;
    auto db = install::openSqliteTarget(dataFolder(id) + "/data.db");
    return db ? std::move(*db) : nullptr;
  }
  bool committedInDatabase(const Journal& j) override {
    auto db = readPluginDb(j.id);
    return db && install::committedOperation(*db, j.op);
  }
  // Whether the plugin has data from before (a folder, or its schema).
  bool hasData(const std::string& id) const {
    std::error_code ec;
    if (fs::exists(dataFolder(id), ec)) return true;
    if (postgresUrl().empty()) return false;
    auto pg = PgConnection::connect(postgresUrl());
    if (!pg) return false;
    auto schema = pluginSchemaName(*pg, id, "");
    if (!schema) return false;
    auto rows = pg->query("SELECT 1 FROM pg_namespace WHERE nspname = $1", {*schema});
    return rows && !rows->empty();
  }
  // Removes the plugin's data: its folder, and its schema and role.
  Status removeData(const std::string& id) {
    if (auto s = removeTree(dataFolder(id)); !s) return s;
    if (postgresUrl().empty()) return {};
    auto pg = PgConnection::connect(postgresUrl());
    if (!pg) return pg.error();
    return dropPluginSchema(*pg, id, "");
  }

  // --- where an installed plugin's files are -----------------------------------
  std::string linkPath(const std::string& id) const { return pluginsDir() + "/" + id; }
  // The version folder plugins/<id> points to, "" when it is not a link the installer made.
  std::string currentDir(const std::string& id) const {
    std::error_code ec;
    if (!fs::is_symlink(linkPath(id), ec)) return "";
    fs::path target = fs::read_symlink(linkPath(id), ec);
    if (ec) return "";
    return (fs::path(pluginsDir()) / target).lexically_normal().string();
  }
  std::string newVersionDir(const std::string& id, const Version& v, const std::string& op) const {
    return versionsDir() + "/" + id + "@" + v.toString() + "-" + op;
  }

  // Where a package is unpacked and checked: a folder named after the
  // plugin (its manifest's id must match the folder's name).
  std::string stagedDir(const Journal& j) const { return stagingDir() + "/" + j.op + "/" + j.id; }

  // --- finishing and undoing -----------------------------------------------------
  Status rollForward(const Journal& j) override {
    if (j.kind == OperationKind::kInstall || j.kind == OperationKind::kUpgrade) {
      const std::string staged = stagedDir(j);
      std::error_code ec;
      if (!fs::exists(j.newDir, ec) && fs::exists(staged, ec)) {
        fs::rename(staged, j.newDir, ec);
        if (ec) return Error::io(j.newDir + ": " + ec.message());
      }
      // Switch plugins/<id> to the new version: a new link renamed over the old.
      const std::string tmpLink = pluginsDir() + "/.link-" + j.op;
      fs::remove(tmpLink, ec);
      fs::create_symlink(fs::relative(j.newDir, pluginsDir()), tmpLink, ec);
      if (ec) return Error::io(tmpLink + ": " + ec.message());
      if (::rename(tmpLink.c_str(), linkPath(j.id).c_str()) != 0) return Error::io(linkPath(j.id) + ": cannot switch the link");
      if (auto s = syncFolder(pluginsDir()); !s) return s;
      crashPoint("forward:switched");
      auto installed = readInstalled();
      if (!installed) return installed.error();
      json record = {{"version", j.toVersion}, {"source", j.source}, {"sha256", j.sha256}, {"installedAt", j.at},
                     {"dir", fs::relative(j.newDir, dataDir()).string()}};
      if ((*installed)["plugins"][j.id] != record) {
        (*installed)["plugins"][j.id] = record;
        if (auto s = writeInstalled(*installed); !s) return s;
      }
      crashPoint("forward:registered");
      if (j.activate) {
        if (auto s = setActive(j.id, true); !s) return s;
      }
      crashPoint("forward:activated");
      if (!j.oldDir.empty() && j.oldDir != j.newDir) {
        if (auto s = removeTree(j.oldDir); !s) return s;
      }
      if (auto s = removeTree(stagingDir() + "/" + j.op); !s) return s;
      crashPoint("forward:cleaned");
    } else {
      if (auto s = setActive(j.id, false); !s) return s;
      crashPoint("forward:deactivated");
      auto installed = readInstalled();
      if (!installed) return installed.error();
      if ((*installed)["plugins"].contains(j.id)) {
        (*installed)["plugins"].erase(j.id);
        if (auto s = writeInstalled(*installed); !s) return s;
      }
      crashPoint("forward:unregistered");
      std::error_code ec;
      fs::remove(linkPath(j.id), ec);
      if (auto s = syncFolder(pluginsDir()); !s) return s;
      crashPoint("forward:unlinked");
      if (!j.oldDir.empty()) {
        if (auto s = removeTree(j.oldDir); !s) return s;
      }
      crashPoint("forward:files-removed");
      if (!j.keepData) {
        if (auto s = removeData(j.id); !s) return s;
      }
      crashPoint("forward:data-removed");
    }
    return {};
  }

  Status rollBack(const Journal& j) override {
    if (auto s = removeTree(stagingDir() + "/" + j.op); !s) return s;
    if (!j.newDir.empty() && j.newDir != currentDir(j.id)) {
      if (auto s = removeTree(j.newDir); !s) return s;
    }
    if (j.kind == OperationKind::kInstall && !j.hadData) {
      if (auto s = removeData(j.id); !s) return s;
    }
    return {};
  }

  // Every journal left by a crash: finished when it committed, else undone.
  Status recover() {
    std::error_code ec;
    auto done = install::recoverOperations(*this);
    if (!done) return done.error();
    for (const auto& r : *done) recovered.push_back(r.describe());
    // Leftovers of operations that never got as far as a journal entry, and
    // temporary files of atomic writes that were cut short.
    for (const auto& entry : fs::directory_iterator(dataDir(), ec)) {
      if (entry.path().filename().string().find(".tmp-") != std::string::npos) fs::remove(entry.path(), ec);
    }
    for (const auto& entry : fs::directory_iterator(stagingDir(), ec)) {
      if (!fs::exists(journalFolder.dir() + "/" + entry.path().filename().string() + ".json")) (void)removeTree(entry.path().string());
    }
    for (const auto& entry : fs::directory_iterator(pluginsDir(), ec)) {
      if (entry.path().filename().string().starts_with(".link-")) fs::remove(entry.path(), ec);
    }
    return {};
  }

  // --- the operations ------------------------------------------------------------

  // Unpacks, checks and puts the package's files where nothing reads them
  // yet (the new version folder). Returns its manifest.
  Result<Manifest> stage(const Journal& j, const FetchedPackage& package) {
    const std::string staged = stagedDir(j);
    std::error_code ec;
    fs::create_directories(staged, ec);
    if (ec) return Error::io(staged + ": " + ec.message());
    if (auto x = extractZip(package.bytes, staged); !x) return Error{x.error().kind, package.fileName + ": " + x.error().message};
    crashPoint("stage:extracted");
    ManifestReport report = loadManifestFromFolder(staged);
    if (!report.ok()) return Error::invalid(package.fileName + ": " + report.errorText());
    const Manifest& m = *report.manifest;
    if (m.id != j.id) return Error::invalid(package.fileName + ": its manifest's id is \"" + m.id + "\", not \"" + j.id + "\"");
    if (!(m.version == package.version)) {
      return Error::invalid(package.fileName + ": its manifest says version " + m.version.toString() + ", the source " + package.version.toString());
    }
    if (auto migrations = install::Migrations::read(staged); !migrations) return Error::invalid(package.fileName + ": " + migrations.error().message);
    if (auto s = syncTree(staged); !s) return s.error();
    fs::create_directories(versionsDir(), ec);
    fs::rename(staged, j.newDir, ec);
    if (ec) return Error::io(j.newDir + ": " + ec.message());
    if (auto s = syncFolder(versionsDir()); !s) return s.error();
    crashPoint("stage:placed");
    return m;
  }

  Status checkHost(const Manifest& m) const {
    if (m.hostKey.empty() || m.hostRange.empty()) return {};
    auto host = hostVersionFor(m.hostKey);
    if (!host) return {};  // another host's range: not ours to judge
    auto range = Range::parse(m.hostRange);
    if (!range) return Error::invalid(m.id + ": " + m.hostKey + " range \"" + m.hostRange + "\": " + range.error().message);
    if (!range->satisfiedBy(*host)) {
      return Error::unsupported(m.id + " " + m.version.toString() + " needs " + m.hostKey + " " + m.hostRange + "; this host is " + host->toString());
    }
    return {};
  }

  // localOnly: the plugin's database is not touched (Installer::removeLocalCopy).
  Result<OperationReport> uninstallOne(const std::string& id, bool keepData, const OperationProgressFn& progress = {}, bool localOnly = false);

  // One plugin, all or nothing.
  Result<OperationReport> installOne(const FetchedPackage& package, const Manifest& manifest, const std::string& sourceName,
                                     bool activate, const OperationProgressFn& progress) {
    auto step = [&](OperationStep s) {
      if (progress) progress({manifest.id, s, 0, 0});
    };
    const auto started = std::chrono::steady_clock::now();
    Journal j;
    j.op = install::JournalFolder::newOperationId();
    j.kind = OperationKind::kInstall;
    j.id = manifest.id;
    j.toVersion = package.version.toString();
    j.newDir = newVersionDir(j.id, package.version, j.op);
    j.source = sourceName + ": " + package.origin;
    j.sha256 = package.sha256;
    j.at = utcNowMillis();
    j.hadData = hasData(j.id);
    j.activate = activate;
    install::Operation op(*this, j);
    if (auto s = op.begin(); !s) return s.error();
    OperationReport report{OperationKind::kInstall, j.id, "", j.toVersion, {}, {}, false, 0};
    step(OperationStep::kUnpack);
    auto staged = stage(j, package);
    if (!staged) return op.fail(staged.error());
    auto migrations = install::Migrations::read(j.newDir);
    if (!migrations) return op.fail(migrations.error());
    auto db = openPluginDb(j.id);
    if (!db) return op.fail(db.error());
    if (auto s = install::ensureBookkeeping(**db); !s) return op.fail(s.error());
    install::DatabaseChange change{j.id, install::planInstall(*migrations, install::appliedSteps(**db, j.id)), j.op, j.toVersion, "installed", {}};
    for (const auto& migration : change.steps) report.migrations.push_back(migration.name);
    step(OperationStep::kMigrate);
    if (auto s = op.commit(**db, change); !s) return s.error();
    if (activate && live.activate) {
      step(OperationStep::kActivate);
      if (auto s = live.activate(j.id); !s) report.startError = s.error().message;
    }
    report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return report;
  }
};

Installer::Installer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Installer::~Installer() = default;

Result<std::unique_ptr<Installer>> Installer::open(const std::string& dataDir, LiveHost live) {
  auto folder = DataFolder::open(dataDir);
  if (!folder) return folder.error();
  return open(std::move(*folder), std::move(live));
}

Result<std::unique_ptr<Installer>> Installer::openForReading(const std::string& dataDir) {
  auto folder = DataFolder::openForReading(dataDir);
  if (!folder) return folder.error();
  return openIn(std::move(*folder), {});
}

Result<std::unique_ptr<Installer>> Installer::open(std::shared_ptr<DataFolder> folder, LiveHost live) {
  if (!folder->writable()) return Error::unsupported(folder->root() + " was opened for reading only: the installer needs DataFolder::open");
  return openIn(std::move(folder), std::move(live));
}

Result<std::unique_ptr<Installer>> Installer::openIn(std::shared_ptr<DataFolder> folder, LiveHost live) {
  auto impl = std::make_unique<Impl>();
  impl->readOnly = !folder->writable();
  impl->folder = std::move(folder);
  impl->journalFolder = install::JournalFolder(impl->stateDir() + "/journal");
  impl->live = std::move(live);
  if (impl->readOnly) return std::unique_ptr<Installer>(new Installer(std::move(impl)));
  std::error_code ec;
  for (const std::string& dir : {impl->pluginsDir(), impl->journalFolder.dir(), impl->stagingDir()}) {
    fs::create_directories(dir, ec);
    if (ec) return Error::io(dir + ": " + ec.message());
  }
  std::lock_guard lock(impl->mu);
  if (auto s = impl->recover(); !s) return s.error();
  return std::unique_ptr<Installer>(new Installer(std::move(impl)));
}

const std::vector<std::string>& Installer::recovered() const { return impl_->recovered; }
const DataFolder& Installer::dataFolder() const { return *impl_->folder; }

void Installer::setSignaturePolicy(SignaturePolicy policy) {
  std::lock_guard lock(impl_->mu);
  impl_->signatures = std::move(policy);
}

std::vector<InstalledPlugin> Installer::installed() const {
  std::vector<InstalledPlugin> out;
  auto j = impl_->readInstalled();
  if (!j) return out;
  auto active = impl_->activeSet();
  for (const auto& [id, r] : (*j)["plugins"].items()) {
    InstalledPlugin p;
    p.id = id;
    if (auto v = Version::parse(r.value("version", ""))) p.version = *v;
    p.source = r.value("source", "");
    p.sha256 = r.value("sha256", "");
    p.installedAt = r.value("installedAt", "");
    p.active = std::find(active.begin(), active.end(), id) != active.end();
    if (auto db = impl_->readPluginDb(id)) p.migrations = install::appliedSteps(*db, id);
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<InstalledPlugin> Installer::find(const std::string& id) const {
  for (auto& p : installed()) {
    if (p.id == id) return p;
  }
  return std::nullopt;
}

Result<OperationReport> Installer::install(const std::string& id, const std::string& rangeText, PackageSource& source,
                                           const InstallOptions& options, const OperationProgressFn& progress) {
  if (auto s = impl_->refuseIfReadOnly(); !s) return s.error();
  if (!isValidPluginId(id)) return Error::invalid("\"" + id + "\" is not a plugin id (lowercase letters, digits, - and _)");
  auto range = parseRequestedRange(rangeText);
  if (!range) return range.error();
  std::lock_guard lock(impl_->mu);
  auto installedNow = impl_->readInstalled();
  if (!installedNow) return installedNow.error();
  auto isInstalled = [&](const std::string& pid) { return (*installedNow)["plugins"].contains(pid); };
  if (isInstalled(id)) {
    return Error::conflict(id + " " + (*installedNow)["plugins"][id].value("version", "") + " is already installed (use upgrade)");
  }

  // Resolve everything first (the plugin and what it requires, recursively):
  // a missing or conflicting dependency or a cycle changes nothing.
  struct Planned {
    FetchedPackage package;
    Manifest manifest;
  };
  std::vector<Planned> order;  // dependencies first
  std::vector<std::string> stack;
  std::function<Status(const std::string&, const Range&, const std::string&)> resolve =
      [&](const std::string& pid, const Range& want, const std::string& wantedBy) -> Status {
    if (std::find(stack.begin(), stack.end(), pid) != stack.end()) {
      std::string cycle;
      for (auto it = std::find(stack.begin(), stack.end(), pid); it != stack.end(); ++it) cycle += *it + " -> ";
      return Error::invalid("a cycle in requires: " + cycle + pid);
    }
    for (const auto& p : order) {
      if (p.manifest.id != pid) continue;
      if (!want.satisfiedBy(p.manifest.version)) {
        return Error::conflict(wantedBy + " requires " + pid + " " + want.text() + ", but " + pid + " " + p.manifest.version.toString() + " is planned");
      }
      return {};
    }
    if (pid != id && isInstalled(pid)) {
      std::string have = (*installedNow)["plugins"][pid].value("version", "");
      if (!want.satisfiedBy(std::string_view(have))) {
        return Error::conflict(wantedBy + " requires " + pid + " " + want.text() + ", but " + pid + " " + have + " is installed");
      }
      return {};
    }
    if (progress) progress({pid, OperationStep::kDownload, 0, 0});
    auto fetched = source.fetch(pid, want, downloadProgress(pid, progress));
    if (!fetched) {
      if (pid == id) return fetched.error();
      return Error{fetched.error().kind, wantedBy + " requires " + pid + " " + (want.text().empty() ? "*" : want.text()) + ": " + fetched.error().message};
    }
    if (progress) progress({pid, OperationStep::kVerify, 0, 0});
    auto info = openPackage(fetched->bytes, fetched->fileName);
    if (!info) return Error{info.error().kind, fetched->origin + ": " + info.error().message};
    if (info->manifest.id != pid) return Error::invalid(fetched->origin + ": the package is \"" + info->manifest.id + "\", not \"" + pid + "\"");
    if (auto s = checkSignaturePolicy(impl_->signatures, *fetched, info->manifest); !s) return s;
    if (auto s = impl_->checkHost(info->manifest); !s) return s;
    stack.push_back(pid);
    for (const auto& req : info->manifest.requiredPlugins) {
      auto r = Range::parse(req.range);
      if (!r) return Error::invalid(pid + " requires " + req.id + " \"" + req.range + "\": " + r.error().message);
      if (auto s = resolve(req.id, *r, pid); !s) return s;
    }
    stack.pop_back();
    order.push_back({std::move(*fetched), info->manifest});
    return {};
  };
  if (auto s = resolve(id, *range, "the request"); !s) return s.error();
  std::error_code ec;
  for (const auto& p : order) {
    if (fs::exists(impl_->linkPath(p.manifest.id), ec) || fs::is_symlink(impl_->linkPath(p.manifest.id), ec)) {
      return Error::conflict(impl_->linkPath(p.manifest.id) + " exists but was not installed by patchbay; move it away first");
    }
  }

  OperationReport result;
  std::vector<std::string> done;
  for (const auto& p : order) {
    auto one = impl_->installOne(p.package, p.manifest, source.describe(), options.activate, progress);
    if (!one) {
      // Dependencies installed by this request go again: all or nothing.
      for (auto it = done.rbegin(); it != done.rend(); ++it) (void)impl_->uninstallOne(it->substr(0, it->find('@')), false);
      return one.error();
    }
    if (p.manifest.id == id) {
      one->dependencies.insert(one->dependencies.begin(), done.begin(), done.end());
      result = std::move(*one);
    } else {
      done.push_back(p.manifest.id + "@" + p.manifest.version.toString());
    }
  }
  return result;
}

Result<OperationReport> Installer::upgrade(const std::string& id, const std::string& rangeText, PackageSource& source,
                                           const OperationProgressFn& progress) {
  auto step = [&](OperationStep s) {
    if (progress) progress({id, s, 0, 0});
  };
  if (auto s = impl_->refuseIfReadOnly(); !s) return s.error();
  auto range = parseRequestedRange(rangeText);
  if (!range) return range.error();
  std::lock_guard lock(impl_->mu);
  const auto started = std::chrono::steady_clock::now();
  auto installedNow = impl_->readInstalled();
  if (!installedNow) return installedNow.error();
  if (!(*installedNow)["plugins"].contains(id)) return Error::notFound(id + " is not installed");
  const std::string fromText = (*installedNow)["plugins"][id].value("version", "");
  auto from = Version::parse(fromText);
  if (!from) return Error::invalid(impl_->installedPath() + ": " + id + " has no valid version");
  const std::string oldDir = impl_->currentDir(id);
  if (oldDir.empty()) return Error::invalid(impl_->linkPath(id) + " is not the installer's link; reinstall " + id);
  step(OperationStep::kDownload);
  auto fetched = source.fetch(id, *range, downloadProgress(id, progress));
  if (!fetched) return fetched.error();
  OperationReport report{OperationKind::kUpgrade, id, fromText, fetched->version.toString(), {}, {}, false, 0};
  if (fetched->version == *from) {
    report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return report;  // already there
  }
  if (rangeText.empty() && fetched->version < *from) return report;  // "upgrade" without a range never goes back
  step(OperationStep::kVerify);
  auto info = openPackage(fetched->bytes, fetched->fileName);
  if (!info) return Error{info.error().kind, fetched->origin + ": " + info.error().message};
  if (auto s = checkSignaturePolicy(impl_->signatures, *fetched, info->manifest); !s) return s.error();
  if (auto s = impl_->checkHost(info->manifest); !s) return s.error();
  for (const auto& req : info->manifest.requiredPlugins) {
    auto r = Range::parse(req.range);
    std::string have = (*installedNow)["plugins"].contains(req.id) ? (*installedNow)["plugins"][req.id].value("version", "") : "";
    if (!r || have.empty() || !r->satisfiedBy(std::string_view(have))) {
      return Error::conflict(id + " " + report.toVersion + " requires " + req.id + " " + req.range + (have.empty() ? " (not installed)" : " (" + have + " is installed)") +
                             ": install or upgrade it first");
    }
  }

  const auto active = impl_->activeSet();
  Journal j;
  j.op = install::JournalFolder::newOperationId();
  j.kind = OperationKind::kUpgrade;
  j.id = id;
  j.fromVersion = fromText;
  j.toVersion = report.toVersion;
  j.newDir = impl_->newVersionDir(id, fetched->version, j.op);
  j.oldDir = oldDir;
  j.source = source.describe() + ": " + fetched->origin;
  j.sha256 = fetched->sha256;
  j.at = utcNowMillis();
  j.hadData = true;
  j.wasActive = std::find(active.begin(), active.end(), id) != active.end();
  j.activate = j.wasActive;
  install::Operation op(*impl_, j);
  if (auto s = op.begin(); !s) return s.error();
  bool stopped = false;  // the old version was deactivated for the migration
  // Before the commit: the old version again, where it was stopped.
  auto restoreOld = [&] {
    if (stopped && j.wasActive && impl_->live.activate) (void)impl_->live.activate(id);
  };
  auto fail = [&](const Error& e) -> Result<OperationReport> {
    Error undone = op.fail(e);
    restoreOld();
    return undone;
  };
  step(OperationStep::kUnpack);
  auto staged = impl_->stage(j, *fetched);
  if (!staged) return fail(staged.error());
  auto fromMigrations = install::Migrations::read(oldDir);
  auto toMigrations = install::Migrations::read(j.newDir);
  if (!fromMigrations) return fail(fromMigrations.error());
  if (!toMigrations) return fail(toMigrations.error());
  // Without a gap-free switch the old version stops here (requests in
  // flight finish on it); with one it serves on through the migration.
  if (impl_->live.deactivate && !impl_->live.replace) {
    impl_->live.deactivate(id);
    stopped = true;
  }
  auto db = impl_->openPluginDb(id);
  if (!db) return fail(db.error());
  if (auto s = install::ensureBookkeeping(**db); !s) return fail(s.error());
  install::DatabaseChange change{id, install::planUpgrade(*fromMigrations, *toMigrations, install::appliedSteps(**db, id)), j.op, j.toVersion, "installed", {}};
  for (const auto& migration : change.steps) report.migrations.push_back(migration.name);
  step(OperationStep::kMigrate);
  if (auto s = op.commit(**db, change); !s) {
    if (!op.journal().committed) restoreOld();
    return s.error();
  }
  if (j.wasActive) {
    step(OperationStep::kActivate);
    Status started = impl_->live.replace ? impl_->live.replace(id) : (impl_->live.activate ? impl_->live.activate(id) : Status{});
    if (!started) report.startError = started.error().message;
  }
  if (impl_->live.upgraded) impl_->live.upgraded(id);
  report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Result<OperationReport> Installer::uninstall(const std::string& id, bool keepData, const OperationProgressFn& progress) {
  if (auto s = impl_->refuseIfReadOnly(); !s) return s.error();
  std::lock_guard lock(impl_->mu);
  return impl_->uninstallOne(id, keepData, progress);
}

Result<OperationReport> Installer::removeLocalCopy(const std::string& id, const OperationProgressFn& progress) {
  if (auto s = impl_->refuseIfReadOnly(); !s) return s.error();
  std::lock_guard lock(impl_->mu);
  return impl_->uninstallOne(id, /*keepData=*/true, progress, /*localOnly=*/true);
}

Result<OperationReport> Installer::Impl::uninstallOne(const std::string& id, bool keepData, const OperationProgressFn& progress, bool localOnly) {
  Impl* impl = this;
  auto step = [&](OperationStep s) {
    if (progress) progress({id, s, 0, 0});
  };
  const auto started = std::chrono::steady_clock::now();
  auto installedNow = impl->readInstalled();
  if (!installedNow) return installedNow.error();
  if (!(*installedNow)["plugins"].contains(id)) return Error::notFound(id + " is not installed");
  for (const auto& [other, record] : (*installedNow)["plugins"].items()) {
    if (other == id) continue;
    ManifestReport m = loadManifestFromFolder(impl->linkPath(other));
    if (!m.manifest) continue;
    for (const auto& req : m.manifest->requiredPlugins) {
      if (req.id == id) return Error::conflict(other + " requires " + id + ": uninstall " + other + " first");
    }
  }
  auto active = impl->activeSet();
  Journal j;
  j.op = install::JournalFolder::newOperationId();
  j.kind = OperationKind::kUninstall;
  j.id = id;
  j.fromVersion = (*installedNow)["plugins"][id].value("version", "");
  j.oldDir = impl->currentDir(id);
  j.at = utcNowMillis();
  j.keepData = keepData;
  j.hadData = true;
  j.wasActive = std::find(active.begin(), active.end(), id) != active.end();
  OperationReport report{OperationKind::kUninstall, id, j.fromVersion, "", {}, {}, keepData, 0};
  install::Operation op(*impl, j);
  if (auto s = op.begin(); !s) return s.error();
  // Before the commit: the plugin runs again as it did.
  auto restore = [&] {
    if (j.wasActive && impl->live.activate) (void)impl->live.activate(id);
  };
  auto fail = [&](const Error& e) -> Result<OperationReport> {
    Error undone = op.fail(e);
    restore();
    return undone;
  };
  step(OperationStep::kDeactivate);
  if (impl->live.deactivate) impl->live.deactivate(id);
  if (localOnly) {
    step(OperationStep::kRemove);
    if (auto s = op.commitFilesOnly(); !s) {
      if (!op.journal().committed) restore();
      return s.error();
    }
    report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return report;
  }
  auto db = impl->openPluginDb(id);
  if (!db) return fail(db.error());
  if (auto s = install::ensureBookkeeping(**db); !s) return fail(s.error());
  install::DatabaseChange change{id, {}, j.op, j.fromVersion, keepData ? "uninstalled, data kept" : "uninstalled", {}};
  if (!keepData && !j.oldDir.empty()) {
    auto migrations = install::Migrations::read(j.oldDir);
    if (!migrations) return fail(migrations.error());
    change.steps = install::planUninstall(*migrations, install::appliedSteps(**db, id));
  }
  for (const auto& migration : change.steps) report.migrations.push_back(migration.name);
  step(OperationStep::kMigrate);
  if (auto s = op.commit(**db, change, [&] { step(OperationStep::kRemove); }); !s) {
    if (!op.journal().committed) restore();
    return s.error();
  }
  report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace patchbay
