// The registry's HTTP endpoints. Shapes follow the seeds exactly (seed 000's
// /api/plugins array, seed 001's /manifest.json) with extra fields added.
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <variant>

#include "patchbay/json.h"
#include "patchbay/integrity.h"
#include "patchbay/manifest.h"
#include "patchbay/markdown.h"
#include "registry/service_util.h"

namespace patchbay {

namespace service {

constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kShortLived = "public, max-age=60";
constexpr size_t kMaxPerPage = 1000;

std::string downloadUrl(const PackageRecord& r) { return "/download/" + r.id + "/" + r.version.toString(); }

json summaryJson(const PackageRecord& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"version", r.version.toString()},
          {"filename", r.fileName},
          {"size", r.size},
          {"download_url", downloadUrl(r)},
          {"description", r.description},
          {"integrity", r.integrity},
          {"sha256", r.sha256},
          {"category", r.category},
          {"author", r.author},
          {"downloads", r.downloads},
          {"updated_at", r.createdAt},
          {"signed", !r.signature.empty()}};
}

// The same object as summaryJson, written straight into `out`: the hot path
// of /api/plugins, where building JSON objects costs more than the rest.
void appendSummary(std::string& out, const PackageRecord& r, uint64_t downloads) {
  auto field = [&](std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    http::appendJsonQuoted(out, value);
  };
  auto number = [&](std::string_view name, uint64_t value) {
    out += ",\"";
    out += name;
    out += "\":";
    out += std::to_string(value);
  };
  const std::string version = r.version.toString();
  out += "{\"id\":";
  http::appendJsonQuoted(out, r.id);
  field("name", r.name);
  field("version", version);
  field("filename", r.fileName);
  number("size", r.size);
  out += ",\"download_url\":\"/download/";
  out += r.id;  // ids and versions need no escaping
  out += '/';
  out += version;
  out += '"';
  field("description", r.description);
  field("integrity", r.integrity);
  field("sha256", r.sha256);
  field("category", r.category);
  field("author", r.author);
  number("downloads", downloads);
  field("updated_at", r.createdAt);
  out += r.signature.empty() ? ",\"signed\":false}" : ",\"signed\":true}";
}

json versionJson(const Registry& reg, const PackageRecord& r) {
  json j = summaryJson(r);
  j["status"] = r.status;
  j["yanked"] = r.yanked;
  if (r.yanked) j["yank_reason"] = r.yankReason;
  if (!r.reviewedBy.empty()) j["review"] = {{"by", r.reviewedBy}, {"at", r.reviewedAt}, {"reason", r.reviewReason}};
  j["host_range"] = r.hostRange;
  j["source"] = r.source;
  j["owner"] = r.owner;
  json signature = {{"signed", !r.signature.empty()}};
  if (!r.signature.empty()) {
    if (auto sig = SignatureFile::parse(r.signature)) {
      PublicKey signer;
      signer.keyId = sig->keyId;
      signature["key_id"] = signer.keyIdHex();
      signature["trusted_comment"] = sig->trustedComment;
    }
  }
  j["signature"] = signature;
  // What the version's manifest asks for, so that an installer can show it
  // before downloading (and ask again when an upgrade asks for more).
  json permissions = json::array();
  if (json manifest = parseJsonOrDiscarded<json>(r.manifestJson); manifest.is_object() && manifest.contains("permissions") && manifest["permissions"].is_array()) {
    for (const auto& p : manifest["permissions"]) {
      if (p.is_string()) permissions.push_back(p);
    }
  }
  j["permissions"] = permissions;
  if (!r.bundleSha256.empty()) {
    j["bundle_url"] = "/plugins/bundles/" + r.id + "/v" + r.version.toString() + "/bundle.js";
  }
  j["registry_signature"] = reg.signMetadata(r);
  return j;
}

std::variant<std::optional<TokenInfo>, Response> callerToken(Registry& reg, const Request& req) {
  std::string auth = req.header("Authorization");
  if (auth.empty()) return std::optional<TokenInfo>();
  if (!auth.starts_with("Bearer ")) {
    return errorResponse(Error::unauthenticated("the Authorization header must be \"Bearer <token>\""));
  }
  auto token = reg.authenticate(std::string_view(auth).substr(7));
  if (!token) return errorResponse(token.error());
  return std::optional<TokenInfo>(std::move(*token));
}

std::optional<Response> refuseUnless(Registry& reg, const Request& req, std::string_view scope, std::string_view action,
                                     const char* route, TokenInfo* who) {
  auto caller = callerToken(reg, req);
  if (auto* refused = std::get_if<Response>(&caller)) return withRoute(std::move(*refused), route);
  auto& token = std::get<std::optional<TokenInfo>>(caller);
  if (!token) {
    return withRoute(errorResponse(Error::unauthenticated(std::string(action) + " needs an API token with the " + std::string(scope) +
                                                          " scope: Authorization: Bearer <token>")),
                     route);
  }
  if (!token->hasScope(scope)) {
    return withRoute(errorResponse(Error::denied("the token \"" + token->name + "\" may not " + std::string(action) + " (scope \"" +
                                                 std::string(scope) + "\" needed)")),
                     route);
  }
  if (who) *who = std::move(*token);
  return std::nullopt;
}

std::variant<nlohmann::json, Response> jsonBody(const Request& req) {
  auto body = parseJsonOrDiscarded<nlohmann::json>(req.body);
  if (body.is_discarded() || !body.is_object()) {
    return Response::error(400, "invalid_json", "the request body must be a JSON object");
  }
  return body;
}

// The HTTP status for an error, by who caused it.
Response errorResponse(const Error& e) {
  int status = 500;
  switch (e.kind) {
    case ErrorKind::kInvalidInput:
    case ErrorKind::kIntegrity:
    case ErrorKind::kSignature:
    case ErrorKind::kUnsupported: status = 400; break;
    case ErrorKind::kNotFound: status = 404; break;
    case ErrorKind::kLimitExceeded: status = 413; break;
    case ErrorKind::kConflict: status = 409; break;
    case ErrorKind::kUnauthenticated: status = 401; break;
    case ErrorKind::kPermissionDenied: status = 403; break;
    case ErrorKind::kIo:
    case ErrorKind::kInternal: status = 500; break;
    case ErrorKind::kUnavailable: status = 503; break;
  }
  Response r = Response::error(status, errorKindName(e.kind), e.message);
  if (status == 401) r.set("WWW-Authenticate", "Bearer");
  if (status == 503) r.set("Retry-After", "1");
  return r;
}

Response withRoute(Response r, const char* route) {
  r.set("X-Route", route);
  return r;
}

std::optional<Response> badId(const std::string& id) {
  if (isValidPluginId(id)) return std::nullopt;
  return Response::error(400, "invalid_id", "\"" + id + "\" is not a plugin id (lowercase letters, digits, - and _)");
}

namespace {

// Whether the caller may see versions that are not listed (pending,
// rejected, yanked): a token with the review scope. A bad token is a 401.
std::variant<bool, Response> seesUnlisted(Registry& reg, const Request& req) {
  auto caller = callerToken(reg, req);
  if (auto* refused = std::get_if<Response>(&caller)) return std::move(*refused);
  auto& token = std::get<std::optional<TokenInfo>>(caller);
  return token && token->hasScope("review");
}

// The version named by the request's {id} and {version} ("latest" or
// exact), or the error response: 400 for a malformed id or version, 404 when
// there is no such version the caller may see (listed ones; all of them for
// reviewers).
std::variant<PackageRecord, Response> lookupVersion(Registry& reg, Request& req) {
  const std::string& id = req.params["id"];
  if (auto bad = badId(id)) return *bad;
  auto unlisted = seesUnlisted(reg, req);
  if (auto* refused = std::get_if<Response>(&unlisted)) return std::move(*refused);
  std::optional<PackageRecord> r;
  if (req.params["version"] == "latest") {
    r = reg.latest(id);
  } else {
    auto v = Version::parse(req.params["version"]);
    if (!v) return Response::error(400, "invalid_version", v.error().message);
    r = reg.find(id, *v);
    if (r && !r->listed() && !std::get<bool>(unlisted)) r.reset();
  }
  if (!r) return Response::error(404, "not_found", "no version " + req.params["version"] + " of \"" + id + "\"");
  return std::move(*r);
}

// `tag` is the ETag's value without its quotes.
Response etagged(const Request& req, Response res, std::string_view tag) {
  std::string etag;
  etag.reserve(tag.size() + 2);
  etag += '"';
  etag += tag;
  etag += '"';
  res.set("ETag", etag);
  std::string inm = req.header("If-None-Match");
  if (!inm.empty() && (inm == "*" || inm.find(etag) != std::string::npos)) {
    Response notModified;
    notModified.status = 304;
    notModified.set("ETag", etag);
    notModified.set("Cache-Control", res.header("Cache-Control"));
    return notModified;
  }
  return res;
}

// Lets an HTTP cache in front (deploy/nginx/) keep a metadata answer fresh
// only until the current second of the wall clock ends: `X-Accel-Expires:
// @<unix second>`, which nginx takes over its `proxy_cache_valid`. nginx
// counts lifetimes in whole seconds, so "1s" there keeps an answer fresh for
// 1 to 2 s (by where in its second it was stored), and a publish could stay
// hidden for more than 2 s; this keeps it under 1 s, then nginx revalidates
// with the ETag. Answers nginx caches (200, 304, 404) that may change; an
// immutable one (an exact version's package, a bundle) keeps its lifetime.
// Assumes the registry's and nginx's clocks agree (NTP): one ahead by d
// seconds keeps answers fresh d seconds longer.
Response freshUntilTheSecondEnds(Response res) {
  if (res.status != 200 && res.status != 304 && res.status != 404) return res;
  if (res.header("Cache-Control").find("immutable") != std::string::npos) return res;
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  res.set("X-Accel-Expires", "@" + std::to_string(second.count()));
  return res;
}

// The request's API key when the registry wants one for downloads.
bool downloadKeyAccepted(const RegistryOptions& options, const Request& req) {
  if (options.downloadKey.empty()) return true;
  std::string key = req.header("X-API-Key");
  if (key.empty()) key = req.queryOr("api_key");
  return key.size() == options.downloadKey.size() &&
         sodium_memcmp(key.data(), options.downloadKey.data(), key.size()) == 0;
}

std::string baseUrl(const Request& req) {
  std::string host = req.header("Host");
  return "http://" + (host.empty() ? std::string("127.0.0.1") : host);
}

// Serves one bundle file (.js or .map) by content, compressed as the client
// accepts: precompressed gzip and brotli blobs were stored at publish.
Response bundleFile(BlobStore& blobs, const Request& req, const std::string& sha256, const std::string& ext,
                    const char* contentType) {
  const std::string key = blobKey(sha256, ext);
  Response res;
  res.set("Content-Type", contentType);
  res.set("Cache-Control", "public, max-age=31536000, immutable");
  res.set("Access-Control-Allow-Origin", "*");
  res.set("Vary", "Accept-Encoding");
  res.set("X-Content-Type-Options", "nosniff");
  // The best encoding the client takes (each was stored at publish), then
  // the plain file; a remote store's bytes are read here, a folder's sent
  // from the file.
  std::string served, encoding, bytes;
  for (const char* candidate : {"br", "gzip", ""}) {
    if (*candidate && !http::acceptsEncoding(req, candidate)) continue;
    const std::string k = key + (*candidate == 0 ? "" : std::string_view(candidate) == "br" ? ".br" : ".gz");
    if (const std::string file = blobs.localFile(k); !file.empty()) {
      if (::access(file.c_str(), R_OK) != 0) continue;
      served = file;
    } else {
      auto got = blobs.get(k);
      if (!got) {
        if (got.error().kind == ErrorKind::kNotFound) continue;
        return Response::error(503, "unavailable", "the blob store: " + got.error().message).set("Retry-After", "1");
      }
      bytes = std::move(*got);
      served = k;
    }
    encoding = candidate;
    break;
  }
  if (served.empty()) return Response::error(500, "internal", "the bundle's file is missing from the store");
  if (!encoding.empty()) res.set("Content-Encoding", encoding);
  std::string tag = sha256;
  if (const std::string encoding = res.header("Content-Encoding"); !encoding.empty()) {
    tag += '-';
    tag += encoding;
  }
  res = etagged(req, res, tag);
  if (res.status == 304) return res;
  if (blobs.localFile(key).empty()) {
    res.body = std::move(bytes);
    return res;
  }
  std::error_code ec;
  auto size = std::filesystem::file_size(served, ec);
  if (ec) return Response::error(500, "internal", "the bundle's file is missing from the store");
  res.file = http::FileBody{served, 0, size};
  return res;
}

}  // namespace
}  // namespace service

using namespace service;

void Registry::addRoutes(http::Router& router) {
  Registry& reg = *this;
  // Metadata and downloads: the cache in front keeps them until the second
  // ends (freshUntilTheSecondEnds); it never caches what carries credentials.
  auto microCached = [](std::function<Response(Request&)> handler) {
    return [handler = std::move(handler)](Request& req) { return freshUntilTheSecondEnds(handler(req)); };
  };
  // A route that reads a remote blob store: run on the blob readers, not the IO thread.
  auto readingBlobs = [&reg, &microCached](std::function<Response(Request&)> read) {
    return [&reg, handler = microCached(std::move(read))](Request& req, http::Responder done) {
      if (!reg.impl_->blobReaders) return done.send(handler(req));
      if (!reg.impl_->blobReaders->post([handler, done, copy = req]() mutable { done.send(handler(copy)); })) {
        Response busy = Response::error(503, "unavailable", "the registry is busy reading from its blob store; try again in a moment");
        busy.set("Retry-After", "1");
        done.send(std::move(busy));
      }
    };
  };

  router.add("GET", "/healthz", microCached([](Request&) { return withRoute(Response::json(200, R"({"status":"ok"})"), "/healthz"); }));

  router.add("GET", "/api/plugins", microCached([&reg](Request& req) {
    Impl& m = *reg.impl_;
    auto snapshot = m.current();
    auto respond = [](std::string body, size_t total) {
      Response res = Response::json(200, std::move(body));
      res.set("X-Total-Count", std::to_string(total));
      res.set("Cache-Control", "no-cache");
      return withRoute(res, "/api/plugins");
    };
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(m.listCacheMutex);
      auto it = m.listCache.find(req.target);
      if (it != m.listCache.end() && it->second.snapshot == snapshot && now - it->second.renderedAt < std::chrono::seconds(1)) {
        return respond(*it->second.body, it->second.total);
      }
    }
    CatalogQuery q;
    q.text = req.queryOr("q");
    q.category = req.queryOr("category");
    q.sort = req.queryOr("sort", "name");
    if (q.sort != "name" && q.sort != "downloads" && q.sort != "updated") {
      return Response::error(400, "invalid_query", "sort must be name, downloads or updated; got \"" + q.sort + "\"");
    }
    if (std::string host = req.queryOr("host"); !host.empty()) {
      auto v = Version::parse(host);
      if (!v) return Response::error(400, "invalid_query", "host: " + v.error().message);
      q.host = v.value();
    }
    const bool paged = req.query.count("page") || req.query.count("per_page");
    size_t page = 1, perPage = 100;
    auto positive = [&](const char* name, size_t& out) -> bool {
      std::string s = req.queryOr(name);
      if (s.empty()) return true;
      if (s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos || std::stoul(s) == 0) return false;
      out = std::stoul(s);
      return true;
    };
    if (!positive("page", page) || !positive("per_page", perPage)) {
      return Response::error(400, "invalid_query", "page and per_page must be positive whole numbers");
    }
    perPage = std::min(perPage, kMaxPerPage);
    if (paged) {
      q.offset = (page - 1) * perPage;
      q.limit = perPage;
    }
    CatalogPage result = reg.list(q);
    std::string body = "[";
    body.reserve(result.items.size() * 512);
    for (size_t i = 0; i < result.items.size(); ++i) {
      if (i) body += ',';
      appendSummary(body, *result.items[i].record, result.items[i].downloads);
    }
    body += ']';
    {
      std::lock_guard lock(m.listCacheMutex);
      if (m.listCache.size() >= 512) m.listCache.clear();  // bounded: many distinct queries just start over
      m.listCache[req.target] = {snapshot, now, std::make_shared<const std::string>(body), result.total};
    }
    return respond(std::move(body), result.total);
  }));

  // Seed 003's upload: the zip as the body, its .minisig (base64) in
  // X-Signature, a publish token in Authorization: Bearer.
  // Checked on the IO thread (credentials, signature header), then the
  // package is validated, bundled and compressed on the publish workers: a
  // large bundle costs them seconds, never the threads serving downloads.
  router.addAsync(
      "POST", "/api/plugins",
      [&reg](Request& req, http::Responder done) {
        TokenInfo publisher;
        if (auto refused = refuseUnless(reg, req, "publish", "publish", "/api/plugins", &publisher)) return done.send(std::move(*refused));
        std::optional<std::string> signature;
        if (std::string sig = req.header("X-Signature"); !sig.empty()) {
          auto decoded = fromBase64(sig);
          if (!decoded) return done.send(withRoute(errorResponse(Error::invalid("X-Signature must be the .minisig file in base64")), "/api/plugins"));
          signature = std::move(decoded.value());
        }
        if (req.body.empty()) return done.send(withRoute(errorResponse(Error::invalid("the request body must be the package (a zip)")), "/api/plugins"));
        auto job = [&reg, done, publisher, signature, body = std::move(req.body)] {
          auto published = reg.publish(body, signature, publisher);
          reg.metrics().count("uploads", "result", !published ? errorKindName(published.error().kind) : published->created ? "created" : "unchanged");
          if (!published) return done.send(withRoute(errorResponse(published.error()), "/api/plugins"));
          json j = versionJson(reg, published->record);
          j["created"] = published->created;
          Response res = Response::json(published->created ? 201 : 200, j.dump());
          res.set("Location", "/api/plugins/" + published->record.id + "/" + published->record.version.toString());
          done.send(withRoute(res, "/api/plugins"));
        };
        if (!reg.impl_->publishers->post(std::move(job))) {
          reg.metrics().count("uploads", "result", "busy");
          Response busy = errorResponse(Error::limit("the registry is busy publishing other packages; try again in a few seconds"));
          busy.status = 503;
          busy.set("Retry-After", "5");
          done.send(withRoute(busy, "/api/plugins"));
        }
      },
      {.maxBodyBytes = reg.impl_->options.maxUploadBytes});

  router.add("GET", "/api/plugins/{id}", microCached([&reg](Request& req) {
    const std::string id = req.params["id"];
    if (auto bad = badId(id)) return *bad;
    auto unlisted = seesUnlisted(reg, req);
    if (auto* refused = std::get_if<Response>(&unlisted)) return std::move(*refused);
    const bool reviewer = std::get<bool>(unlisted);
    std::vector<PackageRecord> visible;
    for (auto& r : reg.versions(id)) {
      if (r.listed() || reviewer) visible.push_back(std::move(r));
    }
    // The version the page is about: the latest listed one, or for a
    // reviewer the newest of any status.
    auto latest = reg.latest(id);
    if (!latest && reviewer && !visible.empty()) latest = visible.front();
    if (!latest) return Response::error(404, "not_found", "no plugin \"" + id + "\"");
    json j = versionJson(reg, *latest);
    uint64_t total = 0;
    json versions = json::array();
    for (const auto& r : visible) {
      versions.push_back(versionJson(reg, r));
      total += r.downloads;
    }
    j["downloads"] = total;
    j["readme"] = latest->readme;
    j["readme_html"] = renderMarkdown(latest->readme);
    j["install_command"] = "patchbay install " + id + "@" + latest->version.toString() + " --registry " + baseUrl(req);
    j["versions"] = versions;
    return withRoute(Response::json(200, j.dump()), "/api/plugins/{id}");
  }));

  router.add("GET", "/api/plugins/{id}/resolve", microCached([&reg](Request& req) {
    const std::string id = req.params["id"];
    if (auto bad = badId(id)) return *bad;
    auto range = Range::parse(req.queryOr("range", "*"));
    if (!range) return Response::error(400, "invalid_range", range.error().message);
    std::optional<Version> host;
    if (std::string h = req.queryOr("host"); !h.empty()) {
      auto v = Version::parse(h);
      if (!v) return Response::error(400, "invalid_query", "host: " + v.error().message);
      host = v.value();
    }
    auto r = reg.resolve(id, *range, host);
    if (!r) return Response::error(404, "not_found", r.error().message);
    return withRoute(Response::json(200, versionJson(reg, *r).dump()), "/api/plugins/{id}/resolve");
  }));

  router.add("GET", "/api/plugins/{id}/{version}", microCached([&reg](Request& req) {
    auto found = lookupVersion(reg, req);
    if (auto* error = std::get_if<Response>(&found)) return *error;
    const PackageRecord* r = &std::get<PackageRecord>(found);
    json j = versionJson(reg, *r);
    j["readme"] = r->readme;
    j["readme_html"] = renderMarkdown(r->readme);
    j["manifest"] = r->manifestJson.empty() ? json(nullptr) : parseJsonOrDiscarded<json>(r->manifestJson);
    return withRoute(Response::json(200, j.dump()), "/api/plugins/{id}/{version}");
  }));

  // The publisher's .minisig of a version, for installers whose policy
  // asks for package signatures from trusted keys.
  router.add("GET", "/api/plugins/{id}/{version}/signature", microCached([&reg](Request& req) {
    auto found = lookupVersion(reg, req);
    if (auto* error = std::get_if<Response>(&found)) return *error;
    const PackageRecord& r = std::get<PackageRecord>(found);
    if (r.signature.empty()) return withRoute(Response::error(404, "not_found", r.id + " " + r.version.toString() + " was published without a signature"), "/api/plugins/{id}/{version}/signature");
    return withRoute(Response::text(200, r.signature, "text/plain; charset=utf-8"), "/api/plugins/{id}/{version}/signature");
  }));

  router.addAsync("GET", "/download/{id}/{version}", readingBlobs([&reg](Request& req) {
    if (!downloadKeyAccepted(reg.impl_->options, req)) {
      Response refused = Response::error(401, "unauthenticated", "downloads from this registry need its API key: X-API-Key: <key>");
      refused.set("WWW-Authenticate", "ApiKey");
      return withRoute(refused, "/download/{id}/{version}");
    }
    auto found = lookupVersion(reg, req);
    if (auto* error = std::get_if<Response>(&found)) return *error;
    const PackageRecord* r = &std::get<PackageRecord>(found);
    const bool isLatest = req.params["version"] == "latest";
    Response res;
    res.set("Content-Type", "application/zip");
    res.set("Content-Disposition", "attachment; filename=\"" + r->fileName + "\"");
    res.set("Cache-Control", isLatest ? kShortLived : kImmutable);
    res.set("Accept-Ranges", "bytes");
    res.set("X-Plugin-Version", r->version.toString());
    res.set("X-Integrity", r->integrity);
    Response checked = etagged(req, res, r->sha256);
    if (checked.status == 304) return withRoute(checked, "/download/{id}/{version}");
    res = std::move(checked);
    uint64_t first = 0, last = r->size == 0 ? 0 : r->size - 1;
    std::string rangeHeader = req.header("Range");
    std::string ifRange = req.header("If-Range");
    if (!rangeHeader.empty() && (ifRange.empty() || ifRange == res.header("ETag"))) {
      auto range = http::parseByteRange(rangeHeader, r->size);
      if (range && range->first == r->size) {
        Response unsatisfiable = Response::error(416, "range_not_satisfiable", "the file has " + std::to_string(r->size) + " bytes");
        unsatisfiable.set("Content-Range", "bytes */" + std::to_string(r->size));
        return withRoute(unsatisfiable, "/download/{id}/{version}");
      }
      if (range) {
        first = range->first;
        last = range->second;
        res.status = 206;
        res.set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(r->size));
      }
    }
    const uint64_t length = r->size == 0 ? 0 : last - first + 1;
    if (const std::string file = reg.impl_->blobs->localFile(r->blobKey); !file.empty()) {
      res.file = http::FileBody{file, first, length};
    } else if (const std::string url = reg.impl_->blobs->presignedGet(r->blobKey); !url.empty() && res.status == 200) {
      // The store serves the bytes: a redirect to a URL that works for a
      // short while (never cached: the next one is signed afresh).
      Response away;
      away.status = 302;
      away.set("Location", url);
      away.set("Cache-Control", "no-store");
      away.set("X-Plugin-Version", r->version.toString());
      away.set("X-Integrity", r->integrity);
      res = std::move(away);
    } else {
      auto bytes = reg.impl_->blobs->get(r->blobKey, first, length);
      if (!bytes) {
        Response away = Response::error(503, "unavailable", "the blob store: " + bytes.error().message);
        away.set("Retry-After", "1");
        return withRoute(away, "/download/{id}/{version}");
      }
      res.body = std::move(*bytes);
    }
    if (req.method == "GET" && first == 0) reg.recordDownload(r->id, r->version);
    return withRoute(res, "/download/{id}/{version}");
  }));

  router.add("GET", "/manifest.json", microCached([&reg](Request& req) {
    json plugins = json::array();
    CatalogPage all = reg.list({});
    for (const auto& e : all.items) {
      const PackageRecord& r = *e.record;
      plugins.push_back({{"id", r.id}, {"version", r.version.toString()}, {"download_url", downloadUrl(r)},
                         {"name", r.name}, {"sha256", r.sha256}, {"integrity", r.integrity}, {"status", effectiveStatus(r)},
                         {"registry_signature", reg.signMetadata(r)}});
    }
    std::string body = json{{"plugins", plugins}}.dump();
    Response res = Response::json(200, body);
    res.set("Cache-Control", "no-cache");
    res.set("Vary", "Accept-Encoding");
    res = etagged(req, res, sha256Hex(body));
    if (res.status == 200 && http::acceptsEncoding(req, "gzip")) {
      std::string gz = http::gzipCompress(body);
      if (!gz.empty()) {
        res.body = std::move(gz);
        res.set("Content-Encoding", "gzip");
      }
    }
    return withRoute(res, "/manifest.json");
  }));

  router.add("GET", "/metrics", microCached([&reg](Request&) {
    return withRoute(Response::text(200, reg.metrics().render(), "text/plain; version=0.0.4; charset=utf-8"), "/metrics");
  }));

  router.add("GET", "/api/stats", microCached([&reg](Request&) { return withRoute(Response::json(200, reg.downloadStatsJson()), "/api/stats"); }));

  router.add("GET", "/api/registry/key", microCached([&reg](Request&) {
    PublicKey key = reg.metadataKey();
    json j = {{"algorithm", "Ed25519"}, {"key_id", key.keyIdHex()}, {"public_key", key.base64()},
              {"signed_fields", {"id", "integrity", "sha256", "status", "version"}}};
    return withRoute(Response::json(200, j.dump()), "/api/registry/key");
  }));

  // Seed 003's bundle serving: /plugins/bundles/{id}/v{version}/bundle.js
  auto bundleRoute = [&reg](bool map) {
    return [&reg, map](Request& req) {
      const char* route = map ? "/plugins/bundles/{id}/{version}/bundle.js.map" : "/plugins/bundles/{id}/{version}/bundle.js";
      std::string& v = req.params["version"];
      if (!v.starts_with("v")) return Response::error(404, "not_found", "bundle paths look like /plugins/bundles/<id>/v<version>/bundle.js");
      v.erase(0, 1);
      auto found = lookupVersion(reg, req);
      if (auto* error = std::get_if<Response>(&found)) return withRoute(std::move(*error), route);
      const PackageRecord& r = std::get<PackageRecord>(found);
      if (r.bundleSha256.empty()) return withRoute(Response::error(404, "not_found", r.id + " " + r.version.toString() + " has no client bundle"), route);
      return withRoute(map ? bundleFile(*reg.impl_->blobs, req, r.bundleMapSha256, ".map", "application/json")
                           : bundleFile(*reg.impl_->blobs, req, r.bundleSha256, ".js", "text/javascript; charset=utf-8"),
                       route);
    };
  };
  router.addAsync("GET", "/plugins/bundles/{id}/{version}/bundle.js", readingBlobs(bundleRoute(false)));
  router.addAsync("GET", "/plugins/bundles/{id}/{version}/bundle.js.map", readingBlobs(bundleRoute(true)));

  addManagementRoutes(reg, router);
  addWebRoutes(reg, router);
}

}  // namespace patchbay
