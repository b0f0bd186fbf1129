// patchbay/tenants.h — seed 003's tenants: one host, many customers, each
// with its own activation, settings and data of the plugins installed for it.
//
//   Tenants& tenants = host.tenants();
//   tenants.install("acme", "notes", "^1", R"({"greeting": "hi"})");
//   auto res = tenants.handleRequest("acme", "notes", {.method = "GET", .path = "/notes"});
//   auto verdict = tenants.emit("acme", "server:beforeCreate", ctxJson);
//
// Model: a plugin's code is installed once on the host (patchbay/install.h;
// installing for a tenant installs it on the host first, not activated
// there). Each tenant has a runtime of its own (patchbay/runtime.h), so an
// enabled plugin runs in an isolate per tenant: its db, config, cron jobs,
// hooks and routes belong to that tenant alone, and no call reaches another
// tenant's. On disk:
//   data/tenants/<tenant>/plugin-data/<plugin>/data.db   the tenant's data and settings
//   data/host.db, table tenant_plugins                     which tenant has which plugin, enabled or not
// A tenant's database gets the plugin's migrations when the plugin is
// installed for it, and the steps a newer version adds when the host
// upgrades it (before the tenant's instance switches to the new code).
//
// Over HTTP (patchbay/host.h adds the routes), seed 003's endpoints for an
// administrator: POST /plugins/install {pluginId, tenantId}, PUT
// /plugins/{pluginId}/configure {tenantId, configuration}, POST
// /plugins/{pluginId}/enable {tenantId, enabled}, GET /tenants/{tenantId}/plugins;
// plus DELETE /tenants/{tenantId}/plugins/{pluginId} and POST
// /tenants/{tenantId}/tokens. A tenant's plugin routes are at
// /api/tenants/{tenantId}/plugins/{pluginId}/..., for an administrator or a
// token of that tenant (scope "tenant:<id>") and no one else.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "patchbay/result.h"
#include "patchbay/runtime.h"
#include "patchbay/tokens.h"

namespace patchbay {

// Whether a tenant's copy of a plugin serves: running; stopped (disabled,
// or plugins are off); failed (TenantPlugin::error says why).
enum class TenantPluginState { kRunning, kStopped, kFailed };
const char* tenantPluginStateName(TenantPluginState state);  // "running", "stopped", "failed"

// Seed 003's InstalledPlugin.
struct TenantPlugin {
  std::string pluginId, tenantId;
  bool enabled = false;
  std::string configurationJson = "{}";  // the tenant's settings, secrets masked
  std::string installedAt, updatedAt;    // ISO 8601 UTC
  std::string version;                   // of the host's installed copy
  TenantPluginState state = TenantPluginState::kStopped;
  std::string error;                     // why it failed, "" otherwise
};

// Tenant ids: 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit.
bool isValidTenantId(std::string_view id);

class Tenants {
 public:
  virtual ~Tenants() = default;

  // Installs plugin `pluginId` for `tenantId` (on the host first when it is
  // not there, from the host's source at `range`), runs its migrations in
  // the tenant's database, stores `configurationJson` (validated against
  // the settings schema; "" = none) and, when `enabled`, starts it.
  // kConflict when the tenant has it already.
  virtual Result<TenantPlugin> install(const std::string& tenantId, const std::string& pluginId, const std::string& range,
                                       const std::string& configurationJson = "", bool enabled = true) = 0;
  // Sets the tenant's settings of the plugin (all or none), seen by its
  // instance at the next config.get.
  virtual Result<TenantPlugin> configure(const std::string& tenantId, const std::string& pluginId, const std::string& configurationJson) = 0;
  // Starts or stops the tenant's instance; the choice is kept across restarts.
  virtual Result<TenantPlugin> enable(const std::string& tenantId, const std::string& pluginId, bool enabled) = 0;
  // Stops the tenant's instance and forgets it; its data goes (down
  // migrations, then the folder) unless keepData.
  virtual Status uninstall(const std::string& tenantId, const std::string& pluginId, bool keepData = false) = 0;
  virtual Result<std::vector<TenantPlugin>> list(const std::string& tenantId) const = 0;
  // The tenants that have plugin `pluginId` installed.
  virtual std::vector<std::string> tenantsOf(const std::string& pluginId) const = 0;

  // The tenant's instance of the plugin, as Runtime's handleRequest and
  // emit (kNotFound when it is not installed and enabled for that tenant).
  virtual Result<PluginResponse> handleRequest(const std::string& tenantId, const std::string& pluginId, const PluginRequest& request) = 0;
  // The same without waiting: `done` gets the answer (Runtime::handleRequest).
  virtual void handleRequest(const std::string& tenantId, const std::string& pluginId, PluginRequest request, Runtime::RequestDone done) = 0;
  virtual HookResult emit(const std::string& tenantId, const std::string& event, const std::string& contextJson) = 0;
  virtual Result<std::string> call(const std::string& tenantId, const std::string& pluginId, const std::string& method,
                                   const std::string& argsJson = "[]") = 0;

  // A bearer token for the tenant's plugin routes (scope "tenant:<id>").
  virtual Result<std::pair<TokenInfo, std::string>> createToken(const std::string& tenantId, const std::string& name) = 0;
};

}  // namespace patchbay
