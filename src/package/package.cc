// Packing a plugin folder and opening a package.
#include "patchbay/package.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "package/plugin_modules.h"

namespace patchbay {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxManifestRead = 1 << 20;
constexpr uint64_t kMaxReadmeRead = 1 << 20;

std::string baseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string packageFileName(std::string_view id, const Version& version) {
  return std::string(id) + "_v" + version.toString() + ".zip";
}

std::optional<PackageName> parsePackageFileName(std::string_view fileName) {
  std::string name = baseName(fileName);
  if (!name.ends_with(".zip")) return std::nullopt;
  name.resize(name.size() - 4);
  // The id may itself contain "_v" (e.g. "my_video"): the version is what
  // follows the last "_v" that parses as a version.
  for (size_t at = name.rfind("_v"); at != std::string::npos && at > 0; at = name.rfind("_v", at - 1)) {
    auto v = Version::parse(name.substr(at + 2));
    std::string id = name.substr(0, at);
    if (v && isValidPluginId(id) && v->build.empty()) return PackageName{id, v.value()};
  }
  return std::nullopt;
}

Result<std::vector<std::string>> collectPackageFiles(const std::string& dir, std::string_view pluginId) {
  IgnoreRules rules = IgnoreRules::forFolder(dir, pluginId);
  std::vector<std::string> files;
  std::vector<std::string> errors;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  if (ec) return Error::io(dir + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Error::io(dir + ": " + ec.message());
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    auto status = it->symlink_status(ec);
    bool isDir = fs::is_directory(status);
    if (rules.ignored(rel, isDir)) {
      if (isDir) it.disable_recursion_pending();
      continue;
    }
    if (fs::is_symlink(status)) {
      errors.push_back(rel + ": is a symbolic link; packages hold only files and folders (copy the target in, or list it in .patchbayignore)");
    } else if (isDir) {
      continue;
    } else if (!fs::is_regular_file(status)) {
      errors.push_back(rel + ": is not a regular file");
    } else {
      files.push_back(rel);
    }
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    return Error::invalid(all);
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<PackResult> packFolder(const std::string& dir, const std::string& output, const ArchiveLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error::notFound(dir + ": no such folder");
  ManifestReport report = loadManifestFromFolder(dir, /*sourceFolder=*/true);
  if (!report.ok()) return Error::invalid(report.errorText().substr(0, report.errorText().size() - 1));
  PackResult result;
  result.manifest = *report.manifest;
  result.warnings = report.warnings;

  auto files = collectPackageFiles(dir, result.manifest.id);
  if (!files) return files.error();
  // server.ts and client.ts/.tsx/.jsx: compiled into server.js and
  // client.js (+ their maps); their sources stay out.
  auto compiled = compilePluginModules(dir, *files);
  if (!compiled) return compiled.error();
  for (const auto& module : *compiled) {
    std::erase_if(*files, [&](const std::string& f) { return std::find(module.sources.begin(), module.sources.end(), f) != module.sources.end(); });
  }
  if (files->size() > limits.maxEntries) {
    return Error::limit(dir + ": " + std::to_string(files->size()) + " files; a package may hold at most " + std::to_string(limits.maxEntries));
  }
  std::vector<ZipInput> inputs;
  uint64_t total = 0;
  for (const auto& rel : *files) {
    auto content = readFileLimited((fs::path(dir) / rel).string(), limits.maxEntryBytes);
    if (!content) return content.error();
    total += content->size();
    if (total > limits.maxTotalBytes) return Error::limit(dir + ": files add up to more than " + std::to_string(limits.maxTotalBytes) + " bytes");
    inputs.push_back({rel, std::move(content.value())});
  }
  for (auto& module : *compiled) {
    files->push_back(module.output);
    inputs.push_back({module.output, std::move(module.js)});
    inputs.push_back({module.output + ".map", std::move(module.map)});
  }
  bool hasCode = std::any_of(files->begin(), files->end(), [](const std::string& f) {
    return f == "server.js" || f == "client.js" || f.starts_with("backend/") || f.starts_with("frontend/") || f.starts_with("assets/");
  });
  if (!hasCode) {
    result.warnings.push_back({result.manifest.file, "", "the package has no server.js, client.js, assets/, backend/ or frontend/: it will do nothing"});
  }

  auto zip = writeDeterministicZip(std::move(inputs));
  if (!zip) return zip.error();
  // What we write, we must be able to read back under the same rules.
  auto listing = inspectZip(*zip, limits);
  if (!listing) return Error::internal("packed archive does not pass its own checks: " + listing.error().message);

  result.fileName = packageFileName(result.manifest.id, result.manifest.version);
  // An output ending in ".zip" is the file to write; anything else is the
  // folder to put {id}_v{version}.zip in (created when missing).
  fs::path out = output.empty() ? fs::current_path() : fs::path(output);
  if (!output.ends_with(".zip")) {
    fs::create_directories(out, ec);
    if (ec) return Error::io(out.string() + ": cannot create the output folder: " + ec.message());
    out /= result.fileName;
  }
  if (auto s = writeFileAtomically(out.string(), *zip); !s) return s.error();
  result.path = out.string();
  result.files = listing->entries;
  result.digest = digestBytes(*zip);
  return result;
}

Result<PackageInfo> openPackage(std::string_view zipBytes, std::string_view fileName, const ArchiveLimits& limits) {
  auto listing = inspectZip(zipBytes, limits);
  if (!listing) return listing.error();
  PackageInfo info;
  info.fileName = baseName(fileName);
  info.listing = std::move(listing.value());
  info.digest = digestBytes(zipBytes);

  std::string manifestName;
  for (const char* candidate : kManifestFileNames) {
    const ArchiveEntry* e = info.listing.find(candidate);
    if (e && !e->isDirectory) {
      if (!manifestName.empty()) return Error::invalid("package has both plugin.json and metadata.json at its top; keep one");
      manifestName = candidate;
    }
  }
  if (manifestName.empty()) {
    std::string hint;
    for (const auto& e : info.listing.entries) {
      for (const char* candidate : kManifestFileNames) {
        if (e.path.ends_with(std::string("/") + candidate)) hint = " (found \"" + e.path + "\": zip the folder's contents, not the folder itself)";
      }
    }
    return Error::invalid("package has no plugin.json or metadata.json at its top" + hint);
  }
  auto text = readZipEntry(zipBytes, manifestName, kMaxManifestRead, limits);
  if (!text) return text.error();
  auto named = parsePackageFileName(info.fileName);
  ManifestReport report = parseManifest(*text, {manifestName, named ? named->id : ""});
  if (!report.ok()) return Error::invalid(report.errorText().substr(0, report.errorText().size() - 1));
  info.manifest = std::move(*report.manifest);
  info.warnings = std::move(report.warnings);
  if (named && (named->id != info.manifest.id || compareVersions(named->version, info.manifest.version) != 0)) {
    return Error::invalid("file name \"" + info.fileName + "\" says " + named->id + " " + named->version.toString() + " but " +
                          manifestName + " says " + info.manifest.id + " " + info.manifest.version.toString());
  }
  if (const ArchiveEntry* readme = info.listing.find("README.md"); readme && !readme->isDirectory) {
    auto r = readZipEntry(zipBytes, "README.md", kMaxReadmeRead, limits);
    if (r) info.readme = std::move(r.value());
  }
  return info;
}

Result<PackageInfo> openPackageFile(const std::string& path, const ArchiveLimits& limits, std::string* bytesOut) {
  auto bytes = readFileLimited(path, limits.maxArchiveBytes);
  if (!bytes) return bytes.error();
  auto info = openPackage(*bytes, path, limits);
  if (!info) return info.error().in(path);
  if (bytesOut) *bytesOut = std::move(bytes.value());
  return info;
}

const char* signatureStateName(SignatureCheck::State state) {
  switch (state) {
    case SignatureCheck::State::kUnsigned: return "unsigned";
    case SignatureCheck::State::kUnverified: return "unverified";
    case SignatureCheck::State::kValid: return "valid";
    case SignatureCheck::State::kInvalid: return "invalid";
  }
  return "invalid";
}

SignatureCheck checkPackageSignature(const std::string& packagePath, std::string_view packageBytes, const PackageInfo& info,
                                     const std::optional<PublicKey>& publicKey) {
  std::string sigPath = packagePath + ".minisig";
  std::error_code ec;
  if (!fs::exists(sigPath, ec)) {
    SignatureCheck check;
    check.message = "no " + baseName(sigPath);
    return check;
  }
  auto text = readFileLimited(sigPath, 64 << 10);
  if (!text) {
    SignatureCheck check;
    check.state = SignatureCheck::State::kInvalid;
    check.message = baseName(sigPath) + ": " + text.error().message;
    return check;
  }
  SignatureCheck check = checkPackageSignatureText(*text, packageBytes, info.manifest, publicKey);
  if (check.state == SignatureCheck::State::kInvalid && check.message.starts_with("signature file")) check.message = baseName(sigPath) + ": " + check.message;
  return check;
}

SignatureCheck checkPackageSignatureText(std::string_view minisigText, std::string_view packageBytes, const Manifest& manifest,
                                         const std::optional<PublicKey>& publicKey) {
  SignatureCheck check;
  auto sig = SignatureFile::parse(minisigText);
  if (!sig) {
    check.state = SignatureCheck::State::kInvalid;
    check.message = sig.error().message;
    return check;
  }
  PublicKey signer;
  signer.keyId = sig->keyId;
  check.keyId = signer.keyIdHex();
  if (!publicKey) {
    check.state = SignatureCheck::State::kUnverified;
    check.message = "signed by key " + check.keyId + "; give --pubkey to verify";
    return check;
  }
  if (auto v = sig->verify(*publicKey, packageBytes); !v) {
    check.state = SignatureCheck::State::kInvalid;
    check.message = v.error().message;
    return check;
  }
  auto id = sig->trustedField("id"), version = sig->trustedField("version");
  if ((id && *id != manifest.id) || (version && *version != manifest.version.toString())) {
    check.state = SignatureCheck::State::kInvalid;
    check.message = "signature is valid but its trusted comment names " + id.value_or("?") + " " + version.value_or("?") +
                    ", not " + manifest.id + " " + manifest.version.toString();
    return check;
  }
  check.state = SignatureCheck::State::kValid;
  check.message = "valid signature by key " + check.keyId + " (trusted comment: " + sig->trustedComment + ")";
  return check;
}

Result<SignatureFile> signPackageFile(const std::string& packagePath, const SecretKey& key) {
  std::string bytes;
  auto info = openPackageFile(packagePath, {}, &bytes);
  if (!info) return info.error();
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto sig = SignatureFile::sign(key, bytes,
                                 packageTrustedComment(baseName(packagePath), info->manifest.id, info->manifest.version.toString(), now));
  if (auto s = writeFileAtomically(packagePath + ".minisig", sig.toFileText()); !s) return s.error();
  return sig;
}

}  // namespace patchbay
