// Seed 003's bundles: a package's client entry built with esbuild at publish.
//
// esbuild reads whatever file an import names, and its error messages quote
// the file. A package must not make it read anything outside the package, so
// the build has two passes over an extracted copy:
//   1. scan: every source file as an entry, every import external. Nothing
//      but the package's own files is read; the metafile lists each import as
//      written. Relative imports must stay inside the package, absolute paths
//      and URL schemes (other than data:) are refused, bare names stay
//      external (the panel provides them, e.g. react).
//   2. build: the entry bundled, minified, with a source map, under our own
//      empty tsconfig; the package's package.json/tsconfig.json files are
//      removed first so no path mapping can point elsewhere. The metafile's
//      inputs are checked again.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "patchbay/archive.h"
#include "patchbay/files.h"
#include "patchbay/process.h"
#include "registry/registry_impl.h"

namespace patchbay {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEntryNames[] = {"client.ts", "client.tsx", "client.jsx", "client.js"};
constexpr const char* kSourceExtensions[] = {".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".css", ".json"};
constexpr const char* kResolverConfigFiles[] = {"package.json", "tsconfig.json", "jsconfig.json"};

bool hasSourceExtension(const std::string& path) {
  for (const char* ext : kSourceExtensions) {
    if (path.ends_with(ext)) return true;
  }
  return false;
}

// Whether `spec`, imported from `fromFile` (both relative to the package
// root), names a file inside the package. Lexical: the copy has no links.
bool staysInside(const std::string& fromFile, const std::string& spec) {
  fs::path joined = (fs::path(fromFile).parent_path() / spec).lexically_normal();
  std::string s = joined.generic_string();
  return !s.empty() && s != ".." && !s.starts_with("../") && !joined.is_absolute();
}

// Checks one import as esbuild's metafile wrote it; the error names both.
Status checkImport(const std::string& fromFile, const std::string& spec) {
  auto refuse = [&](const std::string& why) {
    return Error::invalid("client bundle: " + fromFile + " imports \"" + spec + "\": " + why);
  };
  if (spec.starts_with("/")) return refuse("absolute paths are not allowed; import files of the package by relative path");
  if (spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == "..") {
    if (!staysInside(fromFile, spec)) return refuse("the path leaves the package");
    return {};
  }
  if (auto colon = spec.find(':'); colon != std::string::npos && spec.find('/') > colon) {
    if (spec.starts_with("data:")) return {};
    return refuse("URL imports are not allowed in a bundle");
  }
  return {};  // a bare module name: left to the panel (external)
}

}  // namespace

Result<std::optional<ClientBundle>> buildClientBundle(std::string_view zipBytes, const ArchiveListing& listing,
                                                      const std::string& scratchParent) {
  std::string entry;
  for (const char* name : kEntryNames) {
    if (entry.empty() && listing.find(name) != nullptr) entry = name;
  }
  if (entry.empty()) return std::optional<ClientBundle>();

  // Absolute: esbuild runs in the package's folder, paths given to it must not depend on that.
  std::error_code absError;
  auto scratch = ScratchDir::create(fs::absolute(scratchParent, absError).string(), "bundle-");
  if (!scratch) return scratch.error();
  const std::string src = scratch->path() + "/src", out = scratch->path() + "/out";
  std::error_code ec;
  fs::create_directories(src, ec);
  fs::create_directories(out, ec);
  if (ec) return Error::io(scratch->path() + ": " + ec.message());
  if (auto extracted = extractZip(zipBytes, src); !extracted) return extracted.error();
  std::vector<std::string> sources;
  for (const auto& e : listing.entries) {
    if (e.isDirectory) continue;
    std::string base = fs::path(e.path).filename().string();
    bool resolverConfig = false;
    for (const char* name : kResolverConfigFiles) resolverConfig = resolverConfig || base == name;
    if (resolverConfig) {
      fs::remove(src + "/" + e.path, ec);
    } else if (hasSourceExtension(e.path)) {
      sources.push_back(e.path);
    }
  }
  const std::string tsconfig = out + "/tsconfig.json";
  if (auto s = writeFileAtomically(tsconfig, "{}\n"); !s) return s.error();
  ProcessOptions run{.workDir = src, .timeout = std::chrono::seconds(60), .maxOutputBytes = 1 << 20};

  // One esbuild run: its error message on failure, else the inputs it read
  // (from its metafile), every one of them checked to be inside the package.
  auto esbuild = [&](std::vector<std::string> args, const std::string& metafile) -> Result<nlohmann::json> {
    args.insert(args.begin() + 1, {"--log-level=error", "--color=false", "--tsconfig=" + tsconfig, "--metafile=" + metafile});
    auto ran = runProcess(args, run);
    if (!ran) return ran.error();
    if (ran->exitCode != 0) return Error::invalid("client bundle: esbuild failed:\n" + toolMessage(ran->errorOutput));
    auto meta = readFileLimited(metafile, 64 << 20);
    if (!meta) return meta.error();
    auto parsed = parseJsonOrDiscarded<nlohmann::json>(*meta);
    if (!parsed.is_object() || !parsed["inputs"].is_object()) return Error::internal("client bundle: esbuild wrote no metafile");
    for (const auto& [file, input] : parsed["inputs"].items()) {
      if (!staysInside(".", file)) return Error::invalid("client bundle: esbuild read " + file + ", outside the package");
    }
    return parsed["inputs"];
  };

  // Pass 1: list every import without reading anything it names.
  // Named by content hash too: client.tsx and a client.js made from it (as
  // patchbay pack ships them) would otherwise both write scan/client.js.
  std::vector<std::string> scan = {"esbuild", "--bundle", "--external:*", "--format=esm", "--entry-names=[dir]/[name]-[hash]", "--outdir=" + out + "/scan"};
  scan.insert(scan.end(), sources.begin(), sources.end());
  auto imports = esbuild(scan, out + "/scan.json");
  if (!imports) return imports.error();
  for (const auto& [file, input] : imports->items()) {
    for (const auto& imp : input.value("imports", nlohmann::json::array())) {
      if (auto s = checkImport(file, imp.value("path", "")); !s) return s.error();
    }
  }

  // Pass 2: the bundle itself.
  auto built = esbuild({"esbuild", entry, "--bundle", "--minify", "--sourcemap", "--format=esm", "--target=es2020",
                        "--packages=external", "--outfile=" + out + "/bundle.js"},
                       out + "/meta.json");
  if (!built) return built.error();
  ClientBundle bundle;
  bundle.entry = entry;
  auto js = readFileLimited(out + "/bundle.js", 64 << 20);
  if (!js) return js.error();
  auto map = readFileLimited(out + "/bundle.js.map", 64 << 20);
  if (!map) return map.error();
  bundle.js = std::move(*js);
  bundle.map = std::move(*map);
  return std::optional<ClientBundle>(std::move(bundle));
}

}  // namespace patchbay
