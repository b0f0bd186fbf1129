// patchbay/install.h — installing, upgrading and uninstalling plugin
// packages in a patchbay host's data folder, all or nothing.
//
// Sources (seed 002): a local folder of {id}_v{version}.zip files (the
// panel's modules/ folder) or a remote registry (PLUGIN_SERVER_URL). Remote
// packages are checked against the registry's Ed25519-signed metadata
// (sha256, status) with the registry's key, pinned at first use.
//
// What an installed plugin is, in DATA (the host's data folder):
//   plugins/<id>                  a symbolic link to the installed version:
//   plugins/.versions/<id>@<v>-<op>/   the package's files, never changed
//   plugin-data/<id>/data.db      the plugin's own database: its migrations'
//                                 tables, its collections, and the
//                                 installer's bookkeeping (_patchbay_*)
//   installed.json                what was installed, from where, when
//   config.json                   plugins.active: the active set
//
// Every operation is journaled (.install/journal/<op>.json, fsynced) before
// it changes anything. Its commit point is one SQLite transaction in the
// plugin's database holding every migration step (each in a savepoint of
// its own) and the operation's id. Before it, nothing visible has changed
// (new files wait under names nothing reads) and an interrupted operation is
// rolled back; after it, the rest (switching the link, installed.json,
// config.json, removing old files) is redone until done. Installer::open
// finishes or rolls back what a crash left, so the state is always exactly
// the old one or exactly the new one.
//
// Migrations in a package's migrations/ folder:
//   up.sql, down.sql               seed 001/002's: run on install / uninstall
//   NNNN_name.up.sql, .down.sql    versioned steps: an upgrade runs the up
//                                  steps the installed version lacks, in
//                                  order (a downgrade the old version's down
//                                  steps it no longer has, in reverse)
// Uninstall runs the versioned down steps in reverse, then down.sql, and
// removes the plugin's data; --keep-data keeps both tables and data.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"
#include "patchbay/semver.h"

namespace patchbay {

// Where packages come from.
struct SourceConfig {
  enum class Kind { kLocal, kRemote };
  Kind kind = Kind::kLocal;
  std::string localDir = "modules";  // {id}_v{version}.zip files
  std::string serverUrl;             // a patchbay registry (or seed 002's server)
  std::string registryKey;           // the registry's public key (base64); empty: pinned at first use
  std::string downloadKey;           // the registry's download API key, if it has one
  // A plain plugin server (seed 000's: /api/plugins and /download/... only)
  // signs no metadata. Installing from one is refused unless this is set
  // (the user's explicit choice for this URL); then the download's size is
  // checked against the listing, and a .minisig beside it is fetched for
  // the signature policy.
  bool allowUnsignedMetadata = false;
};

// Seed 002's switch over `base` (a configuration file's values):
// PLUGIN_SOURCE=local|remote, PLUGIN_SERVER_URL=<url> (remote), and
// PLUGIN_MODULES_DIR=<folder> (local). Flags are applied by the caller after.
// An unknown PLUGIN_SOURCE, or remote without a URL, is an error.
Result<SourceConfig> applySourceEnvironment(SourceConfig base, const std::function<const char*(const char*)>& getEnv);
// The registry's URL from the environment: PATCHBAY_REGISTRY, else seed
// 002's PLUGIN_SERVER_URL, accepted as the same; "" when neither is set.
std::string registryUrlFromEnvironment(const std::function<const char*(const char*)>& getEnv);

// A version request as users write it: a semver range, or "latest" / ""
// for the highest version.
Result<Range> parseRequestedRange(const std::string& text);

// Download progress: bytes so far and the total (0 when unknown).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// A plugin as a source lists it (the marketplace's rows).
struct AvailablePlugin {
  std::string id, name, description;
  Version latest;
  std::vector<Version> versions;  // newest first
  std::string author, category;   // the latest version's ("" when the source does not say)
  uint64_t size = 0;              // bytes of the latest package (0: unknown)
  uint64_t downloads = 0;         // all versions (registries count them; 0 otherwise)
  std::string updatedAt;          // ISO 8601 of the latest version ("" when unknown)
  bool publisherSigned = false;   // the latest version carries a .minisig
};

// One version of a plugin, as a marketplace shows it before installing.
struct VersionDetails {
  Version version;
  uint64_t size = 0;                     // bytes of the package (0: unknown)
  // What its manifest asks for; nullopt when the source cannot say (a
  // plain plugin server lists no manifests).
  std::optional<std::vector<std::string>> permissions;
  std::string hostRange;                 // its manifest's host range, "" when none
  std::string publishedAt;               // ISO 8601, "" when unknown
  bool publisherSigned = false;          // carries a .minisig
  std::string signerKeyId;               // the key id that .minisig names (hex)
  // The registry's signature over this version's metadata (sha256,
  // status) verified with the registry's pinned key; false for sources
  // that sign nothing (a folder, a plain server).
  bool registryVerified = false;
};

// A plugin's page in the marketplace.
struct PluginDetails {
  AvailablePlugin summary;
  std::string readme;                    // Markdown ("" when the package has none)
  std::vector<VersionDetails> versions;  // newest first
};

struct FetchedPackage {
  std::string bytes;     // the .zip
  std::string fileName;  // {id}_v{version}.zip
  Version version;
  std::string origin;    // its path or URL
  std::string sha256;    // of the bytes, checked
  bool registryVerified = false;  // sha256 and status signed by the registry
  std::string minisig;   // the publisher's signature file, "" when the package has none
};

// Which package signatures an installer asks for: with `trustedKeys`, a
// package that carries a .minisig must verify with one of them (the one
// whose key id it names); with `require`, a package must carry one.
struct SignaturePolicy {
  std::vector<std::string> trustedKeys;  // minisign public keys (file text or the base64 line)
  bool require = false;
};
// Checks `package` (whose manifest is `manifest`) against the policy.
struct Manifest;
Status checkSignaturePolicy(const SignaturePolicy& policy, const FetchedPackage& package, const Manifest& manifest);

class PackageSource {
 public:
  virtual ~PackageSource() = default;
  virtual std::string describe() const = 0;
  virtual Result<std::vector<AvailablePlugin>> available() = 0;
  // The highest version of `id` in `range` (approved and not yanked, for a
  // registry), downloaded and checked.
  virtual Result<FetchedPackage> fetch(const std::string& id, const Range& range, const ProgressFn& progress) = 0;
  // What the marketplace shows of `id`: the latest version's README and
  // every version's permissions, size and signatures. kNotFound when the
  // source does not have it.
  virtual Result<PluginDetails> details(const std::string& id) = 0;
};

// `stateDir` keeps what a remote source pins (the registry's key).
Result<std::unique_ptr<PackageSource>> openSource(const SourceConfig& config, const std::string& stateDir);

struct InstalledPlugin {
  std::string id;
  Version version;
  std::string source;       // where it came from
  std::string sha256;       // of the package
  std::string installedAt;  // ISO 8601 UTC
  bool active = false;
  std::vector<std::string> migrations;  // steps applied, in order
};

enum class OperationKind { kInstall, kUpgrade, kUninstall };
// "install", "upgrade", "uninstall": in reports, journals and messages.
const char* operationName(OperationKind kind);
std::optional<OperationKind> operationKindNamed(std::string_view name);

// The steps of an operation, in the order they run: download, verify,
// unpack, migrate, activate for an install or upgrade (for each plugin it
// installs, dependencies first); deactivate, migrate (down), remove for an
// uninstall.
enum class OperationStep { kDownload, kVerify, kUnpack, kMigrate, kActivate, kDeactivate, kRemove };
// "download", "verify", ...: in progress events and messages.
const char* operationStepName(OperationStep step);

// Where an operation is, told as each step starts (and during a download,
// as bytes arrive).
struct OperationProgress {
  std::string pluginId;  // the plugin the step is for (a dependency's while it is installed first)
  OperationStep step = OperationStep::kDownload;
  uint64_t done = 0, total = 0;  // bytes downloaded and expected (0: unknown), for kDownload
};
using OperationProgressFn = std::function<void(const OperationProgress&)>;

struct OperationReport {
  OperationKind operation = OperationKind::kInstall;
  std::string id;
  std::string fromVersion, toVersion;  // "" when none
  std::vector<std::string> migrations; // steps run, in order ("0002_tags.up.sql", ...)
  std::vector<std::string> dependencies;  // plugins installed first for `requires`
  bool keptData = false;
  double milliseconds = 0;
  // Installed (or upgraded) and committed, but the running host could not
  // start it: why ("" when it started or was not to start). The install
  // stands; the plugin's log and `patchbay list` say the rest.
  std::string startError;
};

// A running host's part: before a plugin's files or database change it is
// deactivated (requests in flight finish on the old version); after the
// commit, `activate` brings up the new one. The active set is the data
// folder's (DataFolder::setActive), whoever runs the installer.
struct LiveHost {
  std::function<void(const std::string& id)> deactivate;
  std::function<Status(const std::string& id)> activate;
  // An upgrade's switch with no gap: the new version starts while the old
  // one serves (through the migration too), then takes over. When unset,
  // upgrade deactivates before migrating and activates after.
  std::function<Status(const std::string& id)> replace;
  // After an upgrade committed, active or not (a host's tenants switch then).
  std::function<void(const std::string& id)> upgraded;
};

// The HTTP status an installer's error answers with in the admin APIs:
// 404 unknown, 409 already there or required by another, 400 bad input,
// 422 not for this host, 502 the source served something it should not
// have (bad signature, wrong checksum), 500 otherwise.
int installErrorStatus(ErrorKind kind);

struct InstallOptions {
  bool activate = true;  // add to the active set (and start it in a live host)
};

class DataFolder;

class Installer {
 public:
  // The installer of the host data folder `dataDir` (opened, and so owned,
  // while the installer lives). Finishes or rolls back an interrupted
  // operation first (see recovered()).
  static Result<std::unique_ptr<Installer>> open(const std::string& dataDir, LiveHost live = {});
  // The installer of a folder its owner (a host) opened and shares.
  static Result<std::unique_ptr<Installer>> open(std::shared_ptr<DataFolder> folder, LiveHost live = {});
  // For looking only (installed, find), also while a running host holds the
  // folder: no lock taken, nothing recovered; operations are refused.
  static Result<std::unique_ptr<Installer>> openForReading(const std::string& dataDir);
  ~Installer();
  Installer(const Installer&) = delete;
  Installer& operator=(const Installer&) = delete;

  // Installs the highest version of `id` in `range` ("*", "^1.2", "1.0.0",
  // "latest"), after installing what its `requires` lists (missing ones,
  // from the same source). kConflict when already installed (use upgrade).
  Result<OperationReport> install(const std::string& id, const std::string& range, PackageSource& source,
                                  const InstallOptions& options = {}, const OperationProgressFn& progress = {});
  // Moves an installed plugin to the highest version in `range` (default:
  // any newer). Runs the migration steps between the two versions.
  Result<OperationReport> upgrade(const std::string& id, const std::string& range, PackageSource& source,
                                  const OperationProgressFn& progress = {});
  // Deactivates, runs the down migrations, removes files, data and records.
  // keepData: tables and data stay for a later install.
  Result<OperationReport> uninstall(const std::string& id, bool keepData = false, const OperationProgressFn& progress = {});

  // Removes this host's copy of plugin `id` (its files, its place in
  // installed.json and the active set) and nothing of its data: for a
  // host of a cluster whose plugin data another process uninstalled (or
  // kept). All or nothing like uninstall.
  Result<OperationReport> removeLocalCopy(const std::string& id, const OperationProgressFn& progress = {});
  std::vector<InstalledPlugin> installed() const;
  // The data folder this installer works in (shared with its host).
  const DataFolder& dataFolder() const;
  std::optional<InstalledPlugin> find(const std::string& id) const;
  // Package signatures to ask for from now on (default: none asked).
  void setSignaturePolicy(SignaturePolicy policy);
  // What open() did with interrupted operations ("rolled back install of x").
  const std::vector<std::string>& recovered() const;

  struct Impl;

 private:
  explicit Installer(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<Installer>> openIn(std::shared_ptr<DataFolder> folder, LiveHost live);
  std::unique_ptr<Impl> impl_;
};

// A copy of a plugin's data kept apart from the host's (a tenant's, in
// patchbay/tenants.h): brings the SQLite database at `databasePath` up to
// the migrations of the plugin in `pluginDir`, running the steps it lacks
// in one transaction (all or none); with `down`, runs the down steps of
// every applied one instead, newest first. Returns the steps that ran.
// With `postgresUrl`, the database is the plugin's schema for `tenantId`
// there instead (patchbay/postgres.h), and databasePath is not used.
Result<std::vector<std::string>> migratePluginDatabase(const std::string& pluginId, const std::string& pluginDir,
                                                       const std::string& databasePath, bool down = false,
                                                       const std::string& postgresUrl = "", const std::string& tenantId = "");


// --- a panel written in another language (seed 002's layout) ---------------
//
// The panel's backend and frontend folders, its database and its
// addon_registry.json, named by a JSON file (relative paths are relative to
// that file's folder):
//   {"backend": "billing-backend/app/addons",
//    "frontend": "billing-frontend/src/addons",
//    "database": "billing-backend/panel.db",
//    "registry": "billing-backend/app/addons/addon_registry.json"}
// A package in seed 001/002's format (metadata.json, backend/, frontend/,
// migrations/up.sql and down.sql) is installed by seed 002's flow: fetched,
// unpacked to a staging folder, metadata.json validated, backend/ copied to
// <backend>/<id>/ (with migrations/), frontend/ to <frontend>/<id>/,
// up.sql run against the panel's database, the addon registered in
// addon_registry.json and recorded in the addon_installations table, the
// staging folder removed. Uninstall: down.sql, both folders removed, the
// registry entry and the addon_installations row removed.
// All or nothing as above: the commit point is the panel database's
// transaction holding up.sql (or down.sql) and the addon_installations row.
struct PanelLayout {
  std::string backendDir, frontendDir, database, registryFile;
  static Result<PanelLayout> load(const std::string& configPath);
};

struct PanelAddon {
  std::string id, name, version, installedAt;
  std::string backendPath, frontendPath;  // "" when the package had none
};

class PanelInstaller {
 public:
  // Finishes or rolls back an interrupted operation first.
  static Result<std::unique_ptr<PanelInstaller>> open(const PanelLayout& layout);
  ~PanelInstaller();
  PanelInstaller(const PanelInstaller&) = delete;
  PanelInstaller& operator=(const PanelInstaller&) = delete;

  Result<OperationReport> install(const std::string& id, const std::string& range, PackageSource& source,
                                  const ProgressFn& progress = {});
  Result<OperationReport> uninstall(const std::string& id);
  std::vector<PanelAddon> installed() const;
  // Package signatures to ask for from now on (default: none asked), as
  // Installer::setSignaturePolicy; checked once metadata.json is read.
  void setSignaturePolicy(SignaturePolicy policy);
  const std::vector<std::string>& recovered() const;

  struct Impl;

 private:
  explicit PanelInstaller(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace patchbay
