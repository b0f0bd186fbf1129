// Seed 003's management endpoints and the registry's admin API: edits,
// review, yank/erase, tokens, the review queue and the audit log.
#include <variant>

#include "registry/service_util.h"

namespace patchbay::service {

namespace {

std::optional<std::string> optionalString(const nlohmann::json& body, const char* field, std::string& error) {
  if (!body.contains(field) || body[field].is_null()) return std::nullopt;
  if (!body[field].is_string()) {
    error = std::string(field) + " must be a string";
    return std::nullopt;
  }
  return body[field].get<std::string>();
}

bool forced(const Request& req) {
  std::string f = req.queryOr("force");
  return f == "true" || f == "1";
}

json tokenJson(const TokenInfo& t) {
  return {{"id", t.id},           {"name", t.name},          {"scopes", t.scopes},         {"created_at", t.createdAt},
          {"expires_at", t.expiresAt}, {"last_used_at", t.lastUsedAt}, {"revoked", t.revoked}};
}

}  // namespace

void addManagementRoutes(Registry& reg, http::Router& router) {
  // PUT /api/plugins/{id}: {"description", "category", "status", "reason"}
  router.add("PUT", "/api/plugins/{id}", [&reg](Request& req) {
    const char* route = "/api/plugins/{id}";
    const std::string id = req.params["id"];
    if (auto bad = badId(id)) return *bad;
    TokenInfo who;
    if (auto refused = refuseUnless(reg, req, "publish", "edit a plugin", route, &who)) return *refused;
    auto body = jsonBody(req);
    if (auto* bad = std::get_if<Response>(&body)) return withRoute(std::move(*bad), route);
    const auto& b = std::get<nlohmann::json>(body);
    for (const auto& [key, value] : b.items()) {
      if (key != "description" && key != "category" && key != "status" && key != "reason") {
        return withRoute(Response::error(400, "invalid_input", "unknown field \"" + key + "\": use description, category, status, reason"), route);
      }
    }
    std::string error;
    PluginUpdate u;
    u.description = optionalString(b, "description", error);
    u.category = optionalString(b, "category", error);
    u.status = optionalString(b, "status", error);
    u.reason = optionalString(b, "reason", error).value_or("");
    if (!error.empty()) return withRoute(Response::error(400, "invalid_input", error), route);
    auto updated = reg.updatePlugin(id, u, who);
    if (!updated) return withRoute(errorResponse(updated.error()), route);
    json versions = json::array();
    for (const auto& r : *updated) versions.push_back(versionJson(reg, r));
    return withRoute(Response::json(200, json{{"id", id}, {"versions", versions}}.dump()), route);
  });

  // DELETE /api/plugins/{id}[?force=true]: yanks every version, or erases them.
  router.add("DELETE", "/api/plugins/{id}", [&reg](Request& req) {
    const char* route = "/api/plugins/{id}";
    const std::string id = req.params["id"];
    if (auto bad = badId(id)) return *bad;
    TokenInfo who;
    if (auto refused = refuseUnless(reg, req, "admin", "delete a plugin", route, &who)) return *refused;
    const bool erase = forced(req);
    auto n = erase ? reg.erase(id, std::nullopt, who) : reg.yank(id, std::nullopt, req.queryOr("reason"), who);
    if (!n) return withRoute(errorResponse(n.error()), route);
    return withRoute(Response::json(200, json{{"id", id}, {erase ? "erased" : "yanked", *n}}.dump()), route);
  });

  router.add("DELETE", "/api/plugins/{id}/{version}", [&reg](Request& req) {
    const char* route = "/api/plugins/{id}/{version}";
    const std::string id = req.params["id"];
    if (auto bad = badId(id)) return *bad;
    auto v = Version::parse(req.params["version"]);
    if (!v) return withRoute(Response::error(400, "invalid_version", v.error().message), route);
    TokenInfo who;
    if (auto refused = refuseUnless(reg, req, "admin", "delete a version", route, &who)) return *refused;
    const bool erase = forced(req);
    auto n = erase ? reg.erase(id, *v, who) : reg.yank(id, *v, req.queryOr("reason"), who);
    if (!n) return withRoute(errorResponse(n.error()), route);
    return withRoute(Response::json(200, json{{"id", id}, {"version", v->toString()}, {erase ? "erased" : "yanked", *n}}.dump()), route);
  });

  // POST /api/plugins/{id}/{version}/review: {"status", "reason"}
  router.add("POST", "/api/plugins/{id}/{version}/review", [&reg](Request& req) {
    const char* route = "/api/plugins/{id}/{version}/review";
    const std::string id = req.params["id"];
    if (auto bad = badId(id)) return *bad;
    auto v = Version::parse(req.params["version"]);
    if (!v) return withRoute(Response::error(400, "invalid_version", v.error().message), route);
    TokenInfo who;
    if (auto refused = refuseUnless(reg, req, "review", "review", route, &who)) return *refused;
    auto body = jsonBody(req);
    if (auto* bad = std::get_if<Response>(&body)) return withRoute(std::move(*bad), route);
    const auto& b = std::get<nlohmann::json>(body);
    std::string error;
    auto status = optionalString(b, "status", error);
    auto reason = optionalString(b, "reason", error);
    if (!error.empty() || !status) return withRoute(Response::error(400, "invalid_input", error.empty() ? "status is required" : error), route);
    auto reviewed = reg.review(id, *v, *status, reason.value_or(""), who);
    if (!reviewed) return withRoute(errorResponse(reviewed.error()), route);
    return withRoute(Response::json(200, versionJson(reg, *reviewed).dump()), route);
  });

  router.add("GET", "/api/admin/review-queue", [&reg](Request& req) {
    const char* route = "/api/admin/review-queue";
    if (auto refused = refuseUnless(reg, req, "review", "see the review queue", route)) return *refused;
    json items = json::array();
    for (const auto& r : reg.reviewQueue()) {
      json j = versionJson(reg, r);
      j["readme"] = r.readme;
      items.push_back(std::move(j));
    }
    return withRoute(Response::json(200, json{{"pending", items}}.dump()), route);
  });

  router.add("GET", "/api/admin/events", [&reg](Request& req) {
    const char* route = "/api/admin/events";
    if (auto refused = refuseUnless(reg, req, "admin", "read the audit log", route)) return *refused;
    json items = json::array();
    for (const auto& e : reg.events()) {
      items.push_back({{"id", e.id}, {"at", e.at}, {"actor", e.actor}, {"action", e.action}, {"plugin_id", e.pluginId},
                       {"version", e.version}, {"detail", e.detail}});
    }
    return withRoute(Response::json(200, json{{"events", items}}.dump()), route);
  });

  router.add("GET", "/api/admin/tokens", [&reg](Request& req) {
    const char* route = "/api/admin/tokens";
    if (auto refused = refuseUnless(reg, req, "admin", "list tokens", route)) return *refused;
    json items = json::array();
    for (const auto& t : reg.listTokens()) items.push_back(tokenJson(t));
    return withRoute(Response::json(200, json{{"tokens", items}}.dump()), route);
  });

  // POST /api/admin/tokens: {"name", "scopes": [...], "expires_at"} -> the
  // token with its secret, shown this once.
  router.add("POST", "/api/admin/tokens", [&reg](Request& req) {
    const char* route = "/api/admin/tokens";
    TokenInfo who;
    if (auto refused = refuseUnless(reg, req, "admin", "create tokens", route, &who)) return *refused;
    auto body = jsonBody(req);
    if (auto* bad = std::get_if<Response>(&body)) return withRoute(std::move(*bad), route);
    const auto& b = std::get<nlohmann::json>(body);
    if (!b.contains("name") || !b["name"].is_string()) return withRoute(Response::error(400, "invalid_input", "name (a string) is required"), route);
    std::vector<std::string> scopes;
    if (!b.contains("scopes") || !b["scopes"].is_array()) {
      return withRoute(Response::error(400, "invalid_input", "scopes (an array of publish, review, admin) is required"), route);
    }
    for (const auto& s : b["scopes"]) {
      if (!s.is_string()) return withRoute(Response::error(400, "invalid_input", "scopes must be strings"), route);
      scopes.push_back(s.get<std::string>());
    }
    std::string error;
    std::string expires = optionalString(b, "expires_at", error).value_or("");
    if (!error.empty()) return withRoute(Response::error(400, "invalid_input", error), route);
    auto created = reg.createToken(b["name"].get<std::string>(), scopes, expires, who.name);
    if (!created) return withRoute(errorResponse(created.error()), route);
    json j = tokenJson(created->first);
    j["token"] = created->second;
    return withRoute(Response::json(201, j.dump()), route);
  });

  router.add("DELETE", "/api/admin/tokens/{tokenId}", [&reg](Request& req) {
    const char* route = "/api/admin/tokens/{tokenId}";
    TokenInfo who;
    if (auto refused = refuseUnless(reg, req, "admin", "revoke tokens", route, &who)) return *refused;
    const std::string& raw = req.params["tokenId"];
    if (raw.empty() || raw.size() > 18 || raw.find_first_not_of("0123456789") != std::string::npos) {
      return withRoute(Response::error(400, "invalid_input", "a token id is a number, as GET /api/admin/tokens lists them"), route);
    }
    if (auto s = reg.revokeToken(std::stoll(raw), who.name); !s) return withRoute(errorResponse(s.error()), route);
    return withRoute(Response::json(200, json{{"id", std::stoll(raw)}, {"revoked", true}}.dump()), route);
  });

  // Problems with drop-in files: for admins, and for local clients (the
  // operator on the machine) without a token.
  router.add("GET", "/api/admin/status", [&reg](Request& req) {
    const char* route = "/api/admin/status";
    const bool local = req.remoteAddress == "127.0.0.1" || req.remoteAddress == "::1";
    if (!local || !req.header("Authorization").empty()) {
      if (auto refused = refuseUnless(reg, req, "admin", "read the admin status", route)) return *refused;
    }
    json problems = json::array();
    for (const auto& p : reg.folderProblems()) problems.push_back({{"file", p.file}, {"message", p.message}});
    return withRoute(Response::json(200, json{{"folder_problems", problems}, {"pending_reviews", reg.reviewQueue().size()}}.dump()), route);
  });
}

}  // namespace patchbay::service
