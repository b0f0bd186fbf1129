// Host internals shared by host.cc (state) and host_routes.cc (HTTP).
#pragma once

#include <mutex>
#include <nlohmann/json_fwd.hpp>

#include "patchbay/cron_claims.h"
#include "patchbay/data_folder.h"
#include "patchbay/host.h"
#include "patchbay/sql_database.h"
#include "patchbay/store.h"

namespace patchbay {

class ClusterPlugins;
class HostTenants;
class MarketplaceOperations;

struct Host::Impl {
  HostOptions options;
  std::shared_ptr<DataFolder> folder;  // ours while we live: config.json, plugins/, plugin-data/, tenants/
  std::unique_ptr<Runtime> runtime;
  // With the data in PostgreSQL: every process on it shares the plugins'
  // cron slots (each runs once), tenants' runtimes included.
  std::shared_ptr<CronClaims> cronClaims;
  std::unique_ptr<Installer> installer;

  mutable std::mutex mu;  // loadProblems; the order of config.json's changes with the runtime's
  std::map<std::string, std::string> loadProblems;  // id -> why its load failed; guarded by mu

  mutable std::mutex dbMutex;
  std::unique_ptr<SqlDatabase> db;  // tokens, audit, tenant_plugins: data/host.db, or the patchbay_host schema in PostgreSQL

  std::unique_ptr<HostTenants> tenants;  // stops the tenants' plugins before the runtime goes
  // With the data in PostgreSQL: the cluster's desired plugin state, converged to.
  std::unique_ptr<ClusterPlugins> cluster;
  // The marketplace's operations; last: the one under way finishes first.
  std::unique_ptr<MarketplaceOperations> marketplace;

  void log(const std::string& level, const std::string& message) const;
  // Writes one plugin's grant (or its removal) into config.json.
  Status saveGrant(const std::string& id, const std::optional<FetchGrant>& grant);
  Status saveBodyLimit(const std::string& id, std::optional<uint64_t> bytes);
  // Moves a Sodium panel's plugins.settings (config.json's "plugins" object
  // given) into the plugins' own settings stores, at start.
  Status adoptSodiumSettings(const nlohmann::ordered_json& plugins);
  // The folder of plugin `id` (from discovery), or "".
  std::string dirOf(const std::string& id) const;
  // Seed 004's route:register, once plugin `id` has started with routes
  // mounted at /api/plugins/<id>/ ({plugin, mount, routes}).
  void routesMounted(const std::string& id);
  // HostOptions::pluginsChanged, when set.
  void changed(const std::string& id, const char* change) const {
    if (options.pluginsChanged) options.pluginsChanged(id, change);
  }
  // Activates or deactivates plugin `id` in this process (and its active list).
  Status activateHere(const std::string& id);
  Status deactivateHere(const std::string& id);
  Status setFetchGrantHere(const std::string& id, std::optional<FetchGrant> grant);
  Status setBodyLimitHere(const std::string& id, std::optional<uint64_t> bytes);
  // Plugin `id`'s request body limit as an administrator set it (none: the host's default applies).
  std::optional<uint64_t> adminBodyLimit(const std::string& id) const;
  // Starts converging to the cluster's plugin state (the data in PostgreSQL).
  Status joinCluster();
  // Records an admin action in host.db's audit log.
  // Makes the audit table, or gives an older one its actor_kind column.
  Status prepareAuditTable();
  void audit(const AuditActor& actor, const std::string& action, const std::string& pluginId, const std::string& detail, bool ok);
};

}  // namespace patchbay
