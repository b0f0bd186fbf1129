// Servers under Sodium's /api/servers, and administrators' servers and
// nodes under /api/admin/ (patchbay/panel.h), with their hook points.
#include <nlohmann/json.hpp>

#include "panel/panel_impl.h"
#include "patchbay/json.h"

namespace patchbay::panel {

namespace {

// A Fleet error as the API answers it.
Response fleetError(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kInvalidInput: return errorJson(400, e.message);
    case ErrorKind::kNotFound: return errorJson(404, e.message);
    case ErrorKind::kConflict: return errorJson(409, e.message);
    case ErrorKind::kUnavailable: return unavailableJson(e.message);
    default: return errorJson(500, e.message);
  }
}

// A whole number in the body: a JSON number or a numeric string (forms send
// strings), else `fallback` when absent; an error names the field.
std::variant<int64_t, Response> bodyNumber(const json& body, const char* key, int64_t fallback) {
  if (!body.contains(key) || body[key].is_null() || (body[key].is_string() && body[key].get<std::string>().empty())) return fallback;
  const json& v = body[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    const std::string text = v.get<std::string>();
    int64_t n = 0;
    bool ok = !text.empty() && text.size() < 12;
    for (char c : text) ok = ok && c >= '0' && c <= '9';
    if (ok) {
      for (char c : text) n = n * 10 + (c - '0');
      return n;
    }
  }
  return errorJson(400, std::string(key) + " must be a whole number");
}

std::string bodyText(const json& body, const char* key) {
  return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string();
}

// The server `id` if `user` may see it: their own, or any for an administrator.
// Another's answers as a missing one would: 404, saying nothing of it.
std::variant<Server, Response> visibleServer(Fleet& fleet, const User& user, const std::string& id) {
  auto server = fleet.findServer(id);
  if (!server || (server->ownerId != user.id && !user.isAdmin())) return errorJson(404, "Server not found");
  return *server;
}

json serverWithNode(Fleet& fleet, const Server& s) {
  auto node = fleet.findNode(s.nodeId);
  return serverObject(s, node ? &*node : nullptr);
}

}  // namespace

void addServerRoutes(Panel& panel, Panel::Impl& impl, http::Router& router) {
  Panel* p = &panel;
  Panel::Impl* m = &impl;
  auto signedIn = [p, m](const Request& request) -> std::variant<User, Response> {
    auto who = m->authenticate(*p, request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    return std::get<Caller>(who).user;
  };
  const http::RouteOptions small{.maxBodyBytes = 16 << 10, .decide = {}};

  router.add("GET", "/api/servers", [m, signedIn](Request& request) {
    auto who = signedIn(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    const auto nodes = m->fleet->nodes();
    json list = json::array();
    for (const auto& s : m->fleet->servers(std::get<User>(who).id)) {
      const Node* node = nullptr;
      for (const auto& n : nodes) node = n.id == s.nodeId ? &n : node;
      json one = serverObject(s, node);
      one["is_owner"] = true;
      list.push_back(std::move(one));
    }
    return Response::json(200, json{{"servers", list}}.dump()).set("Cache-Control", "no-store");
  });

  router.addAsync("POST", "/api/servers", [m, signedIn](Request& request, Responder done) {
    auto who = signedIn(request);
    if (auto* refusal = std::get_if<Response>(&who)) return done.send(std::move(*refusal));
    const User user = std::get<User>(who);
    json body = parseJsonOrDiscarded<json>(request.body);
    if (!body.is_object()) return done.send(errorJson(400, "The body must be a JSON object: {\"name\": \"...\", \"memory\": 512, \"disk\": 1024, \"cpu\": 100}"));
    NewServer wanted{bodyText(body, "name"), bodyText(body, "description"), user.id, bodyText(body, "node_id"), {}};
    if (wanted.nodeId.empty()) wanted.nodeId = bodyText(body, "node");
    for (auto [key, field, fallback] : {std::tuple{"memory", &wanted.limits.memory, int64_t{512}},
                                        std::tuple{"disk", &wanted.limits.disk, int64_t{1024}},
                                        std::tuple{"cpu", &wanted.limits.cpu, int64_t{100}}}) {
      auto n = bodyNumber(body, key, fallback);
      if (auto* refusal = std::get_if<Response>(&n)) return done.send(std::move(*refusal));
      *field = std::get<int64_t>(n);
    }
    // Checked before plugins are asked: they decide over a server that could be made.
    auto planned = m->fleet->planServer(wanted);
    if (!planned) return done.send(fleetError(planned.error()));
    // server:beforeCreate is awaited (a plugin may deny): on a hook worker, not this thread.
    if (!m->hooks.awaiting([m, done, user, wanted, node = planned->nodeId] {
          json context = {{"user", requestUserObject(user)}, {"name", wanted.name}, {"node", node},
                          {"description", wanted.description},
                          {"limits", {{"memory", wanted.limits.memory}, {"disk", wanted.limits.disk}, {"cpu", wanted.limits.cpu}}}};
          HookResult verdict = m->hooks.await("server:beforeCreate", context);
          if (!verdict.allowed) return done.send(errorJson(403, verdict.reason.empty() ? "Server creation was denied by a plugin" : verdict.reason));
          NewServer placed = wanted;
          placed.nodeId = node;
          auto server = m->fleet->createServer(placed);
          if (!server) return done.send(fleetError(server.error()));
          json made = serverWithNode(*m->fleet, *server);
          done.send(Response::json(200, json{{"success", true}, {"server", made}}.dump()));
          m->hooks.after("server:onCreate", json{{"server", made}, {"user", requestUserObject(user)}});
        })) {
      done.send(errorJson(503, "Too many requests wait for plugins; try again in a moment").set("Retry-After", "1"));
    }
  }, small);

  router.add("GET", "/api/servers/{id}", [m, signedIn](Request& request) {
    auto who = signedIn(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    auto server = visibleServer(*m->fleet, std::get<User>(who), request.params["id"]);
    if (auto* refusal = std::get_if<Response>(&server)) return std::move(*refusal);
    const Server& s = std::get<Server>(server);
    auto usage = m->fleet->usage(s.id);
    json log = json::array();
    for (const auto& line : m->fleet->log(s.id)) log.push_back({{"at", line.at}, {"text", line.text}});
    json out = {{"server", serverWithNode(*m->fleet, s)}, {"usage", usage ? usageObject(*usage) : json(nullptr)}, {"log", log}};
    return Response::json(200, out.dump()).set("Cache-Control", "no-store");
  });

  router.add("PUT", "/api/servers/{id}/details", [m, signedIn](Request& request) {
    auto who = signedIn(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    auto server = visibleServer(*m->fleet, std::get<User>(who), request.params["id"]);
    if (auto* refusal = std::get_if<Response>(&server)) return std::move(*refusal);
    json body = parseJsonOrDiscarded<json>(request.body);
    if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) return errorJson(400, "Server name is required");
    auto updated = m->fleet->updateDetails(request.params["id"], bodyText(body, "name"), bodyText(body, "description"));
    if (!updated) return fleetError(updated.error());
    return Response::json(200, json{{"success", true}, {"server", serverWithNode(*m->fleet, *updated)}}.dump());
  }, small);

  router.add("POST", "/api/servers/{id}/power", [m, signedIn](Request& request) {
    auto who = signedIn(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    json body = parseJsonOrDiscarded<json>(request.body);
    auto action = powerActionNamed(body.is_object() ? bodyText(body, "action") : "");
    if (!action) return errorJson(400, "Invalid action");
    const User& user = std::get<User>(who);
    auto server = visibleServer(*m->fleet, user, request.params["id"]);
    if (auto* refusal = std::get_if<Response>(&server)) return std::move(*refusal);
    auto now = m->fleet->power(request.params["id"], *action);
    if (!now) return fleetError(now.error());
    json current = serverWithNode(*m->fleet, *now);
    if (m->hooks.listens("server:onStatusChange")) {
      m->hooks.after("server:onStatusChange", json{{"server", current}, {"action", actionName(*action)}, {"user", requestUserObject(user)}});
    }
    return Response::json(200, json{{"success", true}, {"server", current}}.dump());
  }, small);

  router.add("DELETE", "/api/servers/{id}", [m, signedIn](Request& request) {
    auto who = signedIn(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    const User& user = std::get<User>(who);
    auto server = visibleServer(*m->fleet, user, request.params["id"]);
    if (auto* refusal = std::get_if<Response>(&server)) return std::move(*refusal);
    json before = serverWithNode(*m->fleet, std::get<Server>(server));
    auto gone = m->fleet->deleteServer(request.params["id"]);
    if (!gone) return fleetError(gone.error());
    m->hooks.after("server:onDelete", json{{"server", before}, {"user", requestUserObject(user)}});
    return Response::json(200, R"({"success":true})");
  });
}

void addAdminFleetRoutes(Panel& panel, Panel::Impl& impl, http::Router& router) {
  Panel* p = &panel;
  Panel::Impl* m = &impl;
  auto administrator = [p, m](const Request& request) { return m->administrator(*p, request); };
  const http::RouteOptions small{.maxBodyBytes = 16 << 10, .decide = {}};

  router.add("GET", "/api/admin/servers", [m, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    const auto servers = m->fleet->servers();
    const auto nodes = m->fleet->nodes();
    const size_t perPage = queryNumber(request, "per_page", 10, 100);
    const size_t total = servers.size(), pages = (total + perPage - 1) / perPage;
    const size_t page = std::min(queryNumber(request, "page", 1, 1000000), std::max<size_t>(pages, 1));
    json list = json::array();
    for (size_t i = (page - 1) * perPage; i < total && i < page * perPage; ++i) {
      const Server& s = servers[i];
      const Node* node = nullptr;
      for (const auto& n : nodes) node = n.id == s.nodeId ? &n : node;
      json one = serverObject(s, node);
      auto owner = m->accounts->findUser(s.ownerId);
      one["owner_username"] = owner ? json(owner->username) : json(nullptr);
      list.push_back(std::move(one));
    }
    json out = {{"servers", list}, {"meta", {{"current_page", page}, {"per_page", perPage}, {"total", total}, {"total_pages", pages}}}};
    return Response::json(200, out.dump()).set("Cache-Control", "no-store");
  });

  router.add("DELETE", "/api/admin/servers/{id}", [m, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    auto found = m->fleet->findServer(request.params["id"]);
    if (!found) return errorJson(404, "Server not found");
    json before = serverWithNode(*m->fleet, *found);
    auto gone = m->fleet->deleteServer(found->id);
    if (!gone) return fleetError(gone.error());
    m->hooks.after("server:onDelete", json{{"server", before}, {"user", requestUserObject(std::get<User>(admin))}});
    return Response::json(200, R"({"success":true})");
  });

  router.add("GET", "/api/admin/nodes", [m, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    const auto servers = m->fleet->servers();
    json list = json::array();
    for (const auto& n : m->fleet->nodes()) {
      json one = nodeObject(n);
      int64_t count = 0, memory = 0, disk = 0;
      for (const auto& s : servers) {
        if (s.nodeId != n.id) continue;
        ++count;
        memory += s.limits.memory;
        disk += s.limits.disk;
      }
      one["servers"] = count;
      one["allocated_memory"] = memory;
      one["allocated_disk"] = disk;
      list.push_back(std::move(one));
    }
    return Response::json(200, json{{"nodes", list}}.dump()).set("Cache-Control", "no-store");
  });

  // {node: {name, location, memory, disk}} (Sodium's), or the fields at the top.
  auto nodeFields = [](const Request& request) -> std::variant<NodeFields, Response> {
    json body = parseJsonOrDiscarded<json>(request.body);
    if (!body.is_object()) return errorJson(400, "The body must be a JSON object: {\"node\": {\"name\": \"...\", \"memory\": 16384, \"disk\": 102400}}");
    for (const char* wrapper : {"node", "updates"}) {
      if (body.contains(wrapper) && body[wrapper].is_object()) body = json(body[wrapper]);
    }
    NodeFields fields;
    for (auto [key, field] : {std::pair{"name", &fields.name}, std::pair{"location", &fields.location}}) {
      if (!body.contains(key)) continue;
      if (!body[key].is_string()) return errorJson(400, std::string(key) + " must be a string");
      *field = body[key].get<std::string>();
    }
    for (auto [key, field] : {std::pair{"memory", &fields.memory}, std::pair{"disk", &fields.disk}}) {
      if (!body.contains(key)) continue;
      auto n = bodyNumber(body, key, 0);
      if (auto* refusal = std::get_if<Response>(&n)) return std::move(*refusal);
      *field = std::get<int64_t>(n);
    }
    return fields;
  };

  router.add("POST", "/api/admin/nodes", [m, administrator, nodeFields](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    auto fields = nodeFields(request);
    if (auto* refusal = std::get_if<Response>(&fields)) return std::move(*refusal);
    auto node = m->fleet->createNode(std::get<NodeFields>(fields));
    if (!node) return fleetError(node.error());
    return Response::json(200, json{{"success", true}, {"node", nodeObject(*node)}}.dump());
  }, small);

  router.add("PUT", "/api/admin/nodes/{id}", [m, administrator, nodeFields](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    auto fields = nodeFields(request);
    if (auto* refusal = std::get_if<Response>(&fields)) return std::move(*refusal);
    auto node = m->fleet->updateNode(request.params["id"], std::get<NodeFields>(fields));
    if (!node) return fleetError(node.error());
    return Response::json(200, json{{"success", true}, {"node", nodeObject(*node)}}.dump());
  }, small);

  router.add("DELETE", "/api/admin/nodes/{id}", [m, administrator](Request& request) {
    auto admin = administrator(request);
    if (auto* refusal = std::get_if<Response>(&admin)) return std::move(*refusal);
    if (auto s = m->fleet->deleteNode(request.params["id"]); !s) return fleetError(s.error());
    return Response::json(200, R"({"success":true})");
  });
}

}  // namespace patchbay::panel
