// The host's HTTP surface: plugin routes under /api/plugins/<id>/, the
// panel's client data, and Sodium's admin API (admin bearer token).
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <variant>

#include "host/cluster_plugins.h"
#include "host/host_impl.h"
#include "host/route_support.h"
#include "host/tenants_impl.h"

#include "patchbay/files.h"
#include "patchbay/integrity.h"
#include "patchbay/json.h"
#include "patchbay/text.h"
#include "patchbay/permissions.h"

namespace patchbay {

namespace {

using json = nlohmann::ordered_json;
using http::Request;
using http::Response;

using host_routes::errorResponse;

// A grant or limit not changed: 404 unknown plugin, 400 a value out of
// range, 503 (retry) the cluster's PostgreSQL away, else 500.
Response accessChangeRefused(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kNotFound: return errorResponse(404, e.message);
    case ErrorKind::kLimitExceeded:
    case ErrorKind::kInvalidInput: return errorResponse(400, e.message);
    case ErrorKind::kUnavailable: return errorResponse(503, e.message).set("Retry-After", "1");
    default: return errorResponse(500, e.message);
  }
}

using host_routes::refuseNonAdmin;

// The administrator acting, for the audit log, or the refusal.
std::variant<AuditActor, Response> adminActor(Host& host, const Request& req) {
  if (auto refused = refuseNonAdmin(host, req)) return *refused;
  return host_routes::actorOf(host, req);
}

// Runs an installer operation for the admin API, with its audit record.
Response runOperation(Host& host, const AuditActor& actor, const std::string& action, const std::string& id,
                      const std::function<Result<OperationReport>()>& op) {
  auto r = op();
  host_routes::auditOperation(host, actor, action, id, r);
  if (!r) return errorResponse(installErrorStatus(r.error().kind), r.error().message);
  return Response::json(200, host_routes::operationReportJson(*r).dump());
}

// {"version": "1.2.0"} or {"range": "^1"}: what to install ("" = latest).
std::string requestedRange(const json& body) {
  if (body.contains("range") && body["range"].is_string()) return body["range"].get<std::string>();
  if (body.contains("version") && body["version"].is_string()) return body["version"].get<std::string>();
  return "";
}

// The first 16 hex digits of the SHA-256 of a client module ("" when there
// is none): the frames ask for client.js?v=<it>, which may be cached for
// good. Hashed again only when the file's size or time changed.
std::string clientModuleHash(const std::string& path) {
  struct Seen {
    std::filesystem::file_time_type modified;
    uintmax_t size = 0;
    std::string hash;
  };
  static std::mutex mu;
  static std::map<std::string, Seen> seen;
  std::error_code ec;
  const auto modified = std::filesystem::last_write_time(path, ec);
  if (ec) return "";
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return "";
  {
    std::lock_guard lock(mu);
    auto it = seen.find(path);
    if (it != seen.end() && it->second.modified == modified && it->second.size == size) return it->second.hash;
  }
  auto code = readFileLimited(path, 8u << 20);
  if (!code) return "";
  std::string hash = sha256Hex(*code).substr(0, 16);
  std::lock_guard lock(mu);
  if (seen.size() > 4096) seen.clear();
  seen[path] = {modified, size, hash};
  return hash;
}

json manifestSummary(const HostPlugin& p) {
  json j = {{"id", p.id}};
  if (!p.manifest) {
    j["name"] = p.id;
    j["active"] = p.active;
    j["error"] = p.problem;
    return j;
  }
  const Manifest& m = *p.manifest;
  j["name"] = m.name;
  j["version"] = m.version.toString();
  j["type"] = m.type;
  j["author"] = m.author;
  j["description"] = m.description;
  j["active"] = p.active && p.running;
  j["hooks"] = m.hooks;
  j["permissions"] = m.permissions;
  j["settings"] = json::parse(settingsSchemaJson(m));
  if (!p.problem.empty()) j["error"] = p.problem;
  return j;
}

}  // namespace

namespace host_routes {

std::optional<Response> refuseNonAdmin(Host& host, const Request& req) {
  auto refused = refuseWithout(host, req, "admin", "Admin access required");
  if (!refused) return std::nullopt;
  return errorResponse(refused->status, refused->message);
}

std::optional<Response> refuseWhileTenantsHaveIt(Host& host, const std::string& id) {
  auto tenants = host.tenants().tenantsOf(id);
  if (tenants.empty()) return std::nullopt;
  std::string names;
  for (const auto& t : tenants) names += (names.empty() ? "" : ", ") + t;
  return errorResponse(409, id + " is installed for tenants " + names + ": uninstall it from them first (DELETE /tenants/<tenantId>/plugins/" + id + ")");
}

json operationReportJson(const OperationReport& r) {
  json j = {{"success", true}, {"operation", operationName(r.operation)}, {"id", r.id}};
  if (!r.fromVersion.empty()) j["from"] = r.fromVersion;
  if (!r.toVersion.empty()) j["version"] = r.toVersion;
  j["migrations"] = r.migrations;
  j["dependencies"] = r.dependencies;
  if (!r.startError.empty()) j["startError"] = r.startError;
  j["milliseconds"] = r.milliseconds;
  return j;
}

void auditOperation(Host& host, const AuditActor& actor, const std::string& action, const std::string& pluginId,
                    const Result<OperationReport>& r) {
  // The versions it went from and to: "1.0.0" (installed), "1.0.0 -> 1.1.0", "1.1.0" (uninstalled).
  std::string versions;
  if (r) versions = r->fromVersion.empty() || r->toVersion.empty() ? r->fromVersion + r->toVersion : r->fromVersion + " -> " + r->toVersion;
  host.audit(actor, action, pluginId, r ? versions : r.error().message, r.ok());
}

}  // namespace host_routes

void Host::addRoutes(http::Router& router) {
  router.setErrorShape(http::ErrorShape::kMessage);
  Host& host = *this;

  // The panel's client: what each active plugin adds to the UI. Asked on
  // every page of the panel, so it comes from the runtime's memory, not
  // from the plugin folders.
  router.add("GET", "/api/plugins/client-data", [&host](Request&) {
    json plugins = json::array();
    std::map<std::string, std::string> problems;  // why a plugin's last change did not load (the dev loop)
    {
      std::lock_guard lock(host.impl_->mu);
      problems = host.impl_->loadProblems;
    }
    for (const auto& p : host.runtime().plugins()) {
      if (p.state != PluginRunState::kActive) continue;
      json entry = {{"id", p.id}, {"name", p.name}, {"version", p.version}, {"type", p.type}};
      json contributed = parseJsonOrDiscarded<json>(host.runtime().uiJson(p.id));
      for (const char* kind : {"pages", "sidebarItems", "serverTabs", "dashboardWidgets", "adminTabs", "adminPages"}) {
        entry[kind] = contributed.is_object() && contributed.contains(kind) ? contributed[kind] : json::array();
      }
      // Pages as Sodium's manager.js answers them: an array of {id, ...page},
      // the id being the path or id the plugin registered the page under.
      if (entry["pages"].is_object()) {
        json pages = json::array();
        for (auto& [key, page] : entry["pages"].items()) {
          json item = {{"id", key}};
          if (page.is_object()) item.update(page);
          pages.push_back(std::move(item));
        }
        entry["pages"] = std::move(pages);
      }
      if (auto problem = problems.find(p.id); problem != problems.end()) entry["problem"] = problem->second;
      const std::string hash = clientModuleHash((std::filesystem::path(p.dir) / "client.js").string());
      entry["hasClient"] = !hash.empty();
      if (!hash.empty()) entry["clientHash"] = hash;
      plugins.push_back(std::move(entry));
    }
    Response r = Response::json(200, json{{"plugins", plugins}}.dump());
    r.set("Cache-Control", "no-cache");
    return r;
  });

  router.add("GET", "/api/admin/plugins", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    json plugins = json::array();
    for (const auto& p : host.plugins()) plugins.push_back(manifestSummary(p));
    return Response::json(200, json{{"plugins", plugins}}.dump());
  });

  for (const char* action : {"activate", "deactivate"}) {
    const bool on = std::string_view(action) == "activate";
    router.add("POST", std::string("/api/admin/plugins/{id}/") + action, [&host, on](Request& req) {
      if (auto refused = refuseNonAdmin(host, req)) return *refused;
      const std::string& id = req.params["id"];
      Status s = on ? host.activate(id) : host.deactivate(id);
      if (!s) {
        if (s.error().kind == ErrorKind::kNotFound) return errorResponse(404, "Plugin \"" + id + "\" not found");
        if (s.error().kind == ErrorKind::kUnavailable) return errorResponse(503, s.error().message).set("Retry-After", "1");
        return errorResponse(s.error().kind == ErrorKind::kIo || s.error().kind == ErrorKind::kInternal ? 500 : 400, s.error().message);
      }
      return Response::json(200, R"({"success":true})");
    });
  }

  router.add("GET", "/api/admin/plugins/{id}/logs", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    const std::string& id = req.params["id"];
    if (host.impl_->dirOf(id).empty()) return errorResponse(404, "Plugin \"" + id + "\" not found");
    json lines = json::array();
    for (const auto& l : host.runtime().logs(id)) lines.push_back({{"at", l.at}, {"level", l.level}, {"message", l.message}});
    return Response::json(200, json{{"logs", lines}}.dump());
  });

  router.add("GET", "/api/admin/plugins/{id}/settings", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    const std::string& id = req.params["id"];
    std::string dir = host.impl_->dirOf(id);
    if (dir.empty()) return errorResponse(404, "Plugin not found");  // Sodium's text for its settings endpoints
    auto settings = readPluginSettings(dir, host.impl_->folder->pluginDataDir(), true, host.impl_->folder->postgresUrl());
    if (!settings) return errorResponse(400, settings.error().message);
    return Response::json(200, *settings);
  });

  router.add("PUT", "/api/admin/plugins/{id}/settings", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    const std::string& id = req.params["id"];
    std::string dir = host.impl_->dirOf(id);
    if (dir.empty()) return errorResponse(404, "Plugin not found");
    // Sodium's docs send {"values": {...}}, its older router {"settings": {...}}.
    json body = parseJsonOrDiscarded<json>(req.body);
    const char* field = body.is_object() && body.contains("values") ? "values" : "settings";
    if (!body.is_object() || !body.contains(field) || !body[field].is_object()) return errorResponse(400, "The body must be {\"values\": {...}}");
    if (auto s = writePluginSettings(dir, host.impl_->folder->pluginDataDir(), body[field].dump(), host.impl_->folder->postgresUrl()); !s) {
      return errorResponse(400, s.error().message);
    }
    host.impl_->changed(id, "settings");
    return Response::json(200, R"({"success":true})");
  });

  // Outbound HTTP (fetch) granted by an administrator, beyond (or against)
  // the manifest's permission: {"fetch": bool, "hosts": [names]}.
  router.add("GET", "/api/admin/plugins/{id}/grants", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    const std::string& id = req.params["id"];
    std::string dir = host.impl_->dirOf(id);
    if (dir.empty()) return errorResponse(404, "Plugin \"" + id + "\" not found");
    ManifestReport report = loadManifestFromFolder(dir);
    const bool permitted = report.manifest && manifestOpens(*report.manifest, Capability::kOutboundHttp);
    auto grant = host.runtime().fetchGrant(id);
    json out = {{"manifestPermits", permitted}, {"grant", grant ? json{{"fetch", grant->allowed}, {"hosts", grant->hosts}} : json(nullptr)}};
    out["fetch"] = grant ? grant->allowed : permitted;
    out["hosts"] = grant ? grant->hosts : std::vector<std::string>{};
    return Response::json(200, out.dump());
  });
  router.add("PUT", "/api/admin/plugins/{id}/grants", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    const std::string& id = req.params["id"];
    json body = parseJsonOrDiscarded<json>(req.body);
    if (!body.is_object() || !body.contains("fetch") || !body["fetch"].is_boolean()) {
      return errorResponse(400, "The body must be {\"fetch\": true|false, \"hosts\": [\"host.example\", ...]} (hosts optional)");
    }
    FetchGrant grant;
    grant.allowed = body["fetch"].get<bool>();
    if (body.contains("hosts")) {
      if (!body["hosts"].is_array()) return errorResponse(400, "\"hosts\" must be an array of host names");
      for (const auto& h : body["hosts"]) {
        if (!h.is_string() || h.get<std::string>().empty() || h.get<std::string>().find_first_of("/:@ ") != std::string::npos) {
          return errorResponse(400, "\"hosts\" must hold bare host names (no scheme, port or path), got " + h.dump());
        }
        grant.hosts.push_back(asciiLower(h.get<std::string>()));
      }
    }
    Status s = host.setFetchGrant(id, std::move(grant));
    if (!s) return accessChangeRefused(s.error());
    return Response::json(200, R"({"success":true})");
  });
  router.add("DELETE", "/api/admin/plugins/{id}/grants", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    Status s = host.setFetchGrant(req.params["id"], std::nullopt);
    if (!s) return accessChangeRefused(s.error());
    return Response::json(200, R"({"success":true})");
  });

  // Per-plugin limits set by an administrator: {"maxBodyBytes": n} (null:
  // the default), and what applies now with the most that may be set.
  router.add("GET", "/api/admin/plugins/{id}/limits", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    const std::string& id = req.params["id"];
    if (host.impl_->dirOf(id).empty()) return errorResponse(404, "Plugin \"" + id + "\" not found");
    const RuntimeLimits& limits = host.runtime().limits();
    return Response::json(200, json{{"maxBodyBytes", host.runtime().bodyLimit(id)},
                                    {"defaultMaxBodyBytes", limits.maxBodyBytes},
                                    {"mostMaxBodyBytes", limits.maxBodyLimit()}}
                                   .dump());
  });
  router.add("PUT", "/api/admin/plugins/{id}/limits", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    json body = parseJsonOrDiscarded<json>(req.body);
    if (!body.is_object() || !body.contains("maxBodyBytes") || !(body["maxBodyBytes"].is_number_unsigned() || body["maxBodyBytes"].is_null())) {
      return errorResponse(400, "The body must be {\"maxBodyBytes\": <bytes>} (null: the default)");
    }
    std::optional<uint64_t> bytes;
    if (!body["maxBodyBytes"].is_null()) bytes = body["maxBodyBytes"].get<uint64_t>();
    Status s = host.setBodyLimit(req.params["id"], bytes);
    if (!s) return accessChangeRefused(s.error());
    return Response::json(200, json{{"success", true}, {"maxBodyBytes", host.runtime().bodyLimit(req.params["id"])}}.dump());
  });

  // --- installing (the installer, live) -------------------------------------
  router.add("GET", "/api/admin/plugins/available", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    auto source = host.openPackageSource();
    if (!source) return errorResponse(400, source.error().message);
    auto all = (*source)->available();
    if (!all) return errorResponse(installErrorStatus(all.error().kind) == 404 ? 502 : installErrorStatus(all.error().kind), all.error().message);
    json list = json::array();
    for (const auto& p : *all) {
      json versions = json::array();
      for (const auto& v : p.versions) versions.push_back(v.toString());
      auto installed = host.installer().find(p.id);
      list.push_back({{"id", p.id}, {"name", p.name}, {"description", p.description}, {"latest", p.latest.toString()}, {"versions", versions},
                      {"installed", installed ? json(installed->version.toString()) : json(nullptr)}});
    }
    return Response::json(200, json{{"source", (*source)->describe()}, {"plugins", list}}.dump());
  });

  auto install = [&host](Request& req, const std::string& id, const std::string& range) {
    auto actor = adminActor(host, req);
    if (auto* refused = std::get_if<Response>(&actor)) return *refused;
    auto source = host.openPackageSource();
    if (!source) return errorResponse(400, source.error().message);
    return runOperation(host, std::get<AuditActor>(actor), "install", id, [&] { return host.operate([&](Installer& i) { return i.install(id, range, **source); }); });
  };
  // Credentials first, then the body: an unauthenticated caller costs no
  // parsing (D21).
  router.add("POST", "/api/admin/plugins/install", [&host, install](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    json body = parseJsonOrDiscarded<json>(req.body);
    if (!body.is_object() || !body.contains("id") || !body["id"].is_string()) {
      return errorResponse(400, "The body must be {\"id\": \"<plugin id>\", \"version\": \"1.2.0\" or \"range\": \"^1\" (optional)}");
    }
    return install(req, body["id"].get<std::string>(), requestedRange(body));
  });
  router.add("POST", "/api/admin/plugins/{id}/upgrade", [&host](Request& req) {
    auto actor = adminActor(host, req);
    if (auto* refused = std::get_if<Response>(&actor)) return *refused;
    json body = req.body.empty() ? json::object() : parseJsonOrDiscarded<json>(req.body);
    if (!body.is_object()) return errorResponse(400, "The body must be {\"version\": ...} or {\"range\": ...} (or empty: the newest)");
    auto source = host.openPackageSource();
    if (!source) return errorResponse(400, source.error().message);
    const std::string id = req.params["id"], range = requestedRange(body);
    return runOperation(host, std::get<AuditActor>(actor), "upgrade", id, [&] { return host.operate([&](Installer& i) { return i.upgrade(id, range, **source); }); });
  });
  auto uninstall = [&host](Request& req, const std::string& id, bool keepData) {
    auto actor = adminActor(host, req);
    if (auto* refused = std::get_if<Response>(&actor)) return *refused;
    if (auto refused = host_routes::refuseWhileTenantsHaveIt(host, id)) return *refused;
    return runOperation(host, std::get<AuditActor>(actor), keepData ? "uninstall (data kept)" : "uninstall", id,
                        [&] { return host.operate([&](Installer& i) { return i.uninstall(id, keepData); }); });
  };
  router.add("POST", "/api/admin/plugins/{id}/uninstall", [&host, uninstall](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    json body = req.body.empty() ? json::object() : parseJsonOrDiscarded<json>(req.body);
    return uninstall(req, req.params["id"], body.is_object() && body.value("keepData", false));
  });
  router.add("GET", "/api/admin/cluster", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    std::string status = host.clusterJson();
    if (status.empty()) return errorResponse(404, "This host is not part of a cluster: its data folder names no PostgreSQL database (config.json's \"database\")");
    return Response::json(200, status);
  });
  router.add("GET", "/api/admin/audit", [&host](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    return Response::json(200, json{{"events", json::parse(host.auditJson())}}.dump());
  });
  // Seed 002's marketplace endpoints.
  router.add("POST", "/api/v1/marketplace/install", [&host, install](Request& req) {
    if (auto refused = refuseNonAdmin(host, req)) return *refused;
    json body = parseJsonOrDiscarded<json>(req.body);
    std::string id = body.is_object() ? body.value("plugin_id", body.value("id", "")) : "";
    if (id.empty()) return errorResponse(400, "The body must be {\"plugin_id\": \"<id>\", \"version\": \"<version>\" (optional)}");
    return install(req, id, requestedRange(body));
  });
  router.add("DELETE", "/api/v1/marketplace/uninstall/{id}", [uninstall](Request& req) {
    return uninstall(req, req.params["id"], req.queryOr("keep_data", "false") == "true");
  });

  // An active plugin's client module, as Sodium serves it, for the panel's
  // sandboxed frames: their origin is opaque, so the module is fetched in
  // CORS mode (allowed to anyone, never with credentials: the code is no
  // secret, and no cookie rides along). Cached for good when asked for by
  // its content (?v=<clientHash>, as client-data names it); otherwise
  // revalidated by ETag.
  router.add("GET", "/api/plugins/{id}/client.js", [&host](Request& req) {
    const std::string& id = req.params["id"];
    for (const auto& p : host.runtime().plugins()) {
      if (p.id != id || p.state != PluginRunState::kActive) continue;
      auto code = readFileLimited((std::filesystem::path(p.dir) / "client.js").string(), 8u << 20);
      if (!code) break;
      const std::string hash = sha256Hex(*code);
      const std::string etag = "\"" + hash.substr(0, 32) + "\"";
      Response r = req.header("if-none-match") == etag ? Response::text(304, "", "text/javascript; charset=utf-8")
                                                        : Response::text(200, std::move(*code), "text/javascript; charset=utf-8");
      r.set("ETag", etag);
      // Cached for good when asked for by its content (client-data's clientHash).
      r.set("Cache-Control", req.queryOr("v", "") == hash.substr(0, 16) ? "public, max-age=31536000, immutable" : "no-cache");
      r.set("Access-Control-Allow-Origin", "*");
      r.set("X-Content-Type-Options", "nosniff");
      r.set("Cross-Origin-Resource-Policy", "cross-origin");
      return r;
    }
    return errorResponse(404, "Plugin \"" + id + "\" has no active client code");
  });

  // Every plugin's own routes: /api/plugins/<id>/<path>. Answered when the
  // plugin has answered; no IO thread waits for it. Each plugin's body limit
  // is decided from the head, before the body is read.
  router.addAsync(
      "*", "/api/plugins/{id}/{rest...}",
      [&host](Request& req, http::Responder done) {
        const std::string& id = req.params["id"];
        if (host.impl_->cluster) {
          if (std::string why = host.impl_->cluster->refusal(id); !why.empty()) return done.send(errorResponse(503, why).set("Retry-After", "1"));
        }
        std::string user = "null";
        if (auto token = host_routes::bearer(host, req)) {
          user = host_routes::tokenUser(*token).dump();
        } else if (auto signedIn = host_routes::panelUser(host, req)) {
          user = std::move(signedIn->requestJson);
        }
        host.runtime().handleRequest(id, host_routes::pluginRequest(req, user), [done, id](Result<PluginResponse> res) {
          if (!res) {
            if (res.error().kind == ErrorKind::kNotFound) return done.send(errorResponse(404, "Plugin \"" + id + "\" not found"));
            return done.send(errorResponse(503, res.error().message).set("Retry-After", "5"));
          }
          done.send(host_routes::httpResponse(std::move(*res)));
        });
      },
      {.decide = [&host](const Request& head) { return host.runtime().bodyLimit(head.params.at("id")); }});

  addMarketplaceRoutes(router);
  addTenantRoutes(router);
}

namespace host_routes {

std::optional<TokenInfo> bearer(Host& host, const Request& req) {
  std::string auth = req.header("Authorization");
  if (!auth.starts_with("Bearer ")) return std::nullopt;
  auto token = host.authenticate(std::string_view(auth).substr(7));
  if (!token) return std::nullopt;
  return *token;
}

std::optional<SignedInUser> panelUser(Host& host, const Request& req) {
  return host.signedInUser(req);
}

AuditActor actorOf(Host& host, const Request& req) {
  if (auto token = bearer(host, req)) return {AuditActor::Kind::kApiToken, token->name};
  if (auto user = panelUser(host, req)) return {AuditActor::Kind::kPanelUser, user->name};
  return {AuditActor::Kind::kApiToken, "admin"};  // not reached: callers were refused without either
}

std::optional<Refusal> refuseWithout(Host& host, const Request& req, const std::string& scope, const std::string& what) {
  // The panel's administrators may do what admin tokens do.
  if (scope == "admin" && !bearer(host, req)) {
    if (auto user = panelUser(host, req)) return user->admin ? std::nullopt : std::optional<Refusal>(Refusal{403, what});
  }
  if (req.header("Authorization").empty()) return Refusal{401, "Authentication required: Authorization: Bearer <token>"};
  auto token = bearer(host, req);
  if (!token) return Refusal{401, "The token is unknown, revoked or expired"};
  if (!token->hasScope(scope)) return Refusal{403, what};
  return std::nullopt;
}

nlohmann::ordered_json tokenUser(const TokenInfo& token) {
  const bool admin = token.hasScope("admin");
  return {{"id", "token:" + token.name}, {"username", token.name}, {"isAdmin", admin}, {"role", admin ? "admin" : "user"},
          {"name", token.name}, {"admin", admin}};
}

PluginRequest pluginRequest(const Request& req, const std::string& userJson) {
  PluginRequest pr;
  pr.method = req.method;
  auto rest = req.params.find("rest");
  pr.path = rest == req.params.end() || rest->second.empty() ? "/" : http::percentDecode(rest->second);
  // Every parameter in order, a repeated key each time (req.query makes an
  // array of it, as Express does); the server checked the query already.
  if (size_t q = req.target.find('?'); q != std::string::npos) {
    if (auto query = http::parseQueryString(std::string_view(req.target).substr(q + 1))) pr.query = std::move(*query);
  }
  for (const auto& [k, v] : req.headers) {
    std::string lower = asciiLower(k);
    if (lower == "authorization") continue;  // the plugin sees req.user, never the credential
    pr.headers.emplace_back(lower, v);
  }
  pr.body = req.body;
  pr.userJson = userJson;
  pr.remoteAddress = req.remoteAddress;
  return pr;
}

Response httpResponse(PluginResponse res) {
  Response out;
  out.status = res.status;
  for (const auto& [k, v] : res.headers) out.set(k, v);
  out.body = std::move(res.body);
  return out;
}

}  // namespace host_routes

}  // namespace patchbay
