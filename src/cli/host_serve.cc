// `patchbay serve` itself: the host, its plugins in V8, HTTP.
#include "cli/host_serve.h"

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/log.h"
#include "cli/output.h"
#include "cli/server_support.h"
#include "cli/source_flags.h"
#include "patchbay/host.h"
#include "patchbay/data_folder.h"
#include "patchbay/host_state.h"
#include "patchbay/panel.h"

namespace patchbay::cli {

int runHostServe(const HostServeOptions& o) {
  sigset_t signals = blockStopSignals();
  keepFreedMemoryForReuse();
  setupLogging();
  auto listen = splitListen(o.listen);
  if (!listen) return fail(listen.error());
  HostOptions options;
  options.dataDir = o.dataDir;
  options.limits.heapBytes = static_cast<size_t>(o.heapMb) << 20;
  options.limits.callTimeout = std::chrono::milliseconds(o.callTimeoutMs);
  // The admin API's package source: flags over $PLUGIN_SOURCE / $PATCHBAY_REGISTRY.
  auto fromEnv = applySourceEnvironment(options.source, [](const char* name) { return std::getenv(name); });
  if (!fromEnv) return fail(fromEnv.error());
  options.source = *fromEnv;
  auto flagged = applySourceFlags(options.source, o.source, o.modulesDir, o.registry);
  if (!flagged) return fail(flagged.error());
  options.source = *flagged;
  options.log = [](const std::string& source, const std::string& level, const std::string& message) {
    nlohmann::ordered_json line = {{"msg", message}, {source == "host" ? "component" : "plugin", source}};
    if (level == "error") logError(line);
    else if (level == "warn") logWarn(line);
    else logInfo(line);
  };
  // The panel: users and sessions in the host's database.
  std::error_code madeData;
  std::filesystem::create_directories(o.dataDir, madeData);
  if (madeData) return fail(Error::io(o.dataDir + ": cannot create the data folder: " + madeData.message()));
  auto panelDb = openHostState(o.dataDir);
  if (!panelDb) return fail(panelDb.error());
  auto accounts = panel::Accounts::open(std::move(*panelDb));
  if (!accounts) return fail(accounts.error());
  const std::string passwordFile = o.dataDir + "/admin-password";
  auto firstAdmin = panel::ensureFirstAdministrator(**accounts, passwordFile);
  if (!firstAdmin) return fail(firstAdmin.error());
  if (*firstAdmin) {
    logInfo({{"msg", "created the panel's first administrator \"admin\"; its password is in " + passwordFile +
                         " (sign in as admin with it)"}});
  }
  // Panel processes on one PostgreSQL database share their records and live events (docs/scale.md).
  auto postgresUrl = configuredPostgresUrl(o.dataDir + "/config.json");
  if (!postgresUrl) return fail(postgresUrl.error());
  // Servers and nodes, in the same database; a new panel gets a first node.
  auto fleetDb = openHostState(o.dataDir);
  if (!fleetDb) return fail(fleetDb.error());
  panel::FleetOptions fleetOptions;
  if (!postgresUrl->empty()) fleetOptions.reloadEvery = std::chrono::seconds(5);  // besides when another process says
  auto fleet = panel::Fleet::open(std::move(*fleetDb), fleetOptions);
  if (!fleet) return fail(fleet.error());
  auto firstNode = (*fleet)->ensureFirstNode();
  if (!firstNode) return fail(firstNode.error());
  if (*firstNode) logInfo({{"msg", "created the panel's first node, \"Local node\""}});
  auto thePanel = panel::Panel::open(std::move(*accounts), std::move(*fleet),
                                     {.secureCookie = o.secureCookies, .relay = postgresUrl->empty() ? nullptr : panel::postgresEventRelay(*postgresUrl)});
  if (!thePanel) return fail(thePanel.error());
  // --no-registration closes it now; an administrator may open it again in the panel.
  if (o.closedRegistration) {
    if (auto s = (*thePanel)->setRegistrationOpen(false); !s) return fail(s.error());
  }
  options.panelData = (*thePanel)->records();
  options.pluginsChanged = [p = thePanel->get()](const std::string& id, const std::string& change) { p->pluginsChanged(id, change); };
  options.operationProgress = [p = thePanel->get()](const std::string& event) { p->tellAdministrators(event); };

  options.signedInUser = [p = thePanel->get()](const http::Request& request) -> std::optional<SignedInUser> {
    auto user = p->actingUser(request);
    if (!user) return std::nullopt;
    return SignedInUser{user->username, user->isAdmin(), panel::requestUserJson(*user)};
  };
  auto host = Host::open(options);
  if (!host) return fail(host.error());
  (*thePanel)->emitHooksTo([runtime = &(*host)->runtime()](const std::string& event, const std::string& context) { return runtime->emit(event, context); },
                           [runtime = &(*host)->runtime()](const std::string& event) { return runtime->hasHookHandlers(event); });

  // What runs beside the host stops before the host goes, however this returns.
  struct StopAlongside {
    std::function<void()> stop;
    void now() {
      if (stop) stop();
      stop = nullptr;
    }
    ~StopAlongside() { now(); }
  } alongside{o.alongside ? o.alongside(**host) : nullptr};
  http::Router router;
  (*host)->addRoutes(router);
  (*thePanel)->addRoutes(router);
  http::Server server(serverOptionsFor(*listen, o.threads), router);
  size_t running = 0;
  for (const auto& p : (*host)->plugins()) running += p.running ? 1 : 0;
  if (auto s = startListening(server, listen->first, o.portFile,
                              {{"data", o.dataDir}, {"plugins_dir", (*host)->pluginsDir()}, {"active_plugins", running}});
      !s) {
    return fail(s.error());
  }
  if (o.onListening) o.onListening("http://" + listen->first + ":" + std::to_string(server.port()));
  logInfo({{"msg", "stopping"}, {"signal", waitForStopSignal(signals)}});
  // Requests waiting for a plugin (a promise that may never settle) are
  // answered now, so that the server's drain waits only for real work.
  (*host)->runtime().cancelRequests("the host is stopping");
  server.stop();
  alongside.now();
  (*thePanel)->emitHooksTo(nullptr);  // the hooks under way finish; then the runtime may go
  host->reset();
  thePanel->reset();
  logInfo({{"msg", "stopped"}});
  return kExitOk;
}

}  // namespace patchbay::cli
