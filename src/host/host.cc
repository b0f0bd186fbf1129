// The host's state: config.json, plugin discovery, activation, admin tokens.
#include <filesystem>
#include <functional>
#include <iostream>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "host/cluster_plugins.h"
#include "host/host_impl.h"
#include "host/marketplace.h"
#include "host/tenants_impl.h"
#include "patchbay/json.h"
#include "patchbay/host_state.h"
#include "patchbay/clock.h"
#include "patchbay/files.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;


void Host::Impl::log(const std::string& level, const std::string& message) const {
  if (options.log) {
    options.log("host", level, message);
  } else {
    std::cerr << "host " << level << ": " << message << "\n";
  }
}


Status Host::Impl::saveGrant(const std::string& id, const std::optional<FetchGrant>& grant) {
  return folder->updateConfig([&](json& config) {
    json& grants = config["plugins"]["grants"];
    if (!grants.is_object()) grants = json::object();
    if (grant) {
      grants[id] = {{"fetch", grant->allowed}, {"hosts", grant->hosts}};
    } else {
      grants.erase(id);
    }
  });
}

Status Host::Impl::saveBodyLimit(const std::string& id, std::optional<uint64_t> bytes) {
  return folder->updateConfig([&](json& config) {
    json& limits = config["plugins"]["limits"];
    if (!limits.is_object()) limits = json::object();
    if (bytes) {
      limits[id]["maxBodyBytes"] = *bytes;
    } else if (limits.contains(id)) {
      limits[id].erase("maxBodyBytes");
      if (limits[id].empty()) limits.erase(id);
    }
  });
}

// A Sodium panel kept each plugin's settings in config.json under
// plugins.settings.<id>; they move into the plugin's own settings store the
// first time its folder is here. What cannot move (a declared setting whose
// value breaks its type) stays in config.json, with a warning, so nothing is lost.
Status Host::Impl::adoptSodiumSettings(const json& plugins) {
  if (!plugins.contains("settings")) return {};
  const json& all = plugins["settings"];
  if (!all.is_object()) return Error::invalid(folder->configFile() + ": plugins.settings must be an object of plugin id -> settings");
  std::map<std::string, json> left;
  bool changed = false;
  for (const auto& [id, values] : all.items()) {
    const std::string dir = dirOf(id);
    if (dir.empty() || !values.is_object()) {
      left[id] = values;  // taken over once the plugin is installed
      continue;
    }
    auto refused = adoptPluginSettings(dir, folder->pluginDataDir(), values.dump(), folder->postgresUrl());
    if (!refused) return refused.error().in(folder->configFile() + ": plugins.settings." + id);
    changed = true;
    json kept = json::object();
    for (const auto& [key, why] : *refused) {
      kept[key] = values.at(key);
      log("warn", "plugin \"" + id + "\": setting \"" + key + "\" stays in " + folder->configFile() + " (plugins.settings): " + why);
    }
    log("info", "plugin \"" + id + "\": took over " + std::to_string(values.size() - refused->size()) + " settings from " + folder->configFile() +
                    " (plugins.settings); they now live in its own settings");
    if (!kept.empty()) left[id] = std::move(kept);
  }
  if (!changed) return {};
  return folder->updateConfig([&](json& config) {
    if (left.empty()) {
      config["plugins"].erase("settings");
    } else {
      config["plugins"]["settings"] = left;
    }
  });
}

void Host::Impl::routesMounted(const std::string& id) {
  for (const auto& p : runtime->plugins()) {
    if (p.id != id || p.routes == 0) continue;
    nlohmann::ordered_json context = {{"plugin", id}, {"mount", "/api/plugins/" + id + "/"}, {"routes", p.routes}};
    HookResult r = runtime->emit("route:register", context.dump());
    for (const auto& e : r.errors) log("warn", "route:register: " + e);
  }
}

std::string Host::Impl::dirOf(const std::string& id) const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder->pluginsDir(), ec)) {
    if (!entry.is_directory(ec) || entry.path().filename().string().starts_with(".")) continue;  // .versions: the installer's
    ManifestReport report = loadManifestFromFolder(entry.path().string());
    std::string found = report.manifest ? report.manifest->id : entry.path().filename().string();
    if (found == id) return entry.path().string();
  }
  return "";
}

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Host::~Host() = default;

Result<std::unique_ptr<Host>> Host::open(HostOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const std::string& data = impl->options.dataDir;
  auto folder = DataFolder::open(data);
  if (!folder) return folder.error();
  impl->folder = std::move(*folder);
  const json config = impl->folder->config();
  const json plugins = config.value("plugins", json::object());
  // plugins.grants: {"<id>": {"fetch": true, "hosts": ["hooks.example.com"]}}: outbound HTTP granted by the administrator.
  std::map<std::string, FetchGrant> grants;
  if (plugins.contains("grants")) {
    if (!plugins["grants"].is_object()) return Error::invalid(impl->folder->configFile() + ": plugins.grants must be an object of plugin id -> grant");
    for (const auto& [id, grant] : plugins["grants"].items()) {
      if (!grant.is_object()) return Error::invalid(impl->folder->configFile() + ": plugins.grants." + id + " must be an object");
      if (grant.contains("fetch") && !grant["fetch"].is_boolean()) return Error::invalid(impl->folder->configFile() + ": plugins.grants." + id + ".fetch must be true or false");
      FetchGrant g;
      g.allowed = grant.value("fetch", true);
      if (grant.contains("hosts")) {
        if (!grant["hosts"].is_array()) return Error::invalid(impl->folder->configFile() + ": plugins.grants." + id + ".hosts must be an array of host names");
        for (const auto& h : grant["hosts"]) {
          if (!h.is_string()) return Error::invalid(impl->folder->configFile() + ": plugins.grants." + id + ".hosts must hold strings");
          g.hosts.push_back(h.get<std::string>());
        }
      }
      grants[id] = std::move(g);
    }
  }

  // Admin tokens; the first one is made for the operator.
  auto db = openHostState(data);
  if (!db) return db.error();
  impl->db = std::move(*db);
  if (tokens::list(*impl->db).empty()) {
    auto first = createAdminToken(*impl->db, "admin");
    if (!first) return first.error();
    if (auto s = writeFileAtomically(data + "/admin-token", first->second + "\n", 0600); !s) return s.error();
    impl->log("info", "created the first admin token in " + data + "/admin-token (use it as: Authorization: Bearer <token>)");
  }

  if (!impl->folder->postgresUrl().empty()) {
    auto claims = postgresCronClaims(impl->folder->postgresUrl());
    if (!claims) return claims.error();
    impl->cronClaims = *claims;
  }
  RuntimeOptions runtimeOptions;
  runtimeOptions.dataDir = impl->folder->pluginDataDir();
  runtimeOptions.postgresUrl = impl->folder->postgresUrl();
  runtimeOptions.cronClaims = impl->cronClaims;
  runtimeOptions.limits = impl->options.limits;
  runtimeOptions.fetchGrants = std::move(grants);
  if (impl->options.log) runtimeOptions.log = impl->options.log;
  runtimeOptions.panelData = impl->options.panelData;
  auto runtime = Runtime::create(runtimeOptions);
  if (!runtime) return runtime.error();
  impl->runtime = std::move(*runtime);
  // plugins.limits: {"<id>": {"maxBodyBytes": 4194304}}: an administrator's per-plugin limits.
  if (plugins.contains("limits")) {
    const std::string where = impl->folder->configFile() + ": plugins.limits";
    if (!plugins["limits"].is_object()) return Error::invalid(where + " must be an object of plugin id -> limits");
    for (const auto& [id, limits] : plugins["limits"].items()) {
      if (!limits.is_object()) return Error::invalid(where + "." + id + " must be an object");
      if (!limits.contains("maxBodyBytes")) continue;
      if (!limits["maxBodyBytes"].is_number_unsigned()) return Error::invalid(where + "." + id + ".maxBodyBytes must be a number of bytes");
      if (auto s = impl->runtime->setBodyLimit(id, limits["maxBodyBytes"].get<uint64_t>()); !s) return s.error().in(where + "." + id);
    }
  }

  std::unique_ptr<Host> host(new Host(std::move(impl)));
  Impl& m = *host->impl_;
  // The installer, live; opening it finishes or rolls back what a crash
  // interrupted, before any plugin starts.
  LiveHost live;
  live.deactivate = [&m](const std::string& id) {
    if (m.runtime->deactivate(id)) m.changed(id, "deactivated");
  };
  live.activate = [&m](const std::string& id) -> Status {
    if (!m.folder->pluginsEnabled()) return {};
    std::string dir = m.dirOf(id);
    Status s = dir.empty() ? Status(Error::notFound("no folder holds plugin \"" + id + "\"")) : m.runtime->activate(dir);
    if (s) m.routesMounted(id);
    if (s) m.changed(id, "activated");
    std::lock_guard lock(m.mu);
    if (s) {
      m.loadProblems.erase(id);
    } else {
      m.loadProblems[id] = s.error().message;
    }
    return s;
  };
  live.replace = [&m](const std::string& id) -> Status {
    if (!m.folder->pluginsEnabled()) return {};
    std::string dir = m.dirOf(id);
    Status s = dir.empty() ? Status(Error::notFound("no folder holds plugin \"" + id + "\"")) : m.runtime->replace(dir);
    if (s) m.routesMounted(id);
    if (s) m.changed(id, "upgraded");
    std::lock_guard lock(m.mu);
    if (s) m.loadProblems.erase(id);
    else m.loadProblems[id] = s.error().message;
    return s;
  };
  live.upgraded = [&m](const std::string& id) {
    if (m.tenants) m.tenants->afterHostChange(id, true);
  };
  auto installer = Installer::open(m.folder, std::move(live));
  if (!installer) return Error{installer.error().kind, "the installer: " + installer.error().message};
  m.installer = std::move(*installer);
  for (const auto& line : m.installer->recovered()) m.log("warn", line);
  if (auto s = m.prepareAuditTable(); !s) return s.error();
  if (auto s = m.adoptSodiumSettings(plugins); !s) return s.error();
  if (m.folder->pluginsEnabled()) {
    for (const auto& id : m.folder->activePlugins()) {
      std::string dir = m.dirOf(id);
      Status s = dir.empty() ? Status(Error::notFound("no folder in " + m.folder->pluginsDir() + " holds plugin \"" + id + "\""))
                             : m.runtime->activate(dir);
      if (s) m.routesMounted(id);
      if (!s) {
        m.log("error", "plugin \"" + id + "\" was not started: " + s.error().message);
        std::lock_guard lock(m.mu);
        m.loadProblems[id] = s.error().message;
      }
    }
  } else {
    m.log("info", "plugins are disabled (plugins.enabled is false in " + m.folder->configFile() + ")");
  }
  m.tenants = std::make_unique<HostTenants>(m);
  if (auto s = m.tenants->open(); !s) return s.error();
  if (m.folder->pluginsEnabled()) m.tenants->startAll();
  if (!m.folder->postgresUrl().empty() && m.folder->pluginsEnabled()) {
    if (auto s = m.joinCluster(); !s) return s.error();
  }
  m.marketplace = std::make_unique<MarketplaceOperations>(*host, m.options.operationProgress);
  return host;
}

std::vector<HostPlugin> Host::plugins() const {
  std::vector<HostPlugin> out;
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(impl_->folder->pluginsDir(), ec)) {
    if (entry.is_directory(ec) && !entry.path().filename().string().starts_with(".")) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  auto running = impl_->runtime->plugins();
  const auto active = impl_->folder->activePlugins();
  std::lock_guard lock(impl_->mu);
  for (const auto& dir : dirs) {
    if (!fs::exists(dir / "plugin.json", ec) && !fs::exists(dir / "metadata.json", ec)) continue;
    HostPlugin p;
    p.dir = dir.string();
    ManifestReport report = loadManifestFromFolder(p.dir);
    p.id = report.manifest ? report.manifest->id : dir.filename().string();
    if (report.manifest) {
      p.manifest = report.manifest;
    } else {
      p.problem = report.errorText();
    }
    p.active = std::find(active.begin(), active.end(), p.id) != active.end();
    for (const auto& r : running) {
      if (r.id == p.id) {
        p.running = r.state == PluginRunState::kActive;
        if (r.state == PluginRunState::kFailed) p.problem = r.error;
      }
    }
    if (auto it = impl_->loadProblems.find(p.id); it != impl_->loadProblems.end() && p.problem.empty()) p.problem = it->second;
    p.hasClient = fs::exists(dir / "client.js", ec);
    out.push_back(std::move(p));
  }
  return out;
}

Status Host::Impl::activateHere(const std::string& id) {
  std::string dir = dirOf(id);
  if (dir.empty()) return Error::notFound("Plugin \"" + id + "\" not found");
  if (!folder->pluginsEnabled()) return Error::unsupported("plugins are disabled in " + folder->configFile() + " (plugins.enabled)");
  Status s = runtime->activate(dir);
  if (!s && s.error().kind != ErrorKind::kConflict) {
    std::lock_guard lock(mu);
    loadProblems[id] = s.error().message;
    return s;
  }
  if (s) routesMounted(id);
  {
    std::lock_guard lock(mu);
    loadProblems.erase(id);
  }
  Status saved = folder->setActive(id, true);
  if (s) changed(id, "activated");
  return saved;
}

Status Host::Impl::deactivateHere(const std::string& id) {
  std::string dir = dirOf(id);
  if (dir.empty()) return Error::notFound("Plugin \"" + id + "\" not found");
  Status s = runtime->deactivate(id);
  if (!s && s.error().kind != ErrorKind::kNotFound) return s;
  {
    std::lock_guard lock(mu);
    loadProblems.erase(id);
  }
  Status saved = folder->setActive(id, false);
  if (s) changed(id, "deactivated");
  return saved;
}

Status Host::activate(const std::string& id) {
  if (!impl_->cluster) return impl_->activateHere(id);
  return impl_->cluster->change([&] { return impl_->activateHere(id); });
}

Status Host::deactivate(const std::string& id) {
  if (!impl_->cluster) return impl_->deactivateHere(id);
  return impl_->cluster->change([&] { return impl_->deactivateHere(id); });
}

Result<OperationReport> Host::operate(const std::function<Result<OperationReport>(Installer&)>& operation) {
  if (!impl_->cluster) return operation(*impl_->installer);
  std::optional<Result<OperationReport>> ran;
  Status s = impl_->cluster->change([&]() -> Status {
    ran = operation(*impl_->installer);
    return *ran ? Status{} : Status((*ran).error());
  });
  if (!ran) return s.error();  // PostgreSQL away: nothing ran
  return std::move(*ran);
}

std::string Host::clusterJson() { return impl_->cluster ? impl_->cluster->statusJson() : ""; }

Status Host::Impl::joinCluster() {
  ClusterPlugins::Local local;
  local.installed = [this] {
    std::vector<WantedPlugin> out;
    for (const auto& p : installer->installed()) {
      out.push_back({p.id, p.version.toString(), folder->isActive(p.id), runtime->fetchGrant(p.id), adminBodyLimit(p.id)});
    }
    return out;
  };
  auto source = [this]() { return openSource(options.source, folder->installerDir()); };
  local.install = [this, source](const WantedPlugin& w) -> Status {
    auto from = source();
    if (!from) return from.error();
    auto r = installer->install(w.id, w.version, **from, InstallOptions{.activate = w.active});
    return r ? Status{} : Status(r.error());
  };
  local.changeVersion = [this, source](const WantedPlugin& w) -> Status {
    auto from = source();
    if (!from) return from.error();
    auto r = installer->upgrade(w.id, w.version, **from);
    return r ? Status{} : Status(r.error());
  };
  local.removeFiles = [this](const std::string& id) -> Status {
    auto r = installer->removeLocalCopy(id);
    return r ? Status{} : Status(r.error());
  };
  local.setActive = [this](const std::string& id, bool on) { return on ? activateHere(id) : deactivateHere(id); };
  local.setAccess = [this](const WantedPlugin& w) -> Status {
    if (runtime->fetchGrant(w.id) != w.grant) {
      if (auto s = setFetchGrantHere(w.id, w.grant); !s) return s;
    }
    return adminBodyLimit(w.id) == w.maxBodyBytes ? Status{} : setBodyLimitHere(w.id, w.maxBodyBytes);
  };
  local.log = [this](const std::string& level, const std::string& message) { log(level, message); };
  local.converged = [this] { tenants->reconcile(); };
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) name[0] = 0;
  auto started = ClusterPlugins::start(folder->postgresUrl(), std::string(name) + ":" + std::to_string(getpid()) + ":" + folder->root(), std::move(local));
  if (!started) return started.error();
  cluster = std::move(*started);
  return {};
}

Status Host::reload(const std::string& id, const std::function<Status()>& rebuild) {
  if (!impl_->folder->pluginsEnabled()) return Error::unsupported("plugins are disabled in " + impl_->folder->configFile() + " (plugins.enabled)");
  const bool running = [&] {
    for (const auto& p : impl_->runtime->plugins()) {
      if (p.id == id && p.state == PluginRunState::kActive) return true;
    }
    return false;
  }();
  // Running: the new code takes over without a gap, or the old one serves
  // on. Not running (its last load failed): started afresh.
  Status s = rebuild ? rebuild() : Status{};
  if (s) {
    std::string dir = impl_->dirOf(id);
    if (dir.empty()) return Error::notFound("Plugin \"" + id + "\" not found");
    s = running ? impl_->runtime->replace(dir) : impl_->runtime->activate(dir);
  }
  {
    std::lock_guard lock(impl_->mu);
    if (s) impl_->loadProblems.erase(id);
    else impl_->loadProblems[id] = running ? "the last change did not load (the version before it runs): " + s.error().message : s.error().message;
  }
  if (!s) {
    impl_->changed(id, "reload-failed");  // open panels show why, in the plugin's place
    return s;
  }
  impl_->routesMounted(id);
  impl_->changed(id, "reloaded");
  return {};
}

Status Host::setFetchGrant(const std::string& id, std::optional<FetchGrant> grant) {
  if (!impl_->cluster) return impl_->setFetchGrantHere(id, std::move(grant));
  return impl_->cluster->change([&] { return impl_->setFetchGrantHere(id, grant); });
}

Status Host::setBodyLimit(const std::string& id, std::optional<uint64_t> bytes) {
  if (!impl_->cluster) return impl_->setBodyLimitHere(id, bytes);
  return impl_->cluster->change([&] { return impl_->setBodyLimitHere(id, bytes); });
}

std::optional<uint64_t> Host::Impl::adminBodyLimit(const std::string& id) const {
  const uint64_t body = runtime->bodyLimit(id);
  return body == runtime->limits().maxBodyBytes ? std::nullopt : std::optional<uint64_t>(body);
}

Status Host::Impl::setFetchGrantHere(const std::string& id, std::optional<FetchGrant> grant) {
  if (dirOf(id).empty()) return Error::notFound("Plugin \"" + id + "\" not found");
  std::lock_guard lock(mu);
  if (auto s = saveGrant(id, grant); !s) return s;  // the file first: a grant that cannot be kept is not applied
  runtime->setFetchGrant(id, std::move(grant));
  log("info", "outbound HTTP grant for \"" + id + "\" " + (runtime->fetchGrant(id) ? "set" : "removed"));
  changed(id, "grants");
  return {};
}

Status Host::Impl::setBodyLimitHere(const std::string& id, std::optional<uint64_t> bytes) {
  if (dirOf(id).empty()) return Error::notFound("Plugin \"" + id + "\" not found");
  const std::optional<uint64_t> before = adminBodyLimit(id);
  std::lock_guard lock(mu);
  if (auto s = runtime->setBodyLimit(id, bytes); !s) return s;  // validated before it is written
  if (auto s = saveBodyLimit(id, bytes); !s) {
    (void)runtime->setBodyLimit(id, before);
    return s;
  }
  log("info", "request body limit for \"" + id + "\" is now " + std::to_string(runtime->bodyLimit(id)) + " bytes");
  changed(id, "limits");
  return {};
}

Installer& Host::installer() { return *impl_->installer; }

Result<std::unique_ptr<PackageSource>> Host::openPackageSource() const {
  return openSource(impl_->options.source, impl_->folder->installerDir());
}

// Older audit tables named a panel user's rows "user:<name>" in `actor`;
// they get the kind as its own column (two processes on one PostgreSQL
// may do this at once: each step may run twice).
Status Host::Impl::prepareAuditTable() {
  const std::string idType = db->isPostgres() ? "BIGSERIAL" : "INTEGER";
  if (auto s = db->exec("CREATE TABLE IF NOT EXISTS audit (id " + idType +
                        " PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, actor_kind TEXT NOT NULL DEFAULT 'token', "
                        "action TEXT NOT NULL, plugin TEXT NOT NULL, detail TEXT NOT NULL, ok INTEGER NOT NULL)");
      !s) {
    return s;
  }
  if (db->query("SELECT actor_kind FROM audit WHERE 1 = 0")) return {};
  SqlTransaction tx(*db);
  if (auto s = tx.begin(); !s) return s;
  if (auto s = db->exec(std::string("ALTER TABLE audit ADD COLUMN ") + (db->isPostgres() ? "IF NOT EXISTS " : "") +
                        "actor_kind TEXT NOT NULL DEFAULT 'token'");
      !s) {
    return s;
  }
  if (auto s = db->exec("UPDATE audit SET actor_kind = 'user', actor = substr(actor, 6) WHERE actor LIKE 'user:%'"); !s) return s;
  return tx.commit();
}

namespace {
// The audit table's actor_kind column.
const char* actorKindColumn(AuditActor::Kind kind) { return kind == AuditActor::Kind::kPanelUser ? "user" : "token"; }
}  // namespace

void Host::Impl::audit(const AuditActor& actor, const std::string& action, const std::string& pluginId, const std::string& detail, bool ok) {
  std::lock_guard lock(dbMutex);
  auto done = db->query("INSERT INTO audit (at, actor, actor_kind, action, plugin, detail, ok) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        {utcNowMillis(), actor.name, actorKindColumn(actor.kind), action, pluginId, detail, ok ? "1" : "0"});
  if (!done) log("error", "audit log: " + done.error().message);
}

void Host::audit(const AuditActor& actor, const std::string& action, const std::string& pluginId, const std::string& detail, bool ok) {
  impl_->audit(actor, action, pluginId, detail, ok);
}

std::string Host::auditJson(size_t limit) const {
  json out = json::array();
  std::lock_guard lock(impl_->dbMutex);
  auto rows = impl_->db->query("SELECT at, actor, actor_kind, action, plugin, detail, ok FROM audit ORDER BY id DESC LIMIT $1",
                               {std::to_string(limit)});
  if (!rows) return "[]";
  for (const auto& r : *rows) {
    out.push_back({{"at", r[0]}, {"actor", r[1]}, {"actorKind", r[2]}, {"action", r[3]}, {"plugin", r[4]}, {"detail", r[5]}, {"ok", r[6] != "0"}});
  }
  return out.dump();
}

Runtime& Host::runtime() { return *impl_->runtime; }
Tenants& Host::tenants() { return *impl_->tenants; }
std::string Host::pluginsDir() const { return impl_->folder->pluginsDir(); }

std::optional<SignedInUser> Host::signedInUser(const http::Request& request) const {
  return impl_->options.signedInUser ? impl_->options.signedInUser(request) : std::nullopt;
}

Result<TokenInfo> Host::authenticate(std::string_view secret) {
  std::lock_guard lock(impl_->dbMutex);
  return tokens::authenticate(*impl_->db, secret);
}

}  // namespace patchbay
