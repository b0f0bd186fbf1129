// Administrators over users: Sodium's /api/admin/users (patchbay/panel.h).
#include <nlohmann/json.hpp>

#include "panel/panel_impl.h"
#include "patchbay/json.h"

namespace patchbay::panel {

void addAdminUserRoutes(Panel& panel, Panel::Impl& impl, http::Router& router) {
  Panel* p = &panel;
  Panel::Impl* m = &impl;
  // The administrator calling, or Sodium's 401/403.
  auto administrator = [p, m](const Request& request) { return m->administrator(*p, request); };

  router.add("GET", "/api/admin/users", [m, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    auto users = m->accounts->listUsers(request.queryOr("search"));
    if (!users) return accountError(users.error());
    const size_t perPage = queryNumber(request, "per_page", 10, 100);
    const size_t total = users->size(), pages = (total + perPage - 1) / perPage;
    const size_t page = std::min(queryNumber(request, "page", 1, 1000000), std::max<size_t>(pages, 1));
    json list = json::array();
    for (size_t i = (page - 1) * perPage; i < total && i < page * perPage; ++i) list.push_back(userObject((*users)[i]));
    json out = {{"users", list}, {"meta", {{"current_page", page}, {"per_page", perPage}, {"total", total}, {"total_pages", pages}}}};
    return Response::json(200, out.dump()).set("Cache-Control", "no-store");
  });

  router.addAsync("POST", "/api/admin/users", [m, administrator](Request& request, Responder done) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return done.send(std::move(*refusal));
    json body = parseJsonOrDiscarded<json>(request.body);
    const json user = body.is_object() && body.contains("user") && body["user"].is_object() ? body["user"] : json::object();
    NewUser wanted;
    for (auto [key, field] : {std::pair{"username", &wanted.username}, std::pair{"password", &wanted.password}, std::pair{"email", &wanted.email}}) {
      if (user.contains(key) && user[key].is_string()) *field = user[key].get<std::string>();
    }
    wanted.admin = user.contains("isAdmin") && user["isAdmin"].is_boolean() && user["isAdmin"].get<bool>();
    if (!m->hashing.post([m, done, wanted] {
          auto made = m->accounts->registerUser(wanted);
          if (!made) return done.send(accountError(made.error()));
          m->savedUser(*made, "insert");
          done.send(Response::json(200, json{{"success", true}, {"user", userObject(*made)}}.dump()));
        })) {
      done.send(errorJson(503, "Too many sign-ins at once; try again in a moment").set("Retry-After", "1"));
    }
  }, {.maxBodyBytes = kMaxAuthBody, .decide = {}});

  router.add("PUT", "/api/admin/users/{id}", [m, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    json body = parseJsonOrDiscarded<json>(request.body);
    const json updates = body.is_object() && body.contains("updates") && body["updates"].is_object() ? body["updates"] : json::object();
    std::optional<Role> role;
    if (updates.contains("isAdmin") && updates["isAdmin"].is_boolean()) role = updates["isAdmin"].get<bool>() ? Role::kAdmin : Role::kUser;
    if (updates.contains("role") && updates["role"].is_string()) {
      const std::string named = updates["role"];
      if (named == "admin") role = Role::kAdmin;
      else if (named == "user") role = Role::kUser;
      else return errorJson(400, "role must be \"user\" or \"admin\"");
    }
    const std::string& id = request.params["id"];
    if (!role) {
      auto user = m->accounts->findUser(id);
      if (!user) return errorJson(404, "User not found");
      return Response::json(200, json{{"success", true}, {"user", userObject(*user)}}.dump());
    }
    // An administrator who demoted themselves could leave the panel with none.
    if (id == std::get<User>(admin).id && *role != Role::kAdmin) return errorJson(400, "Cannot remove your own admin role");
    auto user = m->accounts->setRole(id, *role);
    if (!user) return accountError(user.error());
    m->savedUser(*user, "update");
    m->live.recheckSessions();
    return Response::json(200, json{{"success", true}, {"user", userObject(*user)}}.dump());
  }, {.maxBodyBytes = kMaxAuthBody, .decide = {}});

  router.add("DELETE", "/api/admin/users/{id}", [m, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    const std::string& id = request.params["id"];
    if (id == std::get<User>(admin).id) return errorJson(400, "Cannot delete your own account");
    auto user = m->accounts->findUser(id);
    if (!user) return errorJson(404, "User not found");
    // Their servers go first (Sodium's order): a user never owns a server that outlives them.
    auto servers = m->fleet->deleteServersOf(id);
    if (!servers) return errorJson(500, "Could not delete the user's servers: " + servers.error().message);
    if (auto s = m->accounts->deleteUser(id); !s) return accountError(s.error());
    m->savedUser(*user, "delete");
    m->live.recheckSessions();
    json results = json::array();
    for (const auto& s : *servers) {
      results.push_back({{"id", s.id}, {"name", s.name}, {"success", true}});
      m->hooks.after("server:onDelete", json{{"server", serverObject(s, nullptr)}, {"user", requestUserObject(std::get<User>(admin))}});
    }
    return Response::json(200, json{{"success", true}, {"deletedServers", servers->size()}, {"results", results}}.dump());
  });

  // The panel's settings: whether anyone may register (Sodium's registration.enabled).
  router.add("GET", "/api/admin/settings", [p, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    return Response::json(200, json{{"registrationOpen", p->registrationOpen()}}.dump()).set("Cache-Control", "no-store");
  });
  router.add("PUT", "/api/admin/settings", [p, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    json body = parseJsonOrDiscarded<json>(request.body);
    if (!body.is_object() || !body.contains("registrationOpen") || !body["registrationOpen"].is_boolean()) {
      return errorJson(400, "The body must be {\"registrationOpen\": true|false}");
    }
    if (auto s = p->setRegistrationOpen(body["registrationOpen"].get<bool>()); !s) return errorJson(500, s.error().message);
    return Response::json(200, json{{"success", true}, {"registrationOpen", p->registrationOpen()}}.dump());
  }, {.maxBodyBytes = kMaxAuthBody, .decide = {}});

  router.add("DELETE", "/api/admin/users/{id}/sessions", [m, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    const std::string& id = request.params["id"];
    if (!m->accounts->findUser(id)) return errorJson(404, "User not found");
    auto ended = m->accounts->endOtherSessions(id, "");
    if (!ended) return accountError(ended.error());
    m->live.recheckSessions();
    return Response::json(200, json{{"success", true}, {"revoked", *ended}}.dump());
  });
}

}  // namespace patchbay::panel
