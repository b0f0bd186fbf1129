// `patchbay serve`: its options, and the function that runs it. Two
// definitions: host_serve.cc runs the host (it links V8, from libnode), and
// host_serve_exec.cc, in the `patchbay` binary, hands the command over to
// `patchbay-host` beside it, so that every other command starts without
// loading libnode (about 45 ms of each run).
#pragma once

#include <functional>
#include <string>

namespace patchbay {
class Host;
}

namespace patchbay::cli {

struct HostServeOptions {
  std::string listen = "127.0.0.1:3000";
  std::string dataDir = "data";
  std::string portFile;
  int threads = 4;
  int heapMb = 64;
  int callTimeoutMs = 2000;
  std::string source, modulesDir, registry;  // where the admin API installs from
  bool secureCookies = false;   // the panel is reached over HTTPS (a proxy in front)
  bool closedRegistration = false;
  // Told once the panel listens, with its URL (`patchbay up` prints it).
  std::function<void(const std::string& url)> onListening;
  // Runs beside the host once it is open (`patchbay dev`'s watcher); what
  // it returns is called before the host goes.
  std::function<std::function<void()>(Host& host)> alongside;
};

int runHostServe(const HostServeOptions& o);

// `patchbay up`: the whole product on its embedded defaults, in one
// process: a registry holding the reference plugins (built into the
// binary) and the panel, its marketplace installing from that registry.
struct UpOptions {
  std::string dataDir = "patchbay-data";  // panel/, registry/ and registry-plugins/ inside
  std::string listen = "127.0.0.1:3000";  // the panel
  std::string registryListen = "127.0.0.1:8080";
  std::string portFile;                   // the panel's port, once it listens
};

int runUp(const UpOptions& o);
// The first administrator's password a panel's data folder keeps ("" when none).
std::string firstAdministratorPassword(const std::string& dataDir);

// `patchbay dev [DIR]`: a panel with the plugin in DIR in it, started again
// on every change to its files (server.ts compiled on the fly); open
// panels make its frames again. Errors go to the terminal.
struct DevOptions {
  std::string pluginDir = ".";
  std::string dataDir = ".patchbay-dev";
  std::string listen = "127.0.0.1:3000";
  std::string portFile;
  int pollMs = 150;  // how often the plugin's files are looked at
};

int runDev(const DevOptions& o);

}  // namespace patchbay::cli
