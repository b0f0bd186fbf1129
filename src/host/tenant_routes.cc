// Seed 003's tenant endpoints (errors in the host's one shape,
// {"error": "..."}), and each tenant's plugin routes under
// /api/tenants/<tenant>/plugins/<id>/.
#include <nlohmann/json.hpp>

#include "host/route_support.h"
#include "host/tenants_impl.h"

#include "patchbay/json.h"

namespace patchbay {

namespace {

using json = nlohmann::ordered_json;
using http::Request;
using http::Response;

using host_routes::errorResponse;
// An installer or runtime error, its status from its kind.
Response tenantError(const Error& e) { return errorResponse(installErrorStatus(e.kind), e.message); }

json recordJson(const TenantPlugin& p) {
  json j = {{"pluginId", p.pluginId},
            {"tenantId", p.tenantId},
            {"enabled", p.enabled},
            {"configuration", parseJsonOrDiscarded<json>(p.configurationJson)},
            {"installedAt", p.installedAt},
            {"updatedAt", p.updatedAt},
            {"version", p.version},
            {"state", tenantPluginStateName(p.state)}};
  if (!p.error.empty()) j["error"] = p.error;
  return j;
}

// The body as an object, or why not.
std::variant<json, Response> objectBody(const Request& req, const char* shape) {
  json body = req.body.empty() ? json::object() : parseJsonOrDiscarded<json>(req.body);
  if (!body.is_object()) return errorResponse(400, std::string("The body must be JSON: ") + shape);
  return body;
}

// A string field of the body, or "" (absent) / nullopt (present but not a string).
std::optional<std::string> stringField(const json& body, const char* name) {
  if (!body.contains(name)) return std::string();
  if (!body[name].is_string()) return std::nullopt;
  return body[name].get<std::string>();
}

// Notes the action in the audit log, then answers with the tenant's record
// (`okStatus`) or the error.
// The audit log names what changed, never a value: for settings, their keys.
std::string keysOf(const json& object) {
  std::string keys;
  for (const auto& [key, value] : object.items()) keys += (keys.empty() ? "" : ", ") + key;
  return keys.empty() ? "none" : keys;
}

Response recordedAnswer(Host& host, const AuditActor& actor, const std::string& action, const std::string& pluginId,
                        const std::string& tenantId, const Result<TenantPlugin>& r, int okStatus, const std::string& what = "") {
  host.audit(actor, action, pluginId, "tenant " + tenantId + what + (r ? "" : ": " + r.error().message), r.ok());
  if (!r) return tenantError(r.error());
  return Response::json(okStatus, recordJson(*r).dump());
}

}  // namespace

void Host::addTenantRoutes(http::Router& router) {
  Host& host = *this;
  auto admin = [&host](const Request& req) -> std::optional<Response> {
    auto refused = host_routes::refuseWithout(host, req, "admin", "Admin access required");
    if (!refused) return std::nullopt;
    return errorResponse(refused->status, refused->message);
  };
  auto actor = [&host](const Request& req) { return host_routes::actorOf(host, req); };

  router.add("POST", "/plugins/install", [&host, admin, actor](Request& req) {
    if (auto refused = admin(req)) return *refused;
    constexpr const char* kShape = R"({"pluginId": "<id>", "tenantId": "<tenant>", "version": "1.2.0" (optional), "configuration": {...} (optional), "enabled": true (optional)})";
    auto parsed = objectBody(req, kShape);
    if (auto* r = std::get_if<Response>(&parsed)) return *r;
    json& body = std::get<json>(parsed);
    auto pluginId = stringField(body, "pluginId"), tenantId = stringField(body, "tenantId");
    if (!pluginId || !tenantId || pluginId->empty() || tenantId->empty()) return errorResponse(400, std::string("pluginId and tenantId are required strings: ") + kShape);
    std::string range = body.value("range", body.value("version", std::string()));
    if (body.contains("configuration") && !body["configuration"].is_object()) return errorResponse(400, "configuration must be an object of setting -> value");
    if (body.contains("enabled") && !body["enabled"].is_boolean()) return errorResponse(400, "enabled must be true or false");
    auto r = host.tenants().install(*tenantId, *pluginId, range, body.contains("configuration") ? body["configuration"].dump() : "",
                                    body.value("enabled", true));
    return recordedAnswer(host, actor(req), "tenant install", *pluginId, *tenantId, r, 201);
  });

  router.add("PUT", "/plugins/{pluginId}/configure", [&host, admin, actor](Request& req) {
    if (auto refused = admin(req)) return *refused;
    constexpr const char* kShape = R"({"tenantId": "<tenant>", "configuration": {...}})";
    auto parsed = objectBody(req, kShape);
    if (auto* r = std::get_if<Response>(&parsed)) return *r;
    json& body = std::get<json>(parsed);
    auto tenantId = stringField(body, "tenantId");
    if (!tenantId || tenantId->empty() || !body.contains("configuration") || !body["configuration"].is_object()) {
      return errorResponse(400, std::string("The body must be ") + kShape);
    }
    const std::string& pluginId = req.params["pluginId"];
    auto r = host.tenants().configure(*tenantId, pluginId, body["configuration"].dump());
    return recordedAnswer(host, actor(req), "tenant configure", pluginId, *tenantId, r, 200, ", keys " + keysOf(body["configuration"]));
  });

  router.add("POST", "/plugins/{pluginId}/enable", [&host, admin, actor](Request& req) {
    if (auto refused = admin(req)) return *refused;
    constexpr const char* kShape = R"({"tenantId": "<tenant>", "enabled": true|false (optional, default true)})";
    auto parsed = objectBody(req, kShape);
    if (auto* r = std::get_if<Response>(&parsed)) return *r;
    json& body = std::get<json>(parsed);
    auto tenantId = stringField(body, "tenantId");
    if (!tenantId || tenantId->empty() || (body.contains("enabled") && !body["enabled"].is_boolean())) return errorResponse(400, std::string("The body must be ") + kShape);
    const std::string& pluginId = req.params["pluginId"];
    const bool on = body.value("enabled", true);
    auto r = host.tenants().enable(*tenantId, pluginId, on);
    return recordedAnswer(host, actor(req), on ? "tenant enable" : "tenant disable", pluginId, *tenantId, r, 200);
  });

  router.add("GET", "/tenants/{tenantId}/plugins", [&host, admin](Request& req) {
    if (auto refused = admin(req)) return *refused;
    auto list = host.tenants().list(req.params["tenantId"]);
    if (!list) return tenantError(list.error());
    json plugins = json::array();
    for (const auto& p : *list) plugins.push_back(recordJson(p));
    return Response::json(200, json{{"tenantId", req.params["tenantId"]}, {"plugins", plugins}}.dump());
  });

  router.add("DELETE", "/tenants/{tenantId}/plugins/{pluginId}", [&host, admin, actor](Request& req) {
    if (auto refused = admin(req)) return *refused;
    const std::string &tenantId = req.params["tenantId"], &pluginId = req.params["pluginId"];
    const bool keepData = req.queryOr("keepData", "false") == "true";
    Status s = host.tenants().uninstall(tenantId, pluginId, keepData);
    host.audit(actor(req), keepData ? "tenant uninstall (data kept)" : "tenant uninstall", pluginId, "tenant " + tenantId + (s ? "" : ": " + s.error().message), s.ok());
    if (!s) return tenantError(s.error());
    return Response::json(200, json{{"success", true}, {"pluginId", pluginId}, {"tenantId", tenantId}, {"dataKept", keepData}}.dump());
  });

  router.add("POST", "/tenants/{tenantId}/tokens", [&host, admin, actor](Request& req) {
    if (auto refused = admin(req)) return *refused;
    auto parsed = objectBody(req, R"({"name": "<what the token is for>"})");
    if (auto* r = std::get_if<Response>(&parsed)) return *r;
    json& body = std::get<json>(parsed);
    const std::string& tenantId = req.params["tenantId"];
    std::string name = body.value("name", "tenant " + tenantId);
    auto made = host.tenants().createToken(tenantId, name);
    host.audit(actor(req), "tenant token", "", "tenant " + tenantId + ": " + name, made.ok());
    if (!made) return tenantError(made.error());
    return Response::json(201, json{{"token", made->second}, {"name", made->first.name}, {"scopes", made->first.scopes}}.dump());
  });

  // A tenant's plugin routes: for an administrator or that tenant's tokens.
  // Answered when the plugin has answered; no IO thread waits for it. The
  // body limit is the plugin's (an administrator's setting applies to every
  // tenant's copy).
  router.addAsync(
      "*", "/api/tenants/{tenantId}/plugins/{pluginId}/{rest...}",
      [&host](Request& req, http::Responder done) {
        const std::string &tenantId = req.params["tenantId"], &pluginId = req.params["pluginId"];
        if (auto refused = host_routes::refuseWithout(host, req, "tenant:" + tenantId, "This token may not use tenant \"" + tenantId + "\"'s plugins")) {
          return done.send(errorResponse(refused->status, refused->message));
        }
        auto token = host_routes::bearer(host, req);
        json user = host_routes::tokenUser(*token);
        user["tenant"] = tenantId;
        host.tenants().handleRequest(tenantId, pluginId, host_routes::pluginRequest(req, user.dump()), [done](Result<PluginResponse> res) {
          if (!res) return done.send(errorResponse(res.error().kind == ErrorKind::kNotFound ? 404 : 503, res.error().message));
          done.send(host_routes::httpResponse(std::move(*res)));
        });
      },
      {.decide = [&host](const Request& head) { return host.runtime().bodyLimit(head.params.at("pluginId")); }});
}

}  // namespace patchbay
