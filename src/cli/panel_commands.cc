// patchbay panel serve: seed 002's marketplace endpoints for a panel laid
// out as seed 002 describes (see patchbay/panel_service.h).
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/log.h"
#include "cli/output.h"
#include "cli/server_support.h"
#include "cli/source_flags.h"
#include "patchbay/panel_service.h"

namespace patchbay::cli {

namespace {

struct PanelServeOptions {
  std::string panel = "panel.json";
  std::string listen = "127.0.0.1:8000";
  std::string portFile;
  std::string source, modulesDir, registry;
  int threads = 4;
};

int runPanelServe(const PanelServeOptions& o) {
  sigset_t signals = blockStopSignals();
  keepFreedMemoryForReuse();
  setupLogging();
  auto listen = splitListen(o.listen);
  if (!listen) return fail(listen.error());
  auto layout = PanelLayout::load(o.panel);
  if (!layout) return fail(layout.error());
  auto fromEnv = applySourceEnvironment({}, [](const char* name) { return std::getenv(name); });
  if (!fromEnv) return fail(fromEnv.error());
  auto source = applySourceFlags(*fromEnv, o.source, o.modulesDir, o.registry);
  if (!source) return fail(source.error());
  auto service = PanelService::open(*layout, *source);
  if (!service) return fail(service.error());
  http::Router router;
  (*service)->addRoutes(router);
  http::Server server(serverOptionsFor(*listen, o.threads), router);
  if (auto s = startListening(server, listen->first, o.portFile, {{"panel", o.panel}, {"admin_token", (*service)->adminTokenPath()}}); !s) {
    return fail(s.error());
  }
  logInfo({{"msg", "stopping"}, {"signal", waitForStopSignal(signals)}});
  server.stop();
  return kExitOk;
}

}  // namespace

void addPanelCommands(CLI::App& app, Outcome& outcome) {
  auto* panel = app.add_subcommand("panel", "A panel in another language (backend, frontend, database folders): install into it and serve its marketplace");
  panel->require_subcommand(1);
  auto o = std::make_shared<PanelServeOptions>();
  auto* serve = panel->add_subcommand("serve", "Serve the marketplace endpoints (install, uninstall) for the panel");
  serve->add_option("--panel", o->panel, "The panel layout file (backend, frontend, database, registry)")->capture_default_str();
  serve->add_option("--listen,-l", o->listen, "ADDRESS:PORT to listen on (port 0: any free port)")->capture_default_str();
  serve->add_option("--port-file", o->portFile, "Write the port listened on to this file");
  serve->add_option("--threads", o->threads, "Threads serving requests")->capture_default_str()->check(CLI::Range(1, 256));
  serve->add_option("--source", o->source, "local or remote (default: $PLUGIN_SOURCE, else local)");
  serve->add_option("--modules", o->modulesDir, "The local source's folder (default: $PLUGIN_MODULES_DIR, else modules)");
  serve->add_option("--registry", o->registry, "The remote source's URL (default: $PATCHBAY_REGISTRY)");
  serve->callback([o, &outcome] { outcome.exitCode = runPanelServe(*o); });
}

}  // namespace patchbay::cli
