// patchbay registry serve
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/log.h"
#include "cli/output.h"
#include "patchbay/registry.h"

namespace patchbay::cli {

namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string dataDir = "registry-data";
  std::string pluginsDir = "plugins";
  std::string portFile;
  int threads = 2;
  uint64_t maxUploadBytes = 50ull << 20;
};

Result<std::pair<std::string, uint16_t>> splitListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Error::invalid("--listen \"" + listen + "\": expected ADDRESS:PORT, e.g. 127.0.0.1:8080");
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    return Error::invalid("--listen \"" + listen + "\": the port must be a number from 0 to 65535");
  }
  return std::make_pair(host.empty() ? std::string("0.0.0.0") : host, static_cast<uint16_t>(std::stoul(port)));
}

int runServe(const ServeOptions& o) {
  // Signals are taken by sigwait below, not by a handler; block them before
  // any thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  setupLogging();

  auto listen = splitListen(o.listen);
  if (!listen) return fail(listen.error());
  std::filesystem::create_directories(o.pluginsDir);
  auto registry = Registry::open({o.dataDir, o.pluginsDir});
  if (!registry) return fail(registry.error());

  http::Router router;
  (*registry)->addRoutes(router);
  http::ServerOptions options;
  options.address = listen->first;
  options.port = listen->second;
  options.threads = o.threads;
  options.maxBodyBytes = o.maxUploadBytes;
  options.onAccess = [](const http::AccessRecord& r) {
    logInfo({{"msg", "request"}, {"method", r.method}, {"path", r.path}, {"status", r.status}, {"bytes", r.bytes},
             {"ms", static_cast<double>(static_cast<int64_t>(r.seconds * 100000)) / 100.0}, {"remote", r.remoteAddress}});
  };
  http::Server server(options, router.handler());
  if (auto s = server.start(); !s) return fail(s.error());
  const std::string address = listen->first + ":" + std::to_string(server.port());
  if (!o.portFile.empty()) std::ofstream(o.portFile) << server.port() << "\n";
  logInfo({{"msg", "listening"}, {"address", address}, {"data", o.dataDir}, {"plugins_dir", o.pluginsDir},
           {"plugins", (*registry)->list({}).total}});

  // Background upkeep: the drop-in folder and download counts, every second.
  std::mutex mutex;
  std::condition_variable wake;
  bool done = false;
  std::thread upkeep([&] {
    std::set<std::string> reported;
    std::unique_lock lock(mutex);
    while (!wake.wait_for(lock, std::chrono::seconds(1), [&] { return done; })) {
      lock.unlock();
      auto changes = (*registry)->syncFolder();
      if (!changes) logError({{"msg", "folder sync failed"}, {"error", changes.error().message}});
      else if (*changes > 0) logInfo({{"msg", "folder synced"}, {"changes", *changes}});
      std::set<std::string> now;
      for (const auto& p : (*registry)->folderProblems()) {
        std::string key = p.file + "\n" + p.message;
        now.insert(key);
        if (!reported.count(key)) logWarn({{"msg", "invalid package in plugins folder"}, {"file", p.file}, {"error", p.message}});
      }
      reported = std::move(now);
      if (auto s = (*registry)->flush(); !s) logError({{"msg", "saving download counts failed"}, {"error", s.error().message}});
      lock.lock();
    }
  });
  // Report problems found by the first sync right away.
  for (const auto& p : (*registry)->folderProblems()) logWarn({{"msg", "invalid package in plugins folder"}, {"file", p.file}, {"error", p.message}});

  int sig = 0;
  sigwait(&signals, &sig);
  logInfo({{"msg", "stopping"}, {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.stop();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  wake.notify_all();
  upkeep.join();
  if (auto s = (*registry)->flush(); !s) logError({{"msg", "saving download counts failed"}, {"error", s.error().message}});
  logInfo({{"msg", "stopped"}});
  return kExitOk;
}

}  // namespace

void addRegistryCommands(CLI::App& app, Outcome& outcome) {
  auto* registry = app.add_subcommand("registry", "Run and administer a plugin registry");
  registry->require_subcommand(1);
  auto serve = std::make_shared<ServeOptions>();
  auto* serveCmd = registry->add_subcommand("serve", "Serve plugins over HTTP (seed 000/001/003 endpoints)");
  serveCmd->add_option("--listen,-l", serve->listen, "ADDRESS:PORT to listen on (port 0: any free port)")->capture_default_str();
  serveCmd->add_option("--data,-d", serve->dataDir, "Data folder: registry.db and blobs/")->capture_default_str();
  serveCmd->add_option("--plugins-dir,-p", serve->pluginsDir, "Drop-in folder of {id}_v{version}.zip files")->capture_default_str();
  serveCmd->add_option("--threads", serve->threads, "Threads serving requests")->capture_default_str()->check(CLI::Range(1, 256));
  serveCmd->add_option("--port-file", serve->portFile, "Write the port listened on to this file");
  serveCmd->add_option("--max-upload-bytes", serve->maxUploadBytes, "Largest request body accepted (413 above)")->capture_default_str();
  serveCmd->callback([serve, &outcome] { outcome.exitCode = runServe(*serve); });
}

}  // namespace patchbay::cli
