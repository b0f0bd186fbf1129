// A host's data folder: its layout, its lock and config.json (see
// patchbay/data_folder.h).
#include "patchbay/data_folder.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "install/journal.h"
#include "patchbay/files.h"
#include "patchbay/json.h"
#include "patchbay/postgres.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr uint64_t kMaxConfigBytes = 4u << 20;

// config.json, checked: an object whose "plugins" is an object and whose
// plugins.active holds plugin ids.
Result<json> readConfig(const std::string& path) {
  auto text = readFileLimited(path, kMaxConfigBytes);
  if (!text) return text.error();
  json j = parseJsonOrDiscarded<json>(*text);
  if (j.is_discarded() || !j.is_object()) return Error::invalid(path + ": not a JSON object");
  if (j.contains("plugins") && !j["plugins"].is_object()) return Error::invalid(path + ": \"plugins\" must be an object");
  if (j.contains("plugins") && j["plugins"].contains("active")) {
    const json& active = j["plugins"]["active"];
    if (!active.is_array()) return Error::invalid(path + ": plugins.active must be an array of plugin ids");
    for (const auto& id : active) {
      if (!id.is_string()) return Error::invalid(path + ": plugins.active must hold plugin ids (strings)");
    }
  }
  return j;
}

// config.json's "database": a postgresql:// URL, or "" for SQLite files.
Result<std::string> postgresUrlOf(const json& config, const std::string& path) {
  if (!config.contains("database")) return std::string();
  const auto& database = config["database"];
  if (database.is_string() && (database.get<std::string>().empty() || database.get<std::string>() == "sqlite")) return std::string();
  if (!database.is_string() || !isPostgresUrl(database.get<std::string>())) {
    return Error::invalid(path + ": \"database\" must be a postgresql:// URL (or \"sqlite\", the default)");
  }
  return database.get<std::string>();
}

}  // namespace

Result<std::string> configuredPostgresUrl(const std::string& configPath) {
  std::error_code ec;
  if (!fs::exists(configPath, ec)) return std::string();
  auto config = readConfig(configPath);
  if (!config) return config.error();
  return postgresUrlOf(*config, configPath);
}

Result<std::shared_ptr<DataFolder>> DataFolder::open(const std::string& root) { return openIn(root, true); }
Result<std::shared_ptr<DataFolder>> DataFolder::openForReading(const std::string& root) { return openIn(root, false); }

DataFolder::~DataFolder() = default;

Result<std::shared_ptr<DataFolder>> DataFolder::openIn(const std::string& root, bool forWriting) {
  std::shared_ptr<DataFolder> folder(new DataFolder());
  std::error_code ec;
  if (!forWriting && !fs::is_directory(root, ec)) return Error::notFound(root + ": no such data folder");
  if (forWriting) {
    fs::create_directories(root, ec);
    if (ec) return Error::io(root + ": cannot create the data folder: " + ec.message());
  }
  folder->root_ = fs::canonical(root, ec).string();
  if (ec) return Error::io(root + ": " + ec.message());
  if (forWriting) {
    auto lock = install::FolderLock::acquire(folder->installerDir(), "a running `patchbay serve` on this data folder installs through its admin API "
                                                                     "(POST /api/admin/plugins/install); or stop it first");
    if (!lock) return Error{lock.error().kind, root + ": " + lock.error().message};
    folder->lock_ = std::make_unique<install::FolderLock>(std::move(*lock));
  }
  const std::string path = folder->configFile();
  json config = json::object();
  if (fs::exists(path, ec)) {
    auto read = readConfig(path);
    if (!read) return read.error();
    config = std::move(*read);
  } else if (forWriting) {
    // No "directory": the folder can move (or be copied) with its plugins.
    config = {{"plugins", {{"enabled", true}, {"active", json::array()}}}};
    if (auto s = writeFileAtomically(path, config.dump(2) + "\n"); !s) return s.error();
  }
  auto postgresUrl = postgresUrlOf(config, path);
  if (!postgresUrl) return postgresUrl.error();
  folder->postgresUrl_ = *postgresUrl;
  folder->pluginsDir_ = folder->root_ + "/plugins";
  if (config.contains("plugins") && config["plugins"].contains("directory")) {
    // A relative folder is relative to the working directory, as Sodium reads it.
    const json& dir = config["plugins"]["directory"];
    if (!dir.is_string() || dir.get<std::string>().empty()) return Error::invalid(path + ": plugins.directory must be a folder name");
    folder->pluginsDir_ = fs::absolute(dir.get<std::string>()).lexically_normal().string();
    while (folder->pluginsDir_.size() > 1 && folder->pluginsDir_.ends_with('/')) folder->pluginsDir_.pop_back();
  }
  if (config.contains("plugins") && config["plugins"].contains("enabled") && !config["plugins"]["enabled"].is_boolean()) {
    return Error::invalid(path + ": plugins.enabled must be true or false");
  }
  if (forWriting) {
    fs::create_directories(folder->pluginsDir_, ec);
    if (ec) return Error::io(folder->pluginsDir_ + ": " + ec.message());
  }
  folder->config_ = std::make_unique<json>(std::move(config));
  return folder;
}

bool DataFolder::pluginsEnabled() const {
  std::lock_guard lock(mu_);
  if (!config_->contains("plugins")) return true;
  const json& plugins = (*config_)["plugins"];
  return !plugins.contains("enabled") || !plugins["enabled"].is_boolean() || plugins["enabled"].get<bool>();
}

json DataFolder::config() const {
  std::lock_guard lock(mu_);
  return *config_;
}

Status DataFolder::updateConfig(const std::function<void(json&)>& change) {
  if (!writable()) return Error::unsupported(root_ + " was opened for reading only (another process may own it)");
  std::lock_guard lock(mu_);
  // From the file, not the copy: an administrator may have edited other keys.
  json config = json::object();
  std::error_code ec;
  if (fs::exists(configFile(), ec)) {
    auto read = readConfig(configFile());
    if (!read) return read.error();
    config = std::move(*read);
  }
  change(config);
  if (auto s = writeFileAtomically(configFile(), config.dump(2) + "\n"); !s) return s;
  *config_ = std::move(config);
  return {};
}

std::vector<std::string> DataFolder::activePlugins() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  if (!config_->contains("plugins") || !(*config_)["plugins"].contains("active")) return out;
  for (const auto& id : (*config_)["plugins"]["active"]) {
    if (id.is_string()) out.push_back(id.get<std::string>());
  }
  return out;
}

bool DataFolder::isActive(const std::string& id) const {
  auto active = activePlugins();
  return std::find(active.begin(), active.end(), id) != active.end();
}

Status DataFolder::setActive(const std::string& id, bool active) {
  if (isActive(id) == active) return {};
  return updateConfig([&](json& config) {
    json& plugins = config["plugins"];
    if (!plugins.is_object()) plugins = json::object();
    json next = json::array();
    for (const auto& a : plugins.value("active", json::array())) {
      if (a != id) next.push_back(a);
    }
    if (active) next.push_back(id);
    plugins["active"] = std::move(next);
  });
}

}  // namespace patchbay
