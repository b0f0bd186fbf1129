// `patchbay up`: the whole product from one command. The reference plugins
// built into the binary are packed into a registry's drop-in folder; the
// registry serves them; the panel runs beside it with its marketplace
// pointed at that registry. One process; Ctrl-C stops both.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "cli/host_serve.h"
#include "cli/log.h"
#include "cli/output.h"
#include "cli/server_support.h"
#include "patchbay/embedded_asset.h"
#include "patchbay/files.h"
#include "patchbay/package.h"
#include "patchbay/registry.h"

extern const patchbay::EmbeddedAsset kReferencePluginFiles[];  // <id>/<path> of examples/plugins/ (cmake/sources.cmake lists them)

namespace patchbay::cli {

namespace fs = std::filesystem;

namespace {

// The reference plugins' folders written out under `dir` (as built into
// this binary), each packed into `dropIn` unless that version is there.
// Returns "ai-chatbot 1.0.0, billing 1.0.0, ...".
Result<std::string> packReferencePlugins(const fs::path& dir, const fs::path& dropIn) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  std::set<std::string> ids;
  for (const EmbeddedAsset* a = kReferencePluginFiles; a->path; ++a) {
    const fs::path file = dir / a->path;
    fs::create_directories(file.parent_path(), ec);
    if (ec) return Error::io(file.parent_path().string() + ": " + ec.message());
    if (auto s = writeFileAtomically(file.string(), std::string(reinterpret_cast<const char*>(a->data), a->size)); !s) return s.error();
    ids.insert(std::string(a->path).substr(0, std::string(a->path).find('/')));
  }
  fs::create_directories(dropIn, ec);
  if (ec) return Error::io(dropIn.string() + ": " + ec.message());
  std::string held;
  for (const auto& id : ids) {
    ManifestReport m = loadManifestFromFolder((dir / id).string());
    if (!m.ok()) return Error::invalid("the reference plugin " + id + ": " + m.errorText());
    const fs::path zip = dropIn / packageFileName(m.manifest->id, m.manifest->version);
    if (!fs::exists(zip, ec)) {
      auto packed = packFolder((dir / id).string(), dropIn.string());
      if (!packed) return Error{packed.error().kind, "packing the reference plugin " + id + ": " + packed.error().message};
    }
    held += (held.empty() ? "" : ", ") + m.manifest->id + " " + m.manifest->version.toString();
  }
  return held;
}

}  // namespace

std::string firstAdministratorPassword(const std::string& dataDir) {
  auto password = readFileLimited(dataDir + "/admin-password", 4096);
  std::string pw = password ? *password : "";
  while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
  return pw;
}

int runUp(const UpOptions& o) {
  // Before any thread starts: the stop signals wait for sigwait in every thread.
  (void)blockStopSignals();
  setupLogging();
  const fs::path data = o.dataDir;
  auto held = packReferencePlugins(data / "reference-plugins", data / "registry-plugins");
  if (!held) return fail(held.error());

  auto registryListen = splitListen(o.registryListen);
  if (!registryListen) return fail(registryListen.error().in("--registry-listen"));
  const std::string dropIn = (data / "registry-plugins").string();
  auto registry = Registry::open({.dataDir = (data / "registry").string(), .pluginsDir = dropIn, .onFolderProgress = logFolderProgress(dropIn)});
  if (!registry) return fail(registry.error());
  if (auto synced = (*registry)->syncFolder(); !synced) return fail(synced.error());
  for (const auto& p : (*registry)->folderProblems()) logWarn({{"msg", "invalid package in the registry's drop-in folder"}, {"file", p.file}, {"error", p.message}});
  http::Router registryRouter;
  (*registry)->addRoutes(registryRouter);
  http::ServerOptions registryServerOptions = serverOptionsFor(*registryListen, 2);
  Registry& reg = **registry;
  registryServerOptions.onAccess = [&reg](const http::AccessRecord& r) {
    reg.observe(r);
    logRequest(r);
  };
  http::Server registryServer(registryServerOptions, registryRouter);
  if (auto s = startListening(registryServer, registryListen->first, "", {{"component", "registry"}, {"plugins", *held}}); !s) {
    return fail(s.error().in("the registry"));
  }
  const std::string registryUrl = "http://" + registryListen->first + ":" + std::to_string(registryServer.port());

  HostServeOptions panel;
  panel.listen = o.listen;
  panel.dataDir = (data / "panel").string();
  panel.portFile = o.portFile;
  panel.source = "remote";
  panel.registry = registryUrl;
  const std::string passwordFile = panel.dataDir + "/admin-password";
  panel.onListening = [&](const std::string& url) {
    const std::string pw = firstAdministratorPassword(panel.dataDir);
    std::cout << "\npatchbay is up.\n\n"
              << "  Panel      " << url << "/\n"
              << "             sign in as \"admin\" with the password " << (pw.empty() ? "" : "\"" + pw + "\" ") << "(kept in " << passwordFile << ")\n"
              << "  Registry   " << registryUrl << "/   holding " << *held << "\n\n"
              << "Administration > Marketplace installs plugins from the registry. Stop with Ctrl-C.\n"
              << std::endl;
  };
  int code = runHostServe(panel);
  registryServer.stop();
  return code;
}

}  // namespace patchbay::cli
