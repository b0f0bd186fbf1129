// What the UI's sidebar and admin tabs show (GET /api/panel/navigation):
// the panel's own items with stable ids, then seed 004's sidebar:items and
// admin:tabs hooks, whose handlers may add, move or remove items.
#include "panel/panel_impl.h"

namespace patchbay::panel {

namespace {

json item(const char* id, const char* label, const char* path, const char* icon) {
  return {{"id", id}, {"label", label}, {"path", path}, {"icon", icon}};
}

json sidebarFor(const User& user) {
  json items = json::array({item("dashboard", "Dashboard", "/", "home"), item("servers", "Servers", "/servers", "server"),
                            item("profile", "Profile", "/profile", "user")});
  if (user.isAdmin()) {
    for (json i : {item("admin.overview", "Overview", "/admin", "gauge"), item("admin.users", "Users", "/admin/users", "users"),
                   item("admin.nodes", "Nodes", "/admin/nodes", "node"), item("admin.servers", "All servers", "/admin/servers", "server"),
                   item("admin.plugins", "Plugins", "/admin/plugins", "plug"), item("admin.marketplace", "Marketplace", "/admin/marketplace", "store"),
                   item("admin.audit", "Audit log", "/admin/audit", "list")}) {
      i["section"] = "admin";
      items.push_back(std::move(i));
    }
  }
  return items;
}

json adminTabs() {
  return json::array({item("overview", "Overview", "/admin", "gauge"), item("users", "Users", "/admin/users", "users"),
                      item("nodes", "Nodes", "/admin/nodes", "node"), item("servers", "All servers", "/admin/servers", "server"),
                      item("plugins", "Plugins", "/admin/plugins", "plug"), item("marketplace", "Marketplace", "/admin/marketplace", "store"),
                      item("audit", "Audit log", "/admin/audit", "list")});
}

// The list under `key` in a chain's final context, or `fallback`.
json listIn(const std::string& contextText, const char* key, const json& fallback) {
  const json context = parseJsonOrDiscarded<json>(contextText);
  return context.is_object() && context.contains(key) ? context[key] : fallback;
}

// What a handler left, kept only where it is an item the UI can show:
// {id, label, path} strings, the path inside the panel.
json usable(const json& list, const json& fallback) {
  if (!list.is_array()) return fallback;
  json out = json::array();
  for (const auto& i : list) {
    if (!i.is_object()) continue;
    const auto text = [&](const char* key) { return i.contains(key) && i[key].is_string() ? i[key].get<std::string>() : std::string(); };
    const std::string id = text("id"), label = text("label"), path = text("path");
    if (id.empty() || label.empty() || !path.starts_with("/") || path.starts_with("//")) continue;
    json kept = {{"id", id}, {"label", label}, {"path", path}, {"icon", text("icon")}};
    if (!text("section").empty()) kept["section"] = text("section");
    if (!text("plugin").empty()) kept["plugin"] = text("plugin");
    out.push_back(std::move(kept));
  }
  return out;
}

}  // namespace

void addNavigationRoute(Panel& panel, Panel::Impl& impl, http::Router& router) {
  Panel* p = &panel;
  Panel::Impl* m = &impl;
  router.addAsync("GET", "/api/panel/navigation", [p, m](Request& request, Responder done) {
    auto who = m->authenticate(*p, request);
    if (auto* refusal = std::get_if<Response>(&who)) return done.send(std::move(*refusal));
    const User user = std::get<Caller>(who).user;
    if (!m->hooks.awaiting([m, done, user] {
          const json sidebar = sidebarFor(user);
          HookResult items = m->hooks.await("sidebar:items", json{{"items", sidebar}, {"user", requestUserObject(user)}});
          json out = {{"sidebar", usable(listIn(items.context, "items", sidebar), sidebar)}};
          if (user.isAdmin()) {
            const json tabs = adminTabs();
            HookResult changed = m->hooks.await("admin:tabs", json{{"tabs", tabs}, {"user", requestUserObject(user)}});
            out["adminTabs"] = usable(listIn(changed.context, "tabs", tabs), tabs);
          } else {
            out["adminTabs"] = json::array();
          }
          out["registrationOpen"] = m->registrationOpen.load();
          done.send(Response::json(200, out.dump()).set("Cache-Control", "no-store"));
        })) {
      done.send(errorJson(503, "Too many requests wait for plugins; try again in a moment").set("Retry-After", "1"));
    }
  });
}

}  // namespace patchbay::panel
