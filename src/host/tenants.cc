// Seed 003's tenants on a host: a runtime per tenant, the tenant_plugins
// table in host.db, each tenant's data under data/tenants/<id>/.
#include "host/tenants_impl.h"

#include "host/cluster_plugins.h"

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "patchbay/json.h"
#include "patchbay/clock.h"
#include "patchbay/files.h"
#include "patchbay/postgres.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

bool isValidTenantId(std::string_view id) {
  if (id.empty() || id.size() > 64 || !std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

namespace {

Status checkIds(const std::string& tenantId, const std::string& pluginId) {
  if (!isValidTenantId(tenantId)) {
    return Error::invalid("tenantId \"" + tenantId + "\" is not a tenant id (1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit)");
  }
  if (!isValidPluginId(pluginId)) return Error::invalid("pluginId \"" + pluginId + "\" is not a plugin id (lowercase letters, digits, - and _)");
  return {};
}

Error notInstalled(const std::string& tenantId, const std::string& pluginId) {
  return Error::notFound("plugin \"" + pluginId + "\" is not installed for tenant \"" + tenantId + "\"");
}

}  // namespace

HostTenants::HostTenants(Host::Impl& host) : host_(host) {}

HostTenants::~HostTenants() {
  std::lock_guard lock(mu_);
  runtimes_.clear();  // stops every tenant's plugins before the host goes
}

Status HostTenants::open() {
  std::lock_guard lock(host_.dbMutex);
  return host_.db->exec(R"sql(CREATE TABLE IF NOT EXISTS tenant_plugins (
  tenant_id TEXT NOT NULL, plugin_id TEXT NOT NULL, enabled INTEGER NOT NULL, installed_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, plugin_id)))sql");
}

const char* tenantPluginStateName(TenantPluginState state) {
  switch (state) {
    case TenantPluginState::kRunning: return "running";
    case TenantPluginState::kStopped: return "stopped";
    case TenantPluginState::kFailed: return "failed";
  }
  return "stopped";
}

std::string HostTenants::dataDirOf(const std::string& tenantId) const {
  return host_.folder->tenantPluginDataDir(tenantId);
}

Result<std::shared_ptr<Runtime>> HostTenants::runtimeOf(const std::string& tenantId, bool create) {
  std::lock_guard lock(mu_);
  if (auto it = runtimes_.find(tenantId); it != runtimes_.end()) return it->second;
  if (!create) return Error::notFound("tenant \"" + tenantId + "\" has no plugin running");
  RuntimeOptions options;
  options.dataDir = dataDirOf(tenantId);
  options.limits = host_.options.limits;
  options.postgresUrl = host_.folder->postgresUrl();
  options.cronClaims = host_.cronClaims;
  options.tenantId = tenantId;
  auto hostLog = host_.options.log;
  options.log = [hostLog, tenantId](const std::string& pluginId, const std::string& level, const std::string& message) {
    if (hostLog) {
      hostLog(pluginId + "@" + tenantId, level, message);
    } else {
      std::cerr << "[Plugin:" << pluginId << "@" << tenantId << "] " << level << ": " << message << "\n";
    }
  };
  auto runtime = Runtime::create(std::move(options));
  if (!runtime) return runtime.error();
  std::shared_ptr<Runtime> shared(std::move(*runtime));
  runtimes_[tenantId] = shared;
  return shared;
}

std::optional<HostTenants::Row> HostTenants::row(const std::string& tenantId, const std::string& pluginId) const {
  std::lock_guard lock(host_.dbMutex);
  auto rows = host_.db->query("SELECT enabled, installed_at, updated_at FROM tenant_plugins WHERE tenant_id = $1 AND plugin_id = $2",
                              {tenantId, pluginId});
  if (!rows || rows->empty()) return std::nullopt;
  const auto& r = rows->front();
  return Row{tenantId, pluginId, r[0] != "0", r[1], r[2]};
}

std::vector<HostTenants::Row> HostTenants::rows(const std::string& where, const std::string& value) const {
  std::vector<Row> out;
  std::lock_guard lock(host_.dbMutex);
  auto rows = host_.db->query("SELECT tenant_id, plugin_id, enabled, installed_at, updated_at FROM tenant_plugins" +
                                  (where.empty() ? std::string() : " WHERE " + where + " = $1") + " ORDER BY tenant_id, plugin_id",
                              where.empty() ? std::vector<std::string>{} : std::vector<std::string>{value});
  if (!rows) return out;
  for (const auto& r : *rows) out.push_back(Row{r[0], r[1], r[2] != "0", r[3], r[4]});
  return out;
}

Status HostTenants::writeRow(const Row& r) {
  std::lock_guard lock(host_.dbMutex);
  auto done = host_.db->query(
      "INSERT INTO tenant_plugins (tenant_id, plugin_id, enabled, installed_at, updated_at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
      {r.tenantId, r.pluginId, r.enabled ? "1" : "0", r.installedAt, r.updatedAt});
  return done ? Status{} : Status{done.error()};
}

Status HostTenants::deleteRow(const std::string& tenantId, const std::string& pluginId) {
  std::lock_guard lock(host_.dbMutex);
  auto done = host_.db->query("DELETE FROM tenant_plugins WHERE tenant_id = $1 AND plugin_id = $2", {tenantId, pluginId});
  return done ? Status{} : Status{done.error()};
}

Result<std::string> HostTenants::pluginDirOf(const std::string& pluginId) const {
  std::string dir = host_.dirOf(pluginId);
  if (dir.empty()) return Error::notFound("plugin \"" + pluginId + "\" is not installed on this host");
  return dir;
}

Status HostTenants::start(const std::string& tenantId, const std::string& pluginId) {
  if (!host_.folder->pluginsEnabled()) return Error::unsupported("plugins are disabled in " + host_.folder->configFile() + " (plugins.enabled)");
  auto dir = pluginDirOf(pluginId);
  if (!dir) return dir.error();
  // The tenant's database gets what the installed version's migrations add.
  auto migrated = migratePluginDatabase(pluginId, *dir, dataDirOf(tenantId) + "/" + pluginId + "/data.db", false, host_.folder->postgresUrl(), tenantId);
  if (!migrated) return migrated.error();
  auto runtime = runtimeOf(tenantId, true);
  if (!runtime) return runtime.error();
  (*runtime)->setFetchGrant(pluginId, host_.runtime->fetchGrant(pluginId));
  Status s = (*runtime)->activate(*dir);
  if (!s && s.error().kind == ErrorKind::kConflict) return {};  // running already
  std::lock_guard lock(mu_);
  if (s) {
    problems_.erase(tenantId + "/" + pluginId);
  } else {
    problems_[tenantId + "/" + pluginId] = s.error().message;
  }
  return s;
}

void HostTenants::stop(const std::string& tenantId, const std::string& pluginId) {
  auto runtime = runtimeOf(tenantId, false);
  if (runtime) (void)(*runtime)->deactivate(pluginId);
  std::lock_guard lock(mu_);
  problems_.erase(tenantId + "/" + pluginId);
}

void HostTenants::startAll() {
  for (const auto& r : rows("", "")) {
    if (!r.enabled) continue;
    if (Status s = start(r.tenantId, r.pluginId); !s) {
      host_.log("error", "plugin \"" + r.pluginId + "\" of tenant \"" + r.tenantId + "\" was not started: " + s.error().message);
    }
  }
}

void HostTenants::reconcile() {
  std::lock_guard op(opMutex_);
  using Key = std::pair<std::string, std::string>;  // tenant, plugin
  std::set<Key> running;
  std::vector<std::pair<std::string, std::shared_ptr<Runtime>>> runtimes;
  {
    std::lock_guard lock(mu_);
    for (const auto& [tenantId, runtime] : runtimes_) runtimes.emplace_back(tenantId, runtime);
  }
  for (const auto& [tenantId, runtime] : runtimes) {
    for (const auto& p : runtime->plugins()) running.insert({tenantId, p.id});
  }
  std::set<Key> wanted;
  for (const auto& r : rows("", "")) {
    if (!r.enabled) continue;
    wanted.insert({r.tenantId, r.pluginId});
    if (running.contains({r.tenantId, r.pluginId})) continue;
    if (Status s = start(r.tenantId, r.pluginId); !s) {
      host_.log("error", "plugin \"" + r.pluginId + "\" of tenant \"" + r.tenantId + "\" was not started: " + s.error().message);
    }
  }
  for (const auto& [tenantId, pluginId] : running) {
    if (!wanted.contains({tenantId, pluginId})) stop(tenantId, pluginId);
  }
}

template <class T>
Result<T> HostTenants::asClusterChange(const std::function<Result<T>()>& op) {
  if (!host_.cluster) return op();
  std::optional<Result<T>> ran;
  Status s = host_.cluster->change([&]() -> Status {
    ran = op();
    return *ran ? Status{} : Status((*ran).error());
  });
  if (!ran) return s.error();  // PostgreSQL away: nothing ran
  return std::move(*ran);
}

Status HostTenants::asClusterChange(const std::function<Status()>& op) {
  if (!host_.cluster) return op();
  return host_.cluster->change(op);
}

void HostTenants::afterHostChange(const std::string& pluginId, bool upgraded) {
  for (const auto& r : rows("plugin_id", pluginId)) {
    if (!r.enabled) continue;
    auto runtime = runtimeOf(r.tenantId, false);
    auto dir = pluginDirOf(pluginId);
    if (!upgraded || !runtime || !dir) {
      stop(r.tenantId, pluginId);
      if (upgraded) (void)start(r.tenantId, pluginId);
      continue;
    }
    // An upgrade: the tenant's database first, then the new code with no gap.
    auto migrated = migratePluginDatabase(pluginId, *dir, dataDirOf(r.tenantId) + "/" + pluginId + "/data.db", false, host_.folder->postgresUrl(), r.tenantId);
    Status s = migrated ? (*runtime)->replace(*dir) : Status(migrated.error());
    if (!s) host_.log("error", "plugin \"" + pluginId + "\" of tenant \"" + r.tenantId + "\" did not switch to the new version: " + s.error().message);
  }
}

TenantPlugin HostTenants::describe(const Row& r) const {
  TenantPlugin p;
  p.pluginId = r.pluginId;
  p.tenantId = r.tenantId;
  p.enabled = r.enabled;
  p.installedAt = r.installedAt;
  p.updatedAt = r.updatedAt;
  if (auto installed = host_.installer->find(r.pluginId)) p.version = installed->version.toString();
  auto dir = pluginDirOf(r.pluginId);
  if (dir) {
    if (auto settings = readPluginSettings(*dir, dataDirOf(r.tenantId), true, host_.folder->postgresUrl(), r.tenantId)) {
      json j = parseJsonOrDiscarded<json>(*settings);
      if (j.is_object() && j.contains("values")) p.configurationJson = j["values"].dump();
    }
  }
  p.state = TenantPluginState::kStopped;
  std::shared_ptr<Runtime> runtime;
  {
    std::lock_guard lock(mu_);
    if (auto it = runtimes_.find(r.tenantId); it != runtimes_.end()) runtime = it->second;
    if (auto it = problems_.find(r.tenantId + "/" + r.pluginId); it != problems_.end()) {
      p.state = TenantPluginState::kFailed;
      p.error = it->second;
    }
  }
  if (runtime) {
    for (const auto& s : runtime->plugins()) {
      if (s.id != r.pluginId) continue;
      p.state = s.state == PluginRunState::kActive ? TenantPluginState::kRunning : TenantPluginState::kFailed;
      if (s.state != PluginRunState::kActive) p.error = s.error;
    }
  }
  return p;
}

Status HostTenants::dropTenantSchema(const std::string& tenantId, const std::string& pluginId) {
  if (host_.folder->postgresUrl().empty()) return {};
  auto pg = PgConnection::connect(host_.folder->postgresUrl());
  if (!pg) return pg.error();
  return dropPluginSchema(*pg, pluginId, tenantId);
}

Result<TenantPlugin> HostTenants::install(const std::string& tenantId, const std::string& pluginId, const std::string& range,
                                          const std::string& configurationJson, bool enabled) {
  if (auto s = checkIds(tenantId, pluginId); !s) return s.error();
  return asClusterChange<TenantPlugin>([&] { return installHere(tenantId, pluginId, range, configurationJson, enabled); });
}

Result<TenantPlugin> HostTenants::installHere(const std::string& tenantId, const std::string& pluginId, const std::string& range,
                                              const std::string& configurationJson, bool enabled) {
  std::lock_guard op(opMutex_);
  if (row(tenantId, pluginId)) return Error::conflict("plugin \"" + pluginId + "\" is installed for tenant \"" + tenantId + "\" already");
  // The code, on the host (not activated there) when it is not yet.
  bool installedHere = false;
  if (!host_.installer->find(pluginId)) {
    auto source = openSource(host_.options.source, host_.folder->installerDir());
    if (!source) return source.error();
    auto installed = host_.installer->install(pluginId, range, **source, InstallOptions{.activate = false});
    if (!installed) return installed.error();
    installedHere = true;
  }
  auto undo = [&](const Error& e) -> Error {
    std::error_code ec;
    fs::remove_all(dataDirOf(tenantId) + "/" + pluginId, ec);
    (void)dropTenantSchema(tenantId, pluginId);
    if (installedHere) (void)host_.installer->uninstall(pluginId);
    return e;
  };
  auto dir = pluginDirOf(pluginId);
  if (!dir) return undo(dir.error());
  if (!configurationJson.empty()) {
    if (auto s = writePluginSettings(*dir, dataDirOf(tenantId), configurationJson, host_.folder->postgresUrl(), tenantId); !s) {
      return undo(Error{s.error().kind, "configuration: " + s.error().message});
    }
  }
  auto migrated = migratePluginDatabase(pluginId, *dir, dataDirOf(tenantId) + "/" + pluginId + "/data.db", false, host_.folder->postgresUrl(), tenantId);
  if (!migrated) return undo(migrated.error());
  const std::string now = utcNowMillis();
  Row r{tenantId, pluginId, enabled, now, now};
  if (auto s = writeRow(r); !s) return undo(s.error());
  if (enabled) {
    if (Status s = start(tenantId, pluginId); !s) host_.log("error", "plugin \"" + pluginId + "\" of tenant \"" + tenantId + "\": " + s.error().message);
  }
  return describe(r);
}

Result<TenantPlugin> HostTenants::configure(const std::string& tenantId, const std::string& pluginId, const std::string& configurationJson) {
  if (auto s = checkIds(tenantId, pluginId); !s) return s.error();
  std::lock_guard op(opMutex_);
  auto r = row(tenantId, pluginId);
  if (!r) return notInstalled(tenantId, pluginId);
  auto dir = pluginDirOf(pluginId);
  if (!dir) return dir.error();
  if (auto s = writePluginSettings(*dir, dataDirOf(tenantId), configurationJson, host_.folder->postgresUrl(), tenantId); !s) return Error{s.error().kind, "configuration: " + s.error().message};
  r->updatedAt = utcNowMillis();
  if (auto s = writeRow(*r); !s) return s.error();
  return describe(*r);
}

Result<TenantPlugin> HostTenants::enable(const std::string& tenantId, const std::string& pluginId, bool enabled) {
  if (auto s = checkIds(tenantId, pluginId); !s) return s.error();
  return asClusterChange<TenantPlugin>([&] { return enableHere(tenantId, pluginId, enabled); });
}

Result<TenantPlugin> HostTenants::enableHere(const std::string& tenantId, const std::string& pluginId, bool enabled) {
  std::lock_guard op(opMutex_);
  auto r = row(tenantId, pluginId);
  if (!r) return notInstalled(tenantId, pluginId);
  if (enabled) {
    if (Status s = start(tenantId, pluginId); !s) return Error{s.error().kind, "plugin \"" + pluginId + "\" did not start: " + s.error().message};
  } else {
    stop(tenantId, pluginId);
  }
  r->enabled = enabled;
  r->updatedAt = utcNowMillis();
  if (auto s = writeRow(*r); !s) return s.error();
  return describe(*r);
}

Status HostTenants::uninstall(const std::string& tenantId, const std::string& pluginId, bool keepData) {
  if (auto s = checkIds(tenantId, pluginId); !s) return s;
  return asClusterChange([&] { return uninstallHere(tenantId, pluginId, keepData); });
}

Status HostTenants::uninstallHere(const std::string& tenantId, const std::string& pluginId, bool keepData) {
  std::lock_guard op(opMutex_);
  if (!row(tenantId, pluginId)) return notInstalled(tenantId, pluginId);
  stop(tenantId, pluginId);
  if (!keepData) {
    const std::string folder = dataDirOf(tenantId) + "/" + pluginId;
    if (auto dir = pluginDirOf(pluginId)) {
      auto down = migratePluginDatabase(pluginId, *dir, folder + "/data.db", true, host_.folder->postgresUrl(), tenantId);
      if (!down) return down.error();
    }
    if (auto s = dropTenantSchema(tenantId, pluginId); !s) return s;
    if (auto s = deleteRow(tenantId, pluginId); !s) return s;
    std::error_code ec;
    fs::remove_all(folder, ec);
    if (ec) return Error::io(folder + ": " + ec.message());
    return {};
  }
  return deleteRow(tenantId, pluginId);
}

Result<std::vector<TenantPlugin>> HostTenants::list(const std::string& tenantId) const {
  if (!isValidTenantId(tenantId)) return Error::invalid("tenantId \"" + tenantId + "\" is not a tenant id (1-64 of A-Z a-z 0-9 _ -)");
  std::vector<TenantPlugin> out;
  for (const auto& r : rows("tenant_id", tenantId)) out.push_back(describe(r));
  return out;
}

std::vector<std::string> HostTenants::tenantsOf(const std::string& pluginId) const {
  std::vector<std::string> out;
  for (const auto& r : rows("plugin_id", pluginId)) out.push_back(r.tenantId);
  return out;
}

namespace {

// A tenant's runtime answers "not found" for a plugin it does not run; the
// caller learns which tenant that was.
Result<PluginResponse> answeredForTenant(Result<PluginResponse> res, const std::string& tenantId, const std::string& pluginId) {
  if (res.ok()) return res;
  const Error& error = res.error();
  if (error.kind != ErrorKind::kNotFound) return res;
  return Error::notFound("plugin \"" + pluginId + "\" is not running for tenant \"" + tenantId + "\"");
}

}  // namespace

Result<PluginResponse> HostTenants::handleRequest(const std::string& tenantId, const std::string& pluginId, const PluginRequest& request) {
  auto runtime = isValidTenantId(tenantId) ? runtimeOf(tenantId, false) : Result<std::shared_ptr<Runtime>>(Error::notFound(""));
  if (!runtime) return notInstalled(tenantId, pluginId);
  return answeredForTenant((*runtime)->handleRequest(pluginId, request), tenantId, pluginId);
}

void HostTenants::handleRequest(const std::string& tenantId, const std::string& pluginId, PluginRequest request, Runtime::RequestDone done) {
  auto runtime = isValidTenantId(tenantId) ? runtimeOf(tenantId, false) : Result<std::shared_ptr<Runtime>>(Error::notFound(""));
  if (!runtime) return done(notInstalled(tenantId, pluginId));
  // Not holding the runtime: if it goes first, stopping it answers this.
  (*runtime)->handleRequest(pluginId, std::move(request), [tenantId, pluginId, done = std::move(done)](Result<PluginResponse> res) {
    done(answeredForTenant(std::move(res), tenantId, pluginId));
  });
}

HookResult HostTenants::emit(const std::string& tenantId, const std::string& event, const std::string& contextJson) {
  auto runtime = runtimeOf(tenantId, false);
  if (!runtime) return HookResult{};
  return (*runtime)->emit(event, contextJson);
}

Result<std::string> HostTenants::call(const std::string& tenantId, const std::string& pluginId, const std::string& method, const std::string& argsJson) {
  auto runtime = runtimeOf(tenantId, false);
  if (!runtime) return notInstalled(tenantId, pluginId);
  return (*runtime)->call(pluginId, method, argsJson);
}

Result<std::pair<TokenInfo, std::string>> HostTenants::createToken(const std::string& tenantId, const std::string& name) {
  if (!isValidTenantId(tenantId)) return Error::invalid("tenantId \"" + tenantId + "\" is not a tenant id (1-64 of A-Z a-z 0-9 _ -)");
  const std::vector<std::string> scopes = {"tenant:" + tenantId};
  std::lock_guard lock(host_.dbMutex);
  return tokens::create(*host_.db, name, scopes, scopes, "");
}

}  // namespace patchbay
