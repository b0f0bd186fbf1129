// The panel's pages (web/panel/, bundled by esbuild at build time and
// embedded): one HTML shell for every page path, and the bundle's assets
// under content-hashed names, cached for good. Strict Content Security
// Policy: script and style from this origin only, no inline script, no
// eval; connections (fetch, the live-events WebSocket) to this origin only.
#include <mutex>
#include <string_view>

#include "panel/panel_impl.h"
#include "patchbay/embedded_asset.h"
#include "patchbay/integrity.h"

extern const patchbay::EmbeddedAsset kPanelWebAssets[];

namespace patchbay::panel {

namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-src 'self' http://*.localhost:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

// An asset, with its compressed forms made once, on first use.
struct Asset {
  explicit Asset(const EmbeddedAsset* e) : embedded(e) {}
  const EmbeddedAsset* embedded;
  std::once_flag compressed;
  std::string gzip, brotli;
};

struct Assets {
  std::vector<std::unique_ptr<Asset>> all;
  std::string script, stylesheet;            // the bundle's entry, by their hashed names
  std::string frameScript, frameStylesheet;  // what plugins' frames load
  Assets() {
    for (const EmbeddedAsset* a = kPanelWebAssets; a->path != nullptr; ++a) {
      all.push_back(std::make_unique<Asset>(a));
      const std::string_view name = a->path;
      if (name.starts_with("app-") && name.ends_with(".js")) script = name;
      if (name.starts_with("app-") && name.ends_with(".css")) stylesheet = name;
      if (name.starts_with("frame-") && name.ends_with(".js")) frameScript = name;
      if (name.starts_with("frame-") && name.ends_with(".css")) frameStylesheet = name;
    }
  }
  Asset* find(std::string_view name) {
    for (auto& a : all) {
      if (name == a->embedded->path) return a.get();
    }
    return nullptr;
  }
};

Assets& assets() {
  static Assets instance;
  return instance;
}

Response secured(Response r) {
  r.set("Content-Security-Policy", kContentSecurityPolicy);
  r.set("X-Content-Type-Options", "nosniff");
  r.set("Referrer-Policy", "same-origin");
  r.set("X-Frame-Options", "DENY");
  return r;
}

// A plugin's frame (plugins/plugin_frame.js): loaded into an iframe with
// sandbox="allow-scripts", so its origin is opaque. Its policy: scripts
// from the panel only (the frame's runtime, the plugin's client module),
// no connections at all (the plugin reaches its routes through the panel),
// framed by the panel only (at this origin, or over loopback, where each
// plugin's frames come from <plugin>.localhost: plugins/store.js). Styles
// may be inline: plugins' HTML uses them.
constexpr const char* kFramePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; "
    "font-src 'self' data:; media-src 'self' data: blob: https:; connect-src 'none'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*";

// The frame's runtime and stylesheet go inline: a frame's origin is opaque,
// so the browser's cache is partitioned per frame and every separate file
// would be fetched again for each one. The script is allowed by its hash.
// The document itself is cached for good when asked for by its version
// (the shell names it): an iframe's own navigation is cached by its URL's
// site, so the panel's next load makes its frames without asking.
struct FramePage {
  std::string html, policy, version;
};

const FramePage& framePage() {
  static const FramePage page = [] {
    Assets& a = assets();
    const Asset* script = a.find(a.frameScript);
    const Asset* style = a.find(a.frameStylesheet);
    const auto text = [](const Asset* asset) {
      return asset ? std::string(reinterpret_cast<const char*>(asset->embedded->data), asset->embedded->size) : std::string();
    };
    const std::string js = text(script), css = text(style);
    // Raw SHA-256 of the script, base64, as CSP hashes are written.
    const std::string hex = sha256Hex(js);
    std::string raw;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    const std::string hash = toBase64(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
    FramePage p;
    p.html = std::string("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n") +
             "<meta name=\"color-scheme\" content=\"light dark\">\n<link rel=\"icon\" href=\"data:,\">\n<style>" + css +
             "</style>\n</head>\n<body>\n<div id=\"root\"></div>\n<script>" + js + "</script>\n</body>\n</html>\n";
    p.policy = std::string(kFramePolicy);
    p.policy.replace(p.policy.find("script-src 'self'"), std::string_view("script-src 'self'").size(), "script-src 'self' 'sha256-" + hash + "'");
    p.version = sha256Hex(p.html + p.policy).substr(0, 16);
    return p;
  }();
  return page;
}

// The page every UI path gets: the app loads and routes itself.
Response shell() {
  static const std::string html = [] {
    const Assets& a = assets();
    return std::string("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n") +
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
           "<meta name=\"color-scheme\" content=\"light dark\">\n<title>patchbay</title>\n" +
           "<meta name=\"pb-frame-version\" content=\"" + framePage().version + "\">\n" +
           "<link rel=\"icon\" href=\"data:,\">\n" + "<link rel=\"stylesheet\" href=\"/assets/" + a.stylesheet + "\">\n" +
           "<script type=\"module\" src=\"/assets/" + a.script + "\"></script>\n</head>\n<body>\n<div id=\"app\"></div>\n" +
           "<noscript>The panel needs JavaScript.</noscript>\n</body>\n</html>\n";
  }();
  Response r = Response::text(200, html, "text/html; charset=utf-8");
  r.set("Cache-Control", "no-cache");
  return secured(std::move(r));
}

Response pluginFrame(const Request& request) {
  const FramePage& page = framePage();
  Response r = Response::text(200, page.html, "text/html; charset=utf-8");
  r.set("Cache-Control", request.queryOr("v", "") == page.version ? "public, max-age=31536000, immutable" : "no-cache");
  r.set("Content-Security-Policy", page.policy);
  r.set("X-Content-Type-Options", "nosniff");
  r.set("Referrer-Policy", "no-referrer");
  r.set("X-Frame-Options", "SAMEORIGIN");
  return r;
}

}  // namespace

void addPageFallback(http::Router& router) {
  // Pages only the app knows (plugins' pages at the paths they registered)
  // load the shell too; the app says "Not found" for the rest. API and
  // asset paths keep their JSON 404.
  router.setPageFallback([](Request& request) {
    if (request.path.starts_with("/api/") || request.path.starts_with("/assets/")) {
      return errorJson(404, "No such endpoint: " + request.path);
    }
    return shell();
  });
}

void addWebRoutes(http::Router& router) {
  router.add("GET", "/plugin-frame", [](Request& request) { return pluginFrame(request); });
  for (const char* path : {"/", "/login", "/register", "/dashboard", "/servers", "/servers/new", "/servers/{id}", "/servers/{id}/{tab}",
                           "/profile", "/admin", "/admin/{section}", "/admin/{section}/{id}", "/plugins/{page...}"}) {
    router.add("GET", path, [](Request&) { return shell(); });
  }
  router.add("GET", "/assets/{file}", [](Request& request) {
    Asset* asset = assets().find(request.params["file"]);
    if (asset == nullptr) return secured(errorJson(404, "No such asset"));
    const EmbeddedAsset& e = *asset->embedded;
    std::call_once(asset->compressed, [asset, &e] {
      const std::string_view raw(reinterpret_cast<const char*>(e.data), e.size);
      asset->gzip = http::gzipCompress(raw);
      asset->brotli = http::brotliCompress(raw);
    });
    std::string body;
    std::string encoding;
    if (!asset->brotli.empty() && http::acceptsEncoding(request, "br")) {
      body = asset->brotli;
      encoding = "br";
    } else if (!asset->gzip.empty() && http::acceptsEncoding(request, "gzip")) {
      body = asset->gzip;
      encoding = "gzip";
    } else {
      body.assign(reinterpret_cast<const char*>(e.data), e.size);
    }
    Response r = Response::text(200, std::move(body), http::assetContentType(e.path));
    if (!encoding.empty()) r.set("Content-Encoding", encoding);
    r.set("Vary", "Accept-Encoding");
    // The name changes with the content: a browser never needs to ask again.
    r.set("Cache-Control", "public, max-age=31536000, immutable");
    return secured(std::move(r));
  });
}

}  // namespace patchbay::panel
