// patchbay serve | admin-token create|list|revoke
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/host_serve.h"
#include "cli/log.h"
#include "cli/output.h"
#include "cli/server_support.h"
#include "cli/source_flags.h"
#include "patchbay/host_state.h"
#include "patchbay/store.h"
#include "patchbay/tokens.h"

namespace patchbay::cli {

namespace {


struct AdminTokenOptions {
  std::string dataDir = "data";
  std::string name;
  int64_t id = 0;
  bool json = false;
};

}  // namespace

void addHostCommands(CLI::App& app, Outcome& outcome) {
  auto serve = std::make_shared<HostServeOptions>();
  auto* serveCmd = app.add_subcommand("serve", "Run the panel: its users and sessions, plugins from data/config.json, their routes, the admin API");
  serveCmd->add_option("--listen,-l", serve->listen, "ADDRESS:PORT to listen on (port 0: any free port)")->capture_default_str();
  serveCmd->add_option("--data,-d", serve->dataDir, "Data folder: config.json, plugin data, host.db")->capture_default_str();
  serveCmd->add_option("--port-file", serve->portFile, "Write the port listened on to this file");
  serveCmd->add_option("--threads", serve->threads, "Threads serving requests")->capture_default_str()->check(CLI::Range(1, 256));
  serveCmd->add_option("--heap-mb", serve->heapMb, "Heap limit of each plugin, MiB")->capture_default_str()->check(CLI::Range(8, 4096));
  serveCmd->add_option("--call-timeout-ms", serve->callTimeoutMs, "CPU time one plugin task may take")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  serveCmd->add_option("--source", serve->source, "Where the admin API installs from: local or remote (default: $PLUGIN_SOURCE, else local)");
  serveCmd->add_option("--modules", serve->modulesDir, "The local source's folder of ID_vVERSION.zip files (default: $PLUGIN_MODULES_DIR, else modules)");
  serveCmd->add_option("--registry", serve->registry, "The remote source's URL (default: $PATCHBAY_REGISTRY)");
  serveCmd->add_flag("--secure-cookies", serve->secureCookies, "Mark session cookies Secure (the panel is reached over HTTPS)");
  serveCmd->add_flag("--no-registration", serve->closedRegistration, "Close registration (POST /api/auth/register refused; accounts are made by administrators, who may open it again in the panel)");
  serveCmd->callback([serve, &outcome] { outcome.exitCode = runHostServe(*serve); });

  auto up = std::make_shared<UpOptions>();
  auto* upCmd = app.add_subcommand("up", "Run the whole product: a registry holding the reference plugins, and the panel installing from it");
  upCmd->add_option("--data,-d", up->dataDir, "Data folder (the panel's, the registry's and its drop-in folder inside)")->capture_default_str();
  upCmd->add_option("--listen,-l", up->listen, "The panel's ADDRESS:PORT (port 0: any free port)")->capture_default_str();
  upCmd->add_option("--registry-listen", up->registryListen, "The registry's ADDRESS:PORT (port 0: any free port)")->capture_default_str();
  upCmd->add_option("--port-file", up->portFile, "Write the panel's port to this file once it listens");
  upCmd->callback([up, &outcome] { outcome.exitCode = runUp(*up); });

  auto dev = std::make_shared<DevOptions>();
  auto* devCmd = app.add_subcommand("dev", "Run a panel with the plugin in DIR in it, reloaded (with its frames) on every change to its files");
  devCmd->add_option("dir", dev->pluginDir, "The plugin's folder")->capture_default_str();
  devCmd->add_option("--data,-d", dev->dataDir, "The dev panel's data folder")->capture_default_str();
  devCmd->add_option("--listen,-l", dev->listen, "ADDRESS:PORT to listen on (port 0: any free port)")->capture_default_str();
  devCmd->add_option("--port-file", dev->portFile, "Write the port listened on to this file");
  devCmd->add_option("--poll-ms", dev->pollMs, "How often the plugin's files are looked at, ms")->capture_default_str()->check(CLI::Range(20, 5000));
  devCmd->callback([dev, &outcome] { outcome.exitCode = runDev(*dev); });

  auto* tokenCmd = app.add_subcommand("admin-token", "Create, list and revoke the host's admin tokens");
  tokenCmd->require_subcommand(1);
  auto create = std::make_shared<AdminTokenOptions>();
  auto* createCmd = tokenCmd->add_subcommand("create", "Create an admin token; prints its secret once");
  createCmd->add_option("--data,-d", create->dataDir, "The host's data folder")->capture_default_str();
  createCmd->add_option("--name,-n", create->name, "Who the token is for")->required();
  createCmd->add_flag("--json", create->json, "Print the result as JSON");
  createCmd->callback([create, &outcome] {
    auto db = openHostState(create->dataDir);
    if (!db) {
      outcome.exitCode = create->json ? failJson(db.error()) : fail(db.error());
      return;
    }
    auto made = createAdminToken(**db, create->name);
    if (!made) {
      outcome.exitCode = create->json ? failJson(made.error()) : fail(made.error());
      return;
    }
    if (create->json) {
      printJson({{"ok", true}, {"id", made->first.id}, {"name", made->first.name}, {"token", made->second}});
    } else {
      std::cout << "Admin token " << made->first.id << " for " << made->first.name << " (shown once, keep it):\n" << made->second << "\n";
    }
  });
  auto list = std::make_shared<AdminTokenOptions>();
  auto* listCmd = tokenCmd->add_subcommand("list", "List admin tokens (never their secrets)");
  listCmd->add_option("--data,-d", list->dataDir, "The host's data folder")->capture_default_str();
  listCmd->add_flag("--json", list->json, "Print the result as JSON");
  listCmd->callback([list, &outcome] {
    auto db = openHostState(list->dataDir);
    if (!db) {
      outcome.exitCode = fail(db.error());
      return;
    }
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (const auto& t : tokens::list(**db)) {
      items.push_back({{"id", t.id}, {"name", t.name}, {"created_at", t.createdAt}, {"last_used_at", t.lastUsedAt}, {"revoked", t.revoked}});
      if (!list->json) {
        std::cout << t.id << "  " << t.name << "  created " << t.createdAt << (t.revoked ? "  (revoked)" : "") << "\n";
      }
    }
    if (list->json) printJson({{"tokens", items}});
  });
  auto revoke = std::make_shared<AdminTokenOptions>();
  auto* revokeCmd = tokenCmd->add_subcommand("revoke", "Revoke an admin token by id");
  revokeCmd->add_option("id", revoke->id, "Token id (from admin-token list)")->required();
  revokeCmd->add_option("--data,-d", revoke->dataDir, "The host's data folder")->capture_default_str();
  revokeCmd->callback([revoke, &outcome] {
    auto db = openHostState(revoke->dataDir);
    if (!db) {
      outcome.exitCode = fail(db.error());
      return;
    }
    if (auto s = tokens::revoke(**db, revoke->id); !s) {
      outcome.exitCode = fail(s.error());
      return;
    }
    std::cout << "Revoked admin token " << revoke->id << "\n";
  });
}

}  // namespace patchbay::cli
