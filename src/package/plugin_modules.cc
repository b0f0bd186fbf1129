#include "package/plugin_modules.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "patchbay/files.h"
#include "patchbay/json.h"
#include "patchbay/process.h"

namespace patchbay {

namespace fs = std::filesystem;

namespace {

enum class Side { kServer, kClient };

bool has(const std::vector<std::string>& files, std::string_view name) { return std::find(files.begin(), files.end(), name) != files.end(); }

// The module `source` becomes, compiled in `dir`.
Result<CompiledModule> compile(const std::string& dir, const std::string& source, Side side) {
  const std::string output = side == Side::kServer ? "server.js" : "client.js";
  std::error_code ec;
  auto scratch = ScratchDir::create(fs::temp_directory_path(ec).string(), "patchbay-pack-");
  if (!scratch) return scratch.error();
  const std::string out = scratch->path() + "/" + output, metafile = scratch->path() + "/meta.json";
  std::vector<std::string> args = {"esbuild", source, "--bundle", "--format=esm", "--sourcemap", "--sources-content=true", "--log-level=error",
                                   "--color=false", "--metafile=" + metafile, "--outfile=" + out};
  if (side == Side::kServer) {
    // Our own empty tsconfig: the folder's (written for editors and tsc)
    // must not change what the package holds.
    const std::string tsconfig = scratch->path() + "/tsconfig.json";
    if (auto s = writeFileAtomically(tsconfig, "{}\n"); !s) return s.error();
    for (const char* a : {"--platform=neutral", "--target=es2022", "--packages=external"}) args.emplace_back(a);
    args.push_back("--tsconfig=" + tsconfig);
  } else {
    // The browser's: the folder's tsconfig says how its JSX is written
    // (jsx, jsxImportSource); npm packages are bundled in from its
    // node_modules, or, without one, left as bare imports as seed 003's
    // registry bundles leave them (for a panel that provides them).
    for (const char* a : {"--platform=browser", "--target=es2020", "--minify"}) args.emplace_back(a);
    std::error_code exists;
    if (!fs::is_directory(fs::path(dir) / "node_modules", exists)) args.emplace_back("--packages=external");
  }
  auto ran = runProcess(args, {.workDir = dir, .timeout = std::chrono::seconds(60)});
  if (!ran) {
    if (ran.error().kind == ErrorKind::kNotFound) {
      return Error::notFound(source + ": compiling it needs esbuild, which is not installed (Debian: apt install esbuild)");
    }
    return ran.error();
  }
  if (ran->exitCode != 0) return Error::invalid(source + " does not compile:\n" + toolMessage(ran->errorOutput));

  auto meta = readFileLimited(metafile, 64 << 20);
  if (!meta) return meta.error();
  auto parsed = parseJsonOrDiscarded<nlohmann::json>(*meta);
  if (!parsed.is_object() || !parsed["inputs"].is_object()) return Error::internal(source + ": esbuild wrote no metafile");
  CompiledModule compiled;
  compiled.output = output;
  for (const auto& [file, input] : parsed["inputs"].items()) {
    for (const auto& imported : input.value("imports", nlohmann::json::array())) {
      if (imported.value("external", false) && side == Side::kServer) {
        return Error::invalid(file + " imports \"" + imported.value("path", "") +
                              "\": server code may import only the plugin's own files, by relative path (a plugin's isolate loads no packages)");
      }
    }
    const std::string rel = fs::path(file).lexically_normal().generic_string();
    const bool package = side == Side::kClient && (rel.starts_with("node_modules/") || rel.find("/node_modules/") != std::string::npos);
    if (package) continue;  // bundled in; never a package file
    if (rel.starts_with("../") || fs::path(rel).is_absolute()) return Error::invalid(source + ": esbuild read " + file + ", outside the plugin's folder");
    // A client's sources stay in the package: a registry builds seed 003's
    // bundle from the entry, and reviewers read them.
    if (side == Side::kServer) compiled.sources.push_back(rel);
  }
  auto js = readFileLimited(out, 64 << 20);
  if (!js) return js.error();
  auto map = readFileLimited(out + ".map", 64 << 20);
  if (!map) return map.error();
  compiled.js = std::move(*js);
  compiled.map = std::move(*map);
  return compiled;
}

}  // namespace

Result<std::vector<CompiledModule>> compilePluginModules(const std::string& dir, const std::vector<std::string>& files) {
  std::vector<CompiledModule> out;
  if (has(files, "server.ts")) {
    if (has(files, "server.js")) {
      return Error::invalid(dir + ": has both server.ts and server.js; keep server.ts (pack compiles it into the package's server.js)");
    }
    auto server = compile(dir, "server.ts", Side::kServer);
    if (!server) return server.error();
    out.push_back(std::move(*server));
  }
  std::vector<std::string> clients;
  for (const char* name : {"client.ts", "client.tsx", "client.jsx"}) {
    if (has(files, name)) clients.emplace_back(name);
  }
  if (clients.size() > 1) return Error::invalid(dir + ": has both " + clients[0] + " and " + clients[1] + "; a plugin has one client entry");
  if (!clients.empty()) {
    if (has(files, "client.js")) {
      return Error::invalid(dir + ": has both " + clients[0] + " and client.js; keep " + clients[0] + " (pack compiles it into the package's client.js)");
    }
    auto client = compile(dir, clients[0], Side::kClient);
    if (!client) return client.error();
    out.push_back(std::move(*client));
  }
  return out;
}

}  // namespace patchbay
