// The host's Tenants (patchbay/tenants.h): state in host.db, a runtime per
// tenant. Host::Impl owns it; host.cc starts it, host_routes.cc serves it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "host/host_impl.h"
#include "patchbay/tenants.h"

namespace patchbay {

class HostTenants final : public Tenants {
 public:
  explicit HostTenants(Host::Impl& host);
  ~HostTenants() override;

  // Makes the tenant_plugins table when missing.
  Status open();
  // Starts every enabled tenant plugin (at host start); failures are logged.
  void startAll();
  // The host's copy of `pluginId` changed: upgraded (tenants' databases
  // migrated, their instances switched with no gap) or taken away.
  void afterHostChange(const std::string& pluginId, bool upgraded);
  // Several processes on one database (docs/scale.md): starts the enabled
  // rows' instances not running here, stops those running here whose row
  // is gone or disabled (another process changed them).
  void reconcile();

  Result<TenantPlugin> install(const std::string& tenantId, const std::string& pluginId, const std::string& range,
                               const std::string& configurationJson, bool enabled) override;
  Result<TenantPlugin> configure(const std::string& tenantId, const std::string& pluginId, const std::string& configurationJson) override;
  Result<TenantPlugin> enable(const std::string& tenantId, const std::string& pluginId, bool enabled) override;
  Status uninstall(const std::string& tenantId, const std::string& pluginId, bool keepData) override;
  Result<std::vector<TenantPlugin>> list(const std::string& tenantId) const override;
  std::vector<std::string> tenantsOf(const std::string& pluginId) const override;
  Result<PluginResponse> handleRequest(const std::string& tenantId, const std::string& pluginId, const PluginRequest& request) override;
  void handleRequest(const std::string& tenantId, const std::string& pluginId, PluginRequest request, Runtime::RequestDone done) override;
  HookResult emit(const std::string& tenantId, const std::string& event, const std::string& contextJson) override;
  Result<std::string> call(const std::string& tenantId, const std::string& pluginId, const std::string& method,
                           const std::string& argsJson) override;
  Result<std::pair<TokenInfo, std::string>> createToken(const std::string& tenantId, const std::string& name) override;

 private:
  struct Row {
    std::string tenantId, pluginId;
    bool enabled = false;
    std::string installedAt, updatedAt;
  };
  // Runs `op` as a change of the cluster's plugin state when the host is
  // in one (ClusterPlugins::change: other processes follow), else as is.
  template <class T>
  Result<T> asClusterChange(const std::function<Result<T>()>& op);
  Status asClusterChange(const std::function<Status()>& op);
  // The operations as this process makes them (the public ones run them as the cluster's).
  Result<TenantPlugin> installHere(const std::string& tenantId, const std::string& pluginId, const std::string& range,
                                   const std::string& configurationJson, bool enabled);
  Result<TenantPlugin> enableHere(const std::string& tenantId, const std::string& pluginId, bool enabled);
  Status uninstallHere(const std::string& tenantId, const std::string& pluginId, bool keepData);
  std::optional<Row> row(const std::string& tenantId, const std::string& pluginId) const;
  std::vector<Row> rows(const std::string& whereColumn, const std::string& value) const;  // "" = all
  Status writeRow(const Row& r);
  Status deleteRow(const std::string& tenantId, const std::string& pluginId);
  TenantPlugin describe(const Row& r) const;

  std::string dataDirOf(const std::string& tenantId) const;
  Result<std::string> pluginDirOf(const std::string& pluginId) const;
  Result<std::shared_ptr<Runtime>> runtimeOf(const std::string& tenantId, bool create);
  Status start(const std::string& tenantId, const std::string& pluginId);
  void stop(const std::string& tenantId, const std::string& pluginId);
  // With PostgreSQL: the tenant's schema and role of the plugin, dropped.
  Status dropTenantSchema(const std::string& tenantId, const std::string& pluginId);

  Host::Impl& host_;
  std::mutex opMutex_;  // one install/configure/enable/uninstall at a time
  mutable std::mutex mu_;  // runtimes_, problems_
  std::map<std::string, std::shared_ptr<Runtime>> runtimes_;
  std::map<std::string, std::string> problems_;  // "<tenant>/<plugin>" -> why it did not start
};

}  // namespace patchbay
