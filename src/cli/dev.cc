// `patchbay dev [DIR]`: the plugin author's loop. A panel (its data in
// .patchbay-dev) runs with the plugin in DIR built into its plugins folder
// and active; the plugin's files are looked at every pollMs, and on a change
// it is built again (server.ts and client.ts/.tsx/.jsx compiled by esbuild)
// and reloaded: open
// panels make its frames again. What fails is said in the terminal; the
// last good version keeps running.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/host_serve.h"
#include "cli/log.h"
#include "cli/output.h"
#include "package/plugin_modules.h"
#include "patchbay/files.h"
#include "patchbay/host.h"
#include "patchbay/json.h"
#include "patchbay/manifest.h"

namespace patchbay::cli {

namespace fs = std::filesystem;

namespace {

// What a folder holds, to notice a change: relative path -> (size, time).
using Fingerprint = std::map<std::string, std::pair<uintmax_t, fs::file_time_type>>;

bool skipped(const fs::path& relative) {
  for (const auto& part : relative) {
    const std::string name = part.string();
    if (name == "node_modules" || name == ".git" || name == ".patchbay-dev" || (name.starts_with(".") && name != ".")) return true;
  }
  return false;
}

Fingerprint fingerprint(const fs::path& dir) {
  Fingerprint out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path relative = fs::relative(it->path(), dir, ec);
    if (skipped(relative)) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    out[relative.generic_string()] = {it->file_size(ec), it->last_write_time(ec)};
  }
  return out;
}

// Copies the plugin's files into `built` (the panel's plugins/<id>) and
// compiles its TypeScript and JSX there (plugin_modules.h).
Status build(const fs::path& source, const fs::path& built) {
  std::error_code ec;
  const fs::path staging = built.string() + ".building";
  fs::remove_all(staging, ec);
  std::vector<std::string> files;
  for (const auto& [relative, seen] : fingerprint(source)) {
    const fs::path to = staging / relative;
    fs::create_directories(to.parent_path(), ec);
    fs::copy_file(source / relative, to, fs::copy_options::overwrite_existing, ec);
    if (ec) return Error::io((source / relative).string() + ": cannot copy it: " + ec.message());
    files.push_back(relative);
  }
  auto compiled = compilePluginModules(source.string(), files);
  if (!compiled) return compiled.error();
  for (const auto& module : *compiled) {
    if (auto s = writeFileAtomically((staging / module.output).string(), module.js); !s) return s;
    if (auto s = writeFileAtomically((staging / (module.output + ".map")).string(), module.map); !s) return s;
  }
  fs::remove_all(built, ec);
  fs::rename(staging, built, ec);
  if (ec) return Error::io(built.string() + ": " + ec.message());
  return {};
}

// Adds `id` to config.json's active list (made when missing).
Status activateInConfig(const fs::path& dataDir, const std::string& id) {
  const fs::path config = dataDir / "config.json";
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  if (auto text = readFileLimited(config.string(), 1u << 20)) {
    doc = parseJsonOrDiscarded<nlohmann::ordered_json>(*text);
    if (!doc.is_object()) return Error::invalid(config.string() + ": not a JSON object");
  }
  auto& plugins = doc["plugins"];
  if (!plugins.is_object()) plugins = nlohmann::ordered_json::object();
  auto& active = plugins["active"];
  if (!active.is_array()) active = nlohmann::ordered_json::array();
  for (const auto& a : active) {
    if (a == id) return {};
  }
  active.push_back(id);
  return writeFileAtomically(config.string(), doc.dump(2) + "\n");
}

}  // namespace

int runDev(const DevOptions& o) {
  const fs::path source = fs::absolute(o.pluginDir).lexically_normal();
  ManifestReport manifest = loadManifestFromFolder(source.string(), true);
  if (!manifest.ok()) return fail(Error::invalid(source.string() + ": " + manifest.errorText()));
  const std::string id = manifest.manifest->id;
  const fs::path data = o.dataDir;
  const fs::path built = data / "plugins" / id;
  std::error_code ec;
  fs::create_directories(data / "plugins", ec);
  if (ec) return fail(Error::io((data / "plugins").string() + ": " + ec.message()));
  if (auto s = build(source, built); !s) return fail(s.error());
  if (auto s = activateInConfig(data, id); !s) return fail(s.error());

  HostServeOptions panel;
  panel.listen = o.listen;
  panel.dataDir = data.string();
  panel.portFile = o.portFile;
  panel.onListening = [&](const std::string& url) {
    const std::string pw = firstAdministratorPassword(data.string());
    std::cout << "\npatchbay dev: " << id << " from " << source.string() << "\n\n"
              << "  Panel   " << url << "/   sign in as \"admin\" with the password \"" << pw << "\"\n\n"
              << "Edits to its files reload it, and its frames in open panels. Stop with Ctrl-C.\n"
              << std::endl;
  };
  panel.alongside = [&](Host& host) -> std::function<void()> {
    struct Watcher {
      std::mutex mu;
      std::condition_variable wake;
      bool stopping = false;
      std::thread thread;
    };
    auto watcher = std::make_shared<Watcher>();
    watcher->thread = std::thread([watcher, &host, source, built, id, poll = std::chrono::milliseconds(o.pollMs)] {
      Fingerprint last = fingerprint(source);
      std::unique_lock lock(watcher->mu);
      while (!watcher->wake.wait_for(lock, poll, [&] { return watcher->stopping; })) {
        lock.unlock();
        Fingerprint now = fingerprint(source);
        if (now != last) {
          last = std::move(now);
          const auto started = std::chrono::steady_clock::now();
          Status s = host.reload(id, [&] { return build(source, built); });
          const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
          if (s) {
            logInfo({{"msg", "reloaded"}, {"plugin", id}, {"ms", ms}});
            std::cout << "reloaded " << id << " (" << ms << " ms)" << std::endl;
          } else {
            logError({{"msg", "reload failed; the last good version keeps running"}, {"plugin", id}, {"error", s.error().message}});
            std::cout << "error in " << id << ": " << s.error().message << "\n  (the last good version keeps running; fix it and save again)" << std::endl;
          }
        }
        lock.lock();
      }
    });
    return [watcher] {
      {
        std::lock_guard lock(watcher->mu);
        watcher->stopping = true;
      }
      watcher->wake.notify_all();
      watcher->thread.join();
    };
  };
  return runHostServe(panel);
}

}  // namespace patchbay::cli
