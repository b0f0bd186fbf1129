// Package sources: a local folder of {id}_v{version}.zip (seed 002's
// modules/) and a remote patchbay registry, checked against its signed
// metadata.
#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "patchbay/files.h"
#include "patchbay/http_client.h"
#include "patchbay/install.h"
#include "patchbay/integrity.h"
#include "patchbay/package.h"
#include "patchbay/registry.h"
#include "patchbay/signature.h"

namespace patchbay {

namespace fs = std::filesystem;

namespace {

struct NewestFirst {
  bool operator()(const Version& a, const Version& b) const { return b < a; }
};

constexpr uint64_t kMaxPackageBytes = 128ull << 20;

// The key id a .minisig names (hex), "" when it does not parse.
std::string signerKeyId(const std::string& minisig) {
  auto sig = SignatureFile::parse(minisig);
  if (!sig) return "";
  PublicKey signer;
  signer.keyId = sig->keyId;
  return signer.keyIdHex();
}

// --- local --------------------------------------------------------------------
class LocalSource : public PackageSource {
 public:
  explicit LocalSource(std::string dir) : dir_(std::move(dir)) {}
  std::string describe() const override { return "local folder " + dir_; }

  // id -> version -> file
  Result<std::map<std::string, std::map<Version, std::string, NewestFirst>>> scan() const {
    std::map<std::string, std::map<Version, std::string, NewestFirst>> out;
    std::error_code ec;
    if (!fs::is_directory(dir_, ec)) {
      return Error::notFound("the local plugin folder \"" + dir_ +
                             "\" does not exist: create it and put {id}_v{version}.zip packages in it, or install from a registry "
                             "instead (PLUGIN_SOURCE=remote and PLUGIN_SERVER_URL=<registry URL>)");
    }
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      auto name = parsePackageFileName(entry.path().filename().string());
      if (name && entry.is_regular_file(ec)) out[name->id][name->version] = entry.path().string();
    }
    if (ec) return Error::io(dir_ + ": " + ec.message());
    return out;
  }

  Result<std::vector<AvailablePlugin>> available() override {
    auto found = scan();
    if (!found) return found.error();
    std::vector<AvailablePlugin> out;
    for (const auto& [id, versions] : *found) {
      AvailablePlugin p;
      p.id = id;
      for (const auto& [v, file] : versions) p.versions.push_back(v);
      p.latest = p.versions.front();
      describeLatest(p, versions.begin()->second, nullptr);
      out.push_back(std::move(p));
    }
    return out;
  }

  Result<PluginDetails> details(const std::string& id) override {
    auto found = scan();
    if (!found) return found.error();
    auto it = found->find(id);
    if (it == found->end()) return Error::notFound("plugin \"" + id + "\" is not in " + dir_ + " (no " + id + "_v<version>.zip)");
    PluginDetails d;
    d.summary.id = id;
    for (const auto& [v, file] : it->second) d.summary.versions.push_back(v);
    d.summary.latest = d.summary.versions.front();
    describeLatest(d.summary, it->second.begin()->second, &d.readme);
    for (const auto& [version, file] : it->second) {
      VersionDetails v;
      v.version = version;
      std::error_code ec;
      v.size = fs::file_size(file, ec);
      if (ec) v.size = 0;
      if (auto info = openPackageFile(file)) {
        v.permissions = info->manifest.permissions;
        v.hostRange = info->manifest.hostRange;
      }
      if (auto sig = readFileLimited(file + ".minisig", 64u << 10)) {
        v.publisherSigned = true;
        v.signerKeyId = signerKeyId(*sig);
      }
      d.versions.push_back(std::move(v));
    }
    return d;
  }

  Result<FetchedPackage> fetch(const std::string& id, const Range& range, const ProgressFn& progress) override {
    auto found = scan();
    if (!found) return found.error();
    auto it = found->find(id);
    if (it == found->end()) return Error::notFound("plugin \"" + id + "\" is not in " + dir_ + " (no " + id + "_v<version>.zip)");
    for (const auto& [version, file] : it->second) {
      if (!range.satisfiedBy(version)) continue;
      auto bytes = readFileLimited(file, kMaxPackageBytes);
      if (!bytes) return bytes.error();
      if (progress) progress(bytes->size(), bytes->size());
      FetchedPackage p;
      if (auto sig = readFileLimited(file + ".minisig", 64u << 10)) p.minisig = std::move(*sig);
      p.fileName = fs::path(file).filename().string();
      p.version = version;
      p.origin = file;
      p.sha256 = sha256Hex(*bytes);
      p.bytes = std::move(*bytes);
      return p;
    }
    return Error::notFound("no version of \"" + id + "\" in " + dir_ + " satisfies " + (range.text().empty() ? std::string("*") : range.text()));
  }

 private:
  // The listing's fields from the newest package file (and its README).
  static void describeLatest(AvailablePlugin& p, const std::string& file, std::string* readme) {
    std::error_code ec;
    p.size = fs::file_size(file, ec);
    if (ec) p.size = 0;
    p.publisherSigned = fs::exists(file + ".minisig", ec);
    auto info = openPackageFile(file);
    if (!info) {
      p.description = "(unreadable package: " + info.error().message + ")";
      return;
    }
    p.name = info->manifest.name;
    p.description = info->manifest.description;
    p.author = info->manifest.author;
    p.category = info->manifest.category;
    if (readme && info->readme) *readme = *info->readme;
  }

  std::string dir_;
};

// --- remote -------------------------------------------------------------------
class RemoteSource : public PackageSource {
 public:
  RemoteSource(SourceConfig config, std::string stateDir) : config_(std::move(config)), stateDir_(std::move(stateDir)) {
    while (config_.serverUrl.ends_with('/')) config_.serverUrl.pop_back();
  }
  std::string describe() const override { return "registry " + config_.serverUrl; }

  Result<nlohmann::json> getJson(const std::string& path) const {
    http::ClientRequest req;
    req.url = config_.serverUrl + path;
    req.maxResponseBytes = 32u << 20;
    auto res = http::fetch(req);
    if (!res) return res.error();
    nlohmann::json body = parseJsonOrDiscarded<nlohmann::json>(res->body);
    if (res->status == 404) {
      std::string why = body.is_object() && body.contains("message") ? body["message"].get<std::string>() : "not found";
      return Error::notFound(config_.serverUrl + path + ": " + why);
    }
    if (res->status != 200 || body.is_discarded()) {
      return Error::io(config_.serverUrl + path + ": HTTP " + std::to_string(res->status) + (body.is_discarded() ? " (not JSON)" : ": " + body.dump()));
    }
    return body;
  }

  // The registry's metadata key: configured, pinned at first use, or fetched and pinned now.
  Result<PublicKey> registryKey() {
    if (!config_.registryKey.empty()) return PublicKey::parse(config_.registryKey);
    const std::string pins = stateDir_ + "/registry-keys.json";
    nlohmann::json pinned = nlohmann::json::object();
    if (auto text = readFileLimited(pins, 1u << 20)) pinned = parseJsonOrDiscarded<nlohmann::json>(*text);
    if (!pinned.is_object()) return Error::invalid(pins + ": not a JSON object of registry URL -> key");
    if (pinned.contains(config_.serverUrl)) return PublicKey::parse(pinned[config_.serverUrl].get<std::string>());
    auto served = getJson("/api/registry/key");
    if (!served) return Error{served.error().kind, "the registry's signing key: " + served.error().message};
    auto key = PublicKey::parse(served->value("public_key", ""));
    if (!key) return Error::signature(config_.serverUrl + "/api/registry/key: " + key.error().message);
    pinned[config_.serverUrl] = key->base64();
    std::error_code ec;
    fs::create_directories(stateDir_, ec);
    if (auto s = writeFileAtomically(pins, pinned.dump(2) + "\n"); !s) return s.error();
    return key;
  }

  // Whether the server is a patchbay registry (it serves its metadata key)
  // or a plain plugin server (seed 000's API); asked once.
  Result<bool> isPlainServer() {
    if (plain_) return *plain_;
    if (!config_.registryKey.empty()) return *(plain_ = false);
    http::ClientRequest req;
    req.url = config_.serverUrl + "/api/registry/key";
    req.maxResponseBytes = 64u << 10;
    auto res = http::fetch(req);
    if (!res) return res.error();
    if (res->status == 200) return *(plain_ = false);
    if (res->status != 404) return Error::io(req.url + ": HTTP " + std::to_string(res->status));
    return *(plain_ = true);
  }

  // A plain server's listing: seed 000's array of {id, name, version,
  // filename, size, download_url, description} (or {"plugins": [...]}).
  Result<nlohmann::json> plainListing() {
    auto listed = getJson("/api/plugins");
    if (!listed) return listed.error();
    nlohmann::json entries = listed->is_array() ? *listed : listed->value("plugins", nlohmann::json());
    if (!entries.is_array()) return Error::invalid(config_.serverUrl + "/api/plugins: not a list of plugins");
    return entries;
  }

  Result<std::vector<AvailablePlugin>> available() override {
    auto plain = isPlainServer();
    if (!plain) return plain.error();
    auto listed = *plain ? plainListing() : getJson("/manifest.json");
    if (!listed) return listed.error();
    std::map<std::string, AvailablePlugin> byId;
    for (const auto& p : listed->is_array() ? *listed : listed->value("plugins", nlohmann::json::array())) {
      if (!p.is_object()) continue;
      auto v = Version::parse(p.value("version", ""));
      if (!p.contains("id") || !v) continue;
      AvailablePlugin& a = byId[p["id"].get<std::string>()];
      a.id = p["id"].get<std::string>();
      a.name = p.value("name", a.id);
      a.versions.push_back(*v);
    }
    // The registry's listing says more of each plugin's latest version (a
    // plain server's listing is the one just read).
    nlohmann::json described = *listed;
    if (!*plain) {
      auto summaries = getJson("/api/plugins");
      if (!summaries) return summaries.error();
      described = *summaries;
    }
    for (const auto& p : described.is_array() ? described : described.value("plugins", nlohmann::json::array())) {
      if (!p.is_object() || !p.contains("id") || !p["id"].is_string()) continue;
      auto it = byId.find(p["id"].get<std::string>());
      if (it == byId.end()) continue;
      fillSummary(it->second, p);
    }
    std::vector<AvailablePlugin> out;
    for (auto& [id, a] : byId) {
      std::sort(a.versions.begin(), a.versions.end(), [](const Version& x, const Version& y) { return y < x; });
      a.latest = a.versions.front();
      out.push_back(std::move(a));
    }
    return out;
  }

  Result<PluginDetails> details(const std::string& id) override {
    auto plain = isPlainServer();
    if (!plain) return plain.error();
    PluginDetails d;
    d.summary.id = id;
    if (*plain) {
      // Seed 000's listing: versions and sizes; no README, manifests or signatures to show.
      auto listed = plainListing();
      if (!listed) return listed.error();
      for (const auto& entry : *listed) {
        if (!entry.is_object() || entry.value("id", "") != id) continue;
        auto v = Version::parse(entry.value("version", ""));
        if (!v) continue;
        VersionDetails version;
        version.version = *v;
        version.size = numberOr(entry, "size");
        d.versions.push_back(std::move(version));
        if (d.summary.versions.empty() || d.summary.latest < *v) {
          d.summary.latest = *v;
          fillSummary(d.summary, entry);
        }
        d.summary.versions.push_back(*v);
      }
      if (d.versions.empty()) return Error::notFound(config_.serverUrl + "/api/plugins lists no plugin \"" + id + "\"");
      std::sort(d.versions.begin(), d.versions.end(), [](const VersionDetails& x, const VersionDetails& y) { return y.version < x.version; });
      std::sort(d.summary.versions.begin(), d.summary.versions.end(), [](const Version& x, const Version& y) { return y < x; });
      return d;
    }
    auto page = getJson("/api/plugins/" + http::percentEncoded(id));
    if (!page) return page.error();
    fillSummary(d.summary, *page);
    d.readme = page->value("readme", "");
    auto key = registryKey();
    for (const auto& entry : page->value("versions", nlohmann::json::array())) {
      if (!entry.is_object()) continue;
      auto v = Version::parse(entry.value("version", ""));
      if (!v || entry.value("yanked", false) || entry.value("status", "") != "approved") continue;
      VersionDetails version;
      version.version = *v;
      version.size = numberOr(entry, "size");
      version.hostRange = entry.value("host_range", "");
      version.publishedAt = entry.value("updated_at", "");
      if (auto perms = entry.find("permissions"); perms != entry.end() && perms->is_array()) {
        std::vector<std::string> list;
        for (const auto& p : *perms) {
          if (p.is_string()) list.push_back(p.get<std::string>());
        }
        version.permissions = std::move(list);
      }
      const nlohmann::json signature = entry.value("signature", nlohmann::json::object());
      version.publisherSigned = signature.is_object() && signature.value("signed", false);
      version.signerKeyId = signature.is_object() ? signature.value("key_id", "") : "";
      version.registryVerified = key && verifyMetadataSignature(*key, canonicalMetadata(id, v->toString(), entry.value("sha256", ""), entry.value("integrity", ""), "approved"),
                                                                 entry.value("registry_signature", ""));
      d.summary.versions.push_back(*v);
      d.versions.push_back(std::move(version));
    }
    if (d.versions.empty()) return Error::notFound(describe() + " has no installable version of " + id);
    d.summary.latest = d.versions.front().version;
    return d;
  }

  static uint64_t numberOr(const nlohmann::json& entry, const char* name) {
    auto it = entry.find(name);
    return it != entry.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  }

  // A listing entry's description of its plugin's latest version.
  static void fillSummary(AvailablePlugin& a, const nlohmann::json& entry) {
    auto text = [&](const char* name) {
      auto it = entry.find(name);
      return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (std::string name = text("name"); !name.empty()) a.name = name;
    a.description = text("description");
    a.author = text("author");
    a.category = text("category");
    a.updatedAt = text("updated_at");
    a.size = numberOr(entry, "size");
    a.downloads = numberOr(entry, "downloads");
    a.publisherSigned = entry.value("signed", false);
  }

  Result<FetchedPackage> fetch(const std::string& id, const Range& range, const ProgressFn& progress) override {
    auto plain = isPlainServer();
    if (!plain) return plain.error();
    if (*plain) return fetchFromPlainServer(id, range, progress);
    auto record = getJson("/api/plugins/" + id + "/resolve?range=" + http::percentEncoded(range.text().empty() ? std::string("*") : range.text()));
    if (!record) return record.error();
    const std::string version = record->value("version", ""), sha256 = record->value("sha256", "");
    const std::string integrity = record->value("integrity", ""), signature = record->value("registry_signature", "");
    const std::string status = record->value("yanked", false) ? "yanked" : record->value("status", "");
    auto parsedVersion = Version::parse(version);
    if (!parsedVersion || sha256.size() != 64) return Error::invalid(describe() + ": the metadata of " + id + " lacks a version or sha256");
    auto key = registryKey();
    if (!key) return key.error();
    if (signature.empty() || !verifyMetadataSignature(*key, canonicalMetadata(id, version, sha256, integrity, status), signature)) {
      return Error::signature(id + " " + version + ": the registry's signature over its metadata does not verify with key " + key->keyIdHex() +
                              " (tampered metadata, or the registry's key changed: the pinned key is in " + stateDir_ + "/registry-keys.json)");
    }
    if (status != "approved") return Error::denied(id + " " + version + " is " + status + " on " + config_.serverUrl + ", not approved");

    const std::string url = config_.serverUrl + "/download/" + id + "/" + version;
    auto res = download(url, progress);
    if (!res) return res.error();
    FetchedPackage p;
    p.sha256 = sha256Hex(res->body);
    if (p.sha256 != sha256) {
      return Error::integrity(url + ": the download's sha256 is " + p.sha256 + ", the registry signed " + sha256 + " (corrupted or tampered in transit)");
    }
    p.bytes = std::move(res->body);
    p.version = *parsedVersion;
    p.fileName = packageFileName(id, p.version);
    p.origin = url;
    p.registryVerified = true;
    if (record->contains("signature") && (*record)["signature"].value("signed", false)) {
      http::ClientRequest sigReq;
      sigReq.url = config_.serverUrl + "/api/plugins/" + id + "/" + version + "/signature";
      sigReq.maxResponseBytes = 64u << 10;
      auto sig = http::fetch(sigReq);
      if (!sig) return sig.error();
      if (sig->status != 200) return Error::io(sigReq.url + ": HTTP " + std::to_string(sig->status));
      p.minisig = std::move(sig->body);
    }
    return p;
  }

  // A package's bytes (HTTP 200 only), with the download key if there is one.
  Result<http::ClientResponse> download(const std::string& url, const ProgressFn& progress) const {
    http::ClientRequest req;
    req.url = url;
    if (!config_.downloadKey.empty()) req.headers.emplace_back("X-API-Key", config_.downloadKey);
    req.maxResponseBytes = kMaxPackageBytes;
    req.timeout = std::chrono::minutes(10);
    req.onProgress = progress;
    auto res = http::fetch(req);
    if (!res) return res.error();
    if (res->status != 200) return Error::io(url + ": HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300));
    return res;
  }

  // Seed 000's server: the version chosen from its listing, the download
  // checked against the listed size; no registry signature exists, so only
  // with the user's explicit allowance.
  Result<FetchedPackage> fetchFromPlainServer(const std::string& id, const Range& range, const ProgressFn& progress) {
    auto listed = plainListing();
    if (!listed) return listed.error();
    const nlohmann::json* best = nullptr;
    std::optional<Version> bestVersion;
    for (const auto& entry : *listed) {
      if (!entry.is_object() || entry.value("id", "") != id) continue;
      auto v = Version::parse(entry.value("version", ""));
      if (!v || !range.satisfiedBy(*v) || (bestVersion && !(*bestVersion < *v))) continue;
      best = &entry;
      bestVersion = *v;
    }
    if (!best) {
      return Error::notFound(config_.serverUrl + "/api/plugins lists no version of " + id +
                             (range.text().empty() ? "" : " matching " + range.text()));
    }
    const std::string what = id + " " + bestVersion->toString();
    if (!config_.allowUnsignedMetadata) {
      return Error::signature(config_.serverUrl + " is a plain plugin server (only /api/plugins and /download/...): it signs no metadata, so " +
                              what + " cannot be checked against a registry's signature. Install from it anyway with "
                              "--allow-unsigned-metadata (its size is checked, and a .minisig beside it if your signature policy asks for one)");
    }
    std::string path = best->value("download_url", "/download/" + id + "/" + bestVersion->toString());
    const std::string url = path.starts_with("http://") || path.starts_with("https://") ? path : config_.serverUrl + (path.starts_with("/") ? "" : "/") + path;
    auto res = download(url, progress);
    if (!res) return res.error();
    if (auto size = best->find("size"); size != best->end() && size->is_number_unsigned() && size->get<uint64_t>() != res->body.size()) {
      return Error::integrity(url + ": the download is " + std::to_string(res->body.size()) + " bytes, the listing says " +
                              std::to_string(size->get<uint64_t>()) + " (truncated or replaced)");
    }
    FetchedPackage p;
    p.sha256 = sha256Hex(res->body);
    p.bytes = std::move(res->body);
    p.version = *bestVersion;
    p.fileName = packageFileName(id, p.version);
    p.origin = url;
    p.registryVerified = false;
    // A .minisig beside the download, if the server has one (checked by
    // the signature policy like any other).
    http::ClientRequest sigReq;
    sigReq.url = url + ".minisig";
    sigReq.maxResponseBytes = 64u << 10;
    if (auto sig = http::fetch(sigReq); sig && sig->status == 200) p.minisig = std::move(sig->body);
    return p;
  }


 private:
  SourceConfig config_;
  std::string stateDir_;
  std::optional<bool> plain_;  // isPlainServer's answer, once known
};

}  // namespace

int installErrorStatus(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kConflict: return 409;
    case ErrorKind::kInvalidInput: return 400;
    case ErrorKind::kUnsupported: return 422;
    case ErrorKind::kPermissionDenied: return 403;
    case ErrorKind::kSignature:
    case ErrorKind::kIntegrity: return 502;
    default: return 500;
  }
}

Status checkSignaturePolicy(const SignaturePolicy& policy, const FetchedPackage& package, const Manifest& manifest) {
  const std::string what = manifest.id + " " + manifest.version.toString();
  if (package.minisig.empty()) {
    if (policy.require) return Error::signature(what + " is not signed, and the signature policy requires signed packages (" + package.origin + ")");
    return {};
  }
  if (policy.trustedKeys.empty()) {
    if (policy.require) return Error::signature(what + ": signatures are required but no trusted key is configured (--trusted-key)");
    return {};
  }
  auto sig = SignatureFile::parse(package.minisig);
  if (!sig) return Error::signature(what + ": its .minisig: " + sig.error().message);
  for (const auto& text : policy.trustedKeys) {
    auto key = PublicKey::parse(text);
    if (!key) return Error::invalid("a trusted key: " + key.error().message);
    if (key->keyId != sig->keyId) continue;
    SignatureCheck check = checkPackageSignatureText(package.minisig, package.bytes, manifest, *key);
    if (check.state == SignatureCheck::State::kValid) return {};
    return Error::signature(what + ": " + check.message);
  }
  PublicKey signer;
  signer.keyId = sig->keyId;
  return Error::signature(what + " is signed by key " + signer.keyIdHex() + ", which is not among the trusted keys");
}

std::string registryUrlFromEnvironment(const std::function<const char*(const char*)>& getEnv) {
  for (const char* name : {"PATCHBAY_REGISTRY", "PLUGIN_SERVER_URL"}) {
    if (const char* url = getEnv(name); url && *url) return url;
  }
  return "";
}

Result<SourceConfig> applySourceEnvironment(SourceConfig base, const std::function<const char*(const char*)>& getEnv) {
  if (const char* source = getEnv("PLUGIN_SOURCE"); source && *source) {
    std::string s = source;
    if (s == "local") {
      base.kind = SourceConfig::Kind::kLocal;
    } else if (s == "remote") {
      base.kind = SourceConfig::Kind::kRemote;
    } else {
      return Error::invalid("PLUGIN_SOURCE=" + s + ": must be local or remote");
    }
  }
  if (std::string url = registryUrlFromEnvironment(getEnv); !url.empty()) base.serverUrl = url;
  if (const char* dir = getEnv("PLUGIN_MODULES_DIR"); dir && *dir) base.localDir = dir;
  return base;
}

Result<std::unique_ptr<PackageSource>> openSource(const SourceConfig& config, const std::string& stateDir) {
  if (config.kind == SourceConfig::Kind::kLocal) return std::unique_ptr<PackageSource>(new LocalSource(config.localDir));
  if (config.serverUrl.empty()) return Error::invalid("a remote plugin source needs a registry URL: --registry URL, or PATCHBAY_REGISTRY (PLUGIN_SERVER_URL works too)");
  if (!config.serverUrl.starts_with("http://") && !config.serverUrl.starts_with("https://")) {
    return Error::invalid("registry URL " + config.serverUrl + ": must be an http:// or https:// URL");
  }
  return std::unique_ptr<PackageSource>(new RemoteSource(config, stateDir));
}

Result<Range> parseRequestedRange(const std::string& text) {
  if (text.empty() || text == "latest") return Range::parse("*");
  return Range::parse(text);
}

}  // namespace patchbay
