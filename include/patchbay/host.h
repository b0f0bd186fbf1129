// patchbay/host.h — the host process (`patchbay serve`): the runtime behind
// HTTP, with seed 004's data/config.json and Sodium's admin API.
//
//   data/config.json   {"plugins": {"enabled": true, "directory": "data/plugins",
//                                   "active": ["discord-alerts", "billing"],
//                                   "grants": {"billing": {"fetch": true, "hosts": ["api.stripe.com"]}}}}
//   data/plugin-data/  each plugin's own data (<id>/data.db)
//   data/host.db       admin tokens, the audit log, tenants (with "database":
//                      "postgresql://..." in config.json: the patchbay_host
//                      schema there, and plugin data in a schema per plugin)
//
//   data/installed.json, data/plugins/.versions/, data/.install/: the installer's
//     (patchbay/install.h)
//
// Discovery: every folder in the plugins directory with a plugin.json (the
// id defaults to the folder's name). The active list is the source of truth
// for what runs: activating or deactivating over the admin API updates it at
// once (atomically), so it survives a restart. A plugin whose manifest or
// module fails is reported and skipped; the others load.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "patchbay/host_state.h"
#include "patchbay/http.h"
#include "patchbay/install.h"
#include "patchbay/manifest.h"
#include "patchbay/result.h"
#include "patchbay/runtime.h"
#include "patchbay/sql_database.h"
#include "patchbay/store.h"
#include "patchbay/tenants.h"
#include "patchbay/tokens.h"

namespace patchbay {

// A person signed in to the panel a host is part of.
struct SignedInUser {
  std::string name;         // for the audit log
  bool admin = false;       // may use the admin API
  std::string requestJson;  // Sodium's req.user, for plugin routes
};

struct HostOptions {
  std::string dataDir = "data";
  RuntimeLimits limits;
  // Where the admin API installs plugins from (`patchbay serve` fills it
  // from its flags over seed 002's PLUGIN_SOURCE / PLUGIN_SERVER_URL).
  SourceConfig source;
  // The person a request acts for, from the panel the host is part of
  // (patchbay's own: panel::Panel::actingUser); nullopt: nobody. They are
  // plugin routes' req.user, and an administrator among them may use the
  // admin API as an admin token does. Admin tokens work without it.
  std::function<std::optional<SignedInUser>(const http::Request&)> signedInUser;
  // The panel's records plugins read with sodium.data (patchbay's own
  // panel: panel::Panel::records()); null: empty lists.
  std::shared_ptr<PanelData> panelData;
  // Told after the plugins changed: one was activated or deactivated (by
  // an administrator, or by an install, upgrade or uninstall: change
  // "activated", "deactivated", "upgraded"), configured ("settings",
  // "grants", "limits") or reloaded ("reloaded", "reload-failed": the dev
  // loop). Called on the thread that changed it.
  std::function<void(const std::string& pluginId, const std::string& change)> pluginsChanged;
  // Told of each step of the marketplace's installs, upgrades and
  // uninstalls ({"type":"plugin.operation","operation":{...}}: see
  // docs/marketplace.md), on the thread that runs them. For administrators
  // only: patchbay's panel sends it to their live connections.
  std::function<void(const std::string& eventJson)> operationProgress;
  // Plugin and host log lines (plugin id or "host", level, message).
  std::function<void(const std::string& source, const std::string& level, const std::string& message)> log;
};

// A plugin folder as discovered.
struct HostPlugin {
  std::string id;
  std::string dir;
  std::optional<Manifest> manifest;  // unset when the manifest is invalid
  std::string problem;               // why it is not running (bad manifest, failed load), "" if none
  bool active = false;               // in the active list
  bool running = false;              // loaded in the runtime
  bool hasClient = false;            // has a client.js
};

// Who did what the audit log records: an administrator signed in to the
// panel, or an API token (the admin token, a tenant's), by its name.
struct AuditActor {
  enum class Kind { kPanelUser, kApiToken };
  Kind kind = Kind::kApiToken;
  std::string name;
};

class Host {
 public:
  // Reads (creating with defaults) data/config.json and starts the active
  // plugins. Errors only for an unreadable or malformed config file.
  static Result<std::unique_ptr<Host>> open(HostOptions options);
  ~Host();

  std::vector<HostPlugin> plugins() const;
  // Activate: load it and add it to the active list. kNotFound for an
  // unknown id; the load error (kInvalidInput) for a plugin that fails.
  Status activate(const std::string& id);
  Status deactivate(const std::string& id);
  // Starts plugin `id` again from its folder, its code as it is now (the
  // dev loop, after an edit): a running plugin is switched without a gap
  // and keeps serving when the new code fails to load (that error is
  // returned, kept as the plugin's problem and told as change
  // "reload-failed"); a plugin whose last load failed is started afresh.
  // Told as change "reloaded" (open panels make its frames again).
  // `rebuild`, when given, runs first (the dev loop's build into the
  // plugin's folder); its error counts as the reload's.
  Status reload(const std::string& id, const std::function<Status()>& rebuild = {});

  // An administrator's outbound-HTTP grant for plugin `id`, written into
  // config.json (plugins.grants) and applied at once; nullopt removes it.
  // kNotFound for an unknown plugin.
  Status setFetchGrant(const std::string& id, std::optional<FetchGrant> grant);
  // An administrator's request body limit for plugin `id`'s routes (its
  // tenants' copies too), written into config.json (plugins.limits) and
  // applied at once; nullopt goes back to the default. Refused above a
  // quarter of the plugin heap (kLimitExceeded); kNotFound for an unknown
  // plugin.
  Status setBodyLimit(const std::string& id, std::optional<uint64_t> bytes);

  // The installer of this host's data folder, live: what it installs,
  // upgrades or uninstalls starts, switches or stops at once. Interrupted
  // operations were finished or rolled back when the host opened. For an
  // administrator's change, use operate().
  Installer& installer();
  // Runs `operation` (an install, upgrade or uninstall) on the installer.
  // With the data in PostgreSQL the change is the cluster's: made under the
  // cluster's plugin lock and then applied by every process on that
  // database (docs/scale.md, "Panels"); kUnavailable when PostgreSQL cannot
  // be reached (nothing ran). activate() and deactivate() work the same way.
  Result<OperationReport> operate(const std::function<Result<OperationReport>(Installer&)>& operation);
  // With the data in PostgreSQL: the cluster's plugin state and the
  // generation each process applied (GET /api/admin/cluster); "" otherwise.
  std::string clusterJson();
  // The configured package source (HostOptions::source).
  Result<std::unique_ptr<PackageSource>> openPackageSource() const;

  // The admin actions taken (install, upgrade, uninstall), newest first,
  // as a JSON array of {at, actor, actorKind ("user" or "token"), action,
  // plugin, detail, ok}.
  std::string auditJson(size_t limit = 500) const;
  void audit(const AuditActor& actor, const std::string& action, const std::string& pluginId, const std::string& detail, bool ok);

  Runtime& runtime();
  std::string pluginsDir() const;
  // Seed 003's tenants: plugins installed, configured and enabled per tenant.
  Tenants& tenants();

  // The admin token a secret belongs to (see openHostState). On first
  // open, when there are none, one is made and its secret written to
  // data/admin-token (mode 0600).
  Result<TokenInfo> authenticate(std::string_view secret);
  // The person signed in to the panel a request acts for (HostOptions::signedInUser), or nullopt.
  std::optional<SignedInUser> signedInUser(const http::Request& request) const;

  // GET /api/plugins/client-data, the admin API (/api/admin/plugins...),
  // the marketplace's (/api/admin/marketplace...: docs/marketplace.md),
  // every plugin's routes under /api/plugins/<id>/, and the tenants' (seed
  // 003's endpoints, /api/tenants/<tenant>/plugins/<id>/). Keep the host alive.
  void addRoutes(http::Router& router);

  struct Impl;

 private:
  explicit Host(std::unique_ptr<Impl> impl);
  // Seed 003's tenant endpoints and each tenant's plugin routes (patchbay/tenants.h).
  void addTenantRoutes(http::Router& router);
  // The marketplace (/api/admin/marketplace...) and seed 001's install-remote.
  void addMarketplaceRoutes(http::Router& router);
  std::unique_ptr<Impl> impl_;
};

}  // namespace patchbay
