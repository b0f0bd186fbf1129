// The registry's web interface: a single page (web/registry/) embedded in
// the binary, talking to the JSON API. Served with a strict Content
// Security Policy: scripts and styles from this origin only, so even a
// README that slipped past cmark's safe mode could not run script.
#include <string_view>

#include "patchbay/embedded_asset.h"
#include "registry/service_util.h"

extern const patchbay::EmbeddedAsset kRegistryWebAssets[];

namespace patchbay::service {

namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const EmbeddedAsset* findAsset(std::string_view path) {
  for (const EmbeddedAsset* a = kRegistryWebAssets; a->path != nullptr; ++a) {
    if (path == a->path) return a;
  }
  return nullptr;
}

Response assetResponse(const EmbeddedAsset& asset) {
  Response res = Response::text(200, std::string(reinterpret_cast<const char*>(asset.data), asset.size), http::assetContentType(asset.path));
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cache-Control", "no-cache");
  return res;
}

}  // namespace

void addWebRoutes(Registry&, http::Router& router) {
  router.add("GET", "/", [](Request&) { return withRoute(assetResponse(*findAsset("index.html")), "/"); });
  router.add("GET", "/ui/{file}", [](Request& req) {
    const EmbeddedAsset* asset = findAsset(req.params["file"]);
    if (asset == nullptr || std::string_view(asset->path) == "index.html") {
      return withRoute(Response::error(404, "not_found", "no such file in the web interface"), "/ui/{file}");
    }
    return withRoute(assetResponse(*asset), "/ui/{file}");
  });
}

}  // namespace patchbay::service
