#include "patchbay/json.h"
#include "patchbay/panel_service.h"

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "patchbay/files.h"
#include "patchbay/store.h"
#include "patchbay/tokens.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using http::Request;
using http::Response;

struct PanelService::Impl {
  PanelLayout layout;
  SourceConfig source;
  std::string stateDir;
  std::unique_ptr<PanelInstaller> installer;
  std::mutex dbMutex;
  std::optional<Database> tokens;

  // nullopt when the caller is an administrator, else the refusal.
  std::optional<Response> refuse(const Request& req) {
    std::string auth = req.header("Authorization");
    if (!auth.starts_with("Bearer ")) {
      Response r = Response::json(401, json{{"detail", "Authentication required: Authorization: Bearer <admin token>"}}.dump());
      r.set("WWW-Authenticate", "Bearer");
      return r;
    }
    std::lock_guard lock(dbMutex);
    auto token = tokens::authenticate(*tokens, std::string_view(auth).substr(7));
    if (!token) return Response::json(401, json{{"detail", "The token is unknown, revoked or expired"}}.dump());
    if (!token->hasScope("admin")) return Response::json(403, json{{"detail", "Admin access required"}}.dump());
    return std::nullopt;
  }
};

namespace {

// Seed 002's backend (FastAPI) answers errors as {"detail": "..."}.
Response detail(int status, const std::string& message) { return Response::json(status, json{{"detail", message}}.dump()); }

}  // namespace

PanelService::PanelService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PanelService::~PanelService() = default;

Result<std::unique_ptr<PanelService>> PanelService::open(const PanelLayout& layout, const SourceConfig& source) {
  auto impl = std::make_unique<Impl>();
  impl->layout = layout;
  impl->source = source;
  auto installer = PanelInstaller::open(layout);
  if (!installer) return installer.error();
  impl->installer = std::move(*installer);
  impl->stateDir = (fs::path(layout.registryFile).parent_path() / ".patchbay-install").string();
  auto db = Database::open(impl->stateDir + "/tokens.db");
  if (!db) return db.error();
  if (auto s = tokens::ensureSchema(*db); !s) return s.error();
  impl->tokens.emplace(std::move(*db));
  if (tokens::list(*impl->tokens).empty()) {
    auto first = tokens::create(*impl->tokens, "admin", {"admin"}, {"admin"}, "");
    if (!first) return first.error();
    if (auto s = writeFileAtomically(impl->stateDir + "/admin-token", first->second + "\n", 0600); !s) return s.error();
  }
  return std::unique_ptr<PanelService>(new PanelService(std::move(impl)));
}

std::string PanelService::adminTokenPath() const { return impl_->stateDir + "/admin-token"; }

void PanelService::addRoutes(http::Router& router) {
  Impl& m = *impl_;
  router.add("GET", "/api/v1/marketplace", [&m](Request& req) {
    if (auto refused = m.refuse(req)) return *refused;
    auto source = openSource(m.source, m.stateDir);
    if (!source) return detail(400, source.error().message);
    auto available = (*source)->available();
    if (!available) return detail(502, available.error().message);
    json installed = json::object();
    for (const auto& a : m.installer->installed()) installed[a.id] = a.version;
    json list = json::array();
    for (const auto& p : *available) {
      list.push_back({{"id", p.id}, {"name", p.name}, {"version", p.latest.toString()}, {"description", p.description},
                      {"installed", installed.contains(p.id) ? installed[p.id] : json(nullptr)}});
    }
    return Response::json(200, json{{"source", (*source)->describe()}, {"plugins", list}}.dump());
  });
  router.add("POST", "/api/v1/marketplace/install", [&m](Request& req) {
    if (auto refused = m.refuse(req)) return *refused;
    json body = parseJsonOrDiscarded<json>(req.body);
    std::string id = body.is_object() ? body.value("plugin_id", body.value("id", "")) : "";
    if (id.empty()) return detail(400, "The body must be {\"plugin_id\": \"<id>\", \"version\": \"<version>\" (optional)}");
    std::string version = body.value("version", "");
    auto source = openSource(m.source, m.stateDir);
    if (!source) return detail(400, source.error().message);
    auto r = m.installer->install(id, version, **source);
    if (!r) return detail(installErrorStatus(r.error().kind), r.error().message);
    return Response::json(200, json{{"success", true},
                                    {"message", "Plugin installed successfully"},
                                    {"plugin_id", id},
                                    {"version", r->toVersion},
                                    {"migrations", r->migrations}}
                                   .dump());
  });
  router.add("DELETE", "/api/v1/marketplace/uninstall/{id}", [&m](Request& req) {
    if (auto refused = m.refuse(req)) return *refused;
    auto r = m.installer->uninstall(req.params["id"]);
    if (!r) return detail(installErrorStatus(r.error().kind), r.error().message);
    return Response::json(200, json{{"success", true}, {"message", "Plugin uninstalled successfully"}, {"plugin_id", r->id}}.dump());
  });
}

}  // namespace patchbay
