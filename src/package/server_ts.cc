#include "package/server_ts.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "patchbay/files.h"
#include "patchbay/json.h"
#include "patchbay/process.h"

namespace patchbay {

namespace fs = std::filesystem;

Result<std::optional<CompiledServer>> compileServerTs(const std::string& dir, const std::vector<std::string>& files) {
  if (std::find(files.begin(), files.end(), "server.ts") == files.end()) return std::optional<CompiledServer>();
  if (std::find(files.begin(), files.end(), "server.js") != files.end()) {
    return Error::invalid(dir + ": has both server.ts and server.js; keep server.ts (pack compiles it into the package's server.js)");
  }
  std::error_code ec;
  auto scratch = ScratchDir::create(fs::temp_directory_path(ec).string(), "patchbay-pack-");
  if (!scratch) return scratch.error();
  const std::string out = scratch->path() + "/server.js", metafile = scratch->path() + "/meta.json";
  // Our own empty tsconfig: the folder's (written for editors and tsc) must
  // not change what the package holds.
  const std::string tsconfig = scratch->path() + "/tsconfig.json";
  if (auto s = writeFileAtomically(tsconfig, "{}\n"); !s) return s.error();
  auto ran = runProcess({"esbuild", "server.ts", "--bundle", "--format=esm", "--platform=neutral", "--target=es2022",
                         "--packages=external", "--sourcemap", "--sources-content=true", "--log-level=error", "--color=false",
                         "--tsconfig=" + tsconfig, "--metafile=" + metafile, "--outfile=" + out},
                        {.workDir = dir, .timeout = std::chrono::seconds(60)});
  if (!ran) {
    if (ran.error().kind == ErrorKind::kNotFound) {
      return Error::notFound("server.ts: compiling it needs esbuild, which is not installed (Debian: apt install esbuild)");
    }
    return ran.error();
  }
  if (ran->exitCode != 0) return Error::invalid("server.ts does not compile:\n" + toolMessage(ran->errorOutput));

  auto meta = readFileLimited(metafile, 64 << 20);
  if (!meta) return meta.error();
  auto parsed = parseJsonOrDiscarded<nlohmann::json>(*meta);
  if (!parsed.is_object() || !parsed["inputs"].is_object()) return Error::internal("server.ts: esbuild wrote no metafile");
  CompiledServer compiled;
  for (const auto& [file, input] : parsed["inputs"].items()) {
    for (const auto& imported : input.value("imports", nlohmann::json::array())) {
      if (imported.value("external", false)) {
        return Error::invalid(file + " imports \"" + imported.value("path", "") +
                              "\": server code may import only the plugin's own files, by relative path (a plugin's isolate loads no packages)");
      }
    }
    const std::string rel = fs::path(file).lexically_normal().generic_string();
    if (rel.starts_with("../") || fs::path(rel).is_absolute()) return Error::invalid("server.ts: esbuild read " + file + ", outside the plugin's folder");
    compiled.sources.push_back(rel);
  }
  auto js = readFileLimited(out, 64 << 20);
  if (!js) return js.error();
  auto map = readFileLimited(out + ".map", 64 << 20);
  if (!map) return map.error();
  compiled.js = std::move(*js);
  compiled.map = std::move(*map);
  return std::optional<CompiledServer>(std::move(compiled));
}

}  // namespace patchbay
