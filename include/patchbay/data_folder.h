// patchbay/data_folder.h — a host's data folder: where each thing in it
// lives, and the one reader and writer of its config.json.
//
//   DATA/config.json               the panel's configuration (seed 004, Sodium's):
//                                  {"plugins": {"enabled", "directory", "active",
//                                   "grants", "limits", "settings"}, "database"}
//   DATA/plugins/<id>              plugin folders (plugins.directory may move them)
//   DATA/plugins/.versions/        the installer's version folders
//   DATA/plugin-data/<id>/         each plugin's own data (data.db, settings)
//   DATA/tenants/<t>/plugin-data/  a tenant's copies (patchbay/tenants.h)
//   DATA/installed.json            what the installer installed, from where
//   DATA/.install/                 the installer's journal, staging, pinned keys, lock
//   DATA/host.db, DATA/admin-token the host's own state (patchbay/host_state.h)
//
// Whoever opens the folder for writing owns it while the object lives: an
// exclusive lock (DATA/.install/lock) keeps every other process's writer
// out; in this process the host, its installer and its tenants share the
// one object, and every change to config.json goes through it (plugins.active
// has one writer: setActive).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

namespace install {
class FolderLock;
}

class DataFolder {
 public:
  // Opens `root` for writing: makes it (and a default config.json) when
  // missing, takes the lock (kConflict when another process holds it: a
  // running `patchbay serve`), and reads config.json (kInvalid when it is
  // not a JSON object, or plugins.active holds something else than ids).
  static Result<std::shared_ptr<DataFolder>> open(const std::string& root);
  // For looking only, also while another process owns it: no lock, nothing
  // made (kNotFound when `root` is not a folder); changes are refused.
  static Result<std::shared_ptr<DataFolder>> openForReading(const std::string& root);
  ~DataFolder();
  DataFolder(const DataFolder&) = delete;
  DataFolder& operator=(const DataFolder&) = delete;

  // --- where things are ------------------------------------------------------
  const std::string& root() const { return root_; }
  std::string configFile() const { return root_ + "/config.json"; }
  const std::string& pluginsDir() const { return pluginsDir_; }
  std::string versionsDir() const { return pluginsDir_ + "/.versions"; }
  std::string pluginDataDir() const { return root_ + "/plugin-data"; }
  std::string pluginDataOf(const std::string& id) const { return pluginDataDir() + "/" + id; }
  std::string tenantPluginDataDir(const std::string& tenantId) const { return root_ + "/tenants/" + tenantId + "/plugin-data"; }
  std::string installedFile() const { return root_ + "/installed.json"; }
  std::string installerDir() const { return installerDirIn(root_); }
  // The same, for a folder not opened (a search pins the registry's key there).
  static std::string installerDirIn(const std::string& root) { return root + "/.install"; }
  // Opened with open(): this object owns the folder.
  bool writable() const { return lock_ != nullptr; }

  // --- config.json -------------------------------------------------------------
  // config.json's "database": a postgresql:// URL for plugin data, or "" (SQLite files).
  const std::string& postgresUrl() const { return postgresUrl_; }
  // plugins.enabled (default true): whether plugins run at all.
  bool pluginsEnabled() const;
  // A copy of config.json as last read or written.
  nlohmann::ordered_json config() const;
  // Reads the file, lets `change` edit it and writes it back atomically,
  // every other key kept; serialized with every other change.
  Status updateConfig(const std::function<void(nlohmann::ordered_json&)>& change);
  // plugins.active, in order.
  std::vector<std::string> activePlugins() const;
  bool isActive(const std::string& id) const;
  // Adds `id` to plugins.active (at the end) or removes it; unchanged: no write.
  Status setActive(const std::string& id, bool active);

 private:
  DataFolder() = default;
  static Result<std::shared_ptr<DataFolder>> openIn(const std::string& root, bool forWriting);
  std::string root_, pluginsDir_, postgresUrl_;
  std::unique_ptr<install::FolderLock> lock_;  // held while we live: we own the folder
  mutable std::mutex mu_;
  std::unique_ptr<nlohmann::ordered_json> config_;  // guarded by mu_
};

// config.json's "database" read from the file at `configPath` without
// opening its folder: the postgresql:// URL, or "" (absent, or "sqlite").
Result<std::string> configuredPostgresUrl(const std::string& configPath);

}  // namespace patchbay
