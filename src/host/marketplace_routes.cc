// The marketplace's HTTP surface, for administrators (seed 002's flow in the
// panel): the configured source's plugins with what the panel has of them,
// a plugin's page (README, versions, permissions, signatures), and
// operations that run on their own thread and tell their steps as they go
// (HostOptions::operationProgress). Seed 001's install-remote beside them.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "host/host_impl.h"
#include "host/marketplace.h"
#include "host/route_support.h"
#include "patchbay/json.h"
#include "patchbay/markdown.h"
#include "patchbay/permissions.h"
#include "patchbay/text.h"

namespace patchbay {

namespace {

using json = nlohmann::ordered_json;
using http::Request;
using http::Response;
using host_routes::errorResponse;

// What the panel has of a plugin: its installed version, whether it runs,
// and what its manifest asks for.
struct InstalledState {
  Version version;
  bool active = false;
  std::vector<std::string> permissions;
};

std::optional<InstalledState> installedState(Host& host, const std::string& id) {
  auto installed = host.installer().find(id);
  if (!installed) return std::nullopt;
  InstalledState s{installed->version, false, {}};
  for (const auto& p : host.plugins()) {
    if (p.id != id) continue;
    s.active = p.active && p.running;
    if (p.manifest) s.permissions = p.manifest->permissions;
  }
  return s;
}

json summaryJson(const AvailablePlugin& p, const std::optional<InstalledState>& installed) {
  json versions = json::array();
  for (const auto& v : p.versions) versions.push_back(v.toString());
  json j = {{"id", p.id}, {"name", p.name.empty() ? p.id : p.name}, {"description", p.description}, {"author", p.author},
            {"category", p.category}, {"latest", p.latest.toString()}, {"versions", versions}, {"size", p.size},
            {"downloads", p.downloads}, {"updatedAt", p.updatedAt}, {"signed", p.publisherSigned}};
  j["installed"] = installed ? json(installed->version.toString()) : json(nullptr);
  j["active"] = installed && installed->active;
  j["updateAvailable"] = installed && installed->version < p.latest;
  return j;
}

json versionJson(const VersionDetails& v) {
  json j = {{"version", v.version.toString()}, {"size", v.size}, {"hostRange", v.hostRange}, {"publishedAt", v.publishedAt},
            {"signed", v.publisherSigned}, {"signerKeyId", v.signerKeyId}, {"registryVerified", v.registryVerified}};
  j["permissions"] = v.permissions ? json(*v.permissions) : json(nullptr);
  return j;
}

// What `target` asks for that the installed version does not.
std::vector<std::string> addedPermissions(const VersionDetails& target, const InstalledState& installed) {
  std::vector<std::string> added;
  if (!target.permissions) return added;
  for (const auto& p : *target.permissions) {
    if (std::find(installed.permissions.begin(), installed.permissions.end(), p) == installed.permissions.end()) added.push_back(p);
  }
  return added;
}

// The version an upgrade to `range` would bring: the newest that satisfies it.
const VersionDetails* targetVersion(const PluginDetails& d, const Range& range) {
  for (const auto& v : d.versions) {  // newest first
    if (range.satisfiedBy(v.version)) return &v;
  }
  return nullptr;
}

// Why an uninstall cannot start, or nullopt.
std::optional<Response> refuseUninstall(Host& host, const std::string& id) {
  if (!host.installer().find(id)) return errorResponse(404, id + " is not installed");
  return host_routes::refuseWhileTenantsHaveIt(host, id);
}

}  // namespace

void Host::addMarketplaceRoutes(http::Router& router) {
  Host& host = *this;
  auto refuseNonAdmin = [&host](const Request& req) { return host_routes::refuseNonAdmin(host, req); };

  // The source's plugins: ?q= (id, name, description, author), ?category=,
  // ?sort=name|downloads|updated. "updates" counts the installed ones with
  // a newer version.
  router.add("GET", "/api/admin/marketplace", [&host, refuseNonAdmin](Request& req) {
    if (auto refused = refuseNonAdmin(req)) return *refused;
    const std::string sort = req.queryOr("sort", "name");
    if (sort != "name" && sort != "downloads" && sort != "updated") {
      return errorResponse(400, "sort must be name, downloads or updated; got \"" + sort + "\"");
    }
    auto source = host.openPackageSource();
    if (!source) return errorResponse(400, source.error().message);
    auto all = (*source)->available();
    if (!all) return errorResponse(502, all.error().message);  // it names the folder or the registry's URL
    const std::string q = asciiLower(req.queryOr("q")), category = req.queryOr("category");
    std::set<std::string> categories;
    size_t updates = 0;
    std::vector<std::pair<AvailablePlugin, std::optional<InstalledState>>> shown;
    for (auto& p : *all) {
      if (!p.category.empty()) categories.insert(p.category);
      auto installed = installedState(host, p.id);
      if (installed && installed->version < p.latest) ++updates;
      if (!category.empty() && p.category != category) continue;
      if (!q.empty() && asciiLower(p.id + "\n" + p.name + "\n" + p.description + "\n" + p.author).find(q) == std::string::npos) continue;
      shown.emplace_back(std::move(p), std::move(installed));
    }
    std::stable_sort(shown.begin(), shown.end(), [&](const auto& a, const auto& b) {
      if (sort == "downloads" && a.first.downloads != b.first.downloads) return a.first.downloads > b.first.downloads;
      if (sort == "updated" && a.first.updatedAt != b.first.updatedAt) return a.first.updatedAt > b.first.updatedAt;
      return asciiLower(a.first.name.empty() ? a.first.id : a.first.name) < asciiLower(b.first.name.empty() ? b.first.id : b.first.name);
    });
    json plugins = json::array();
    for (const auto& [p, installed] : shown) plugins.push_back(summaryJson(p, installed));
    return Response::json(200, json{{"source", (*source)->describe()}, {"categories", categories}, {"updates", updates}, {"plugins", plugins}}.dump());
  });

  // One plugin's page: its README (Markdown and safe HTML), every version
  // with its size, permissions and signatures, what the panel has of it,
  // and what the newest version asks for beyond the installed one.
  router.add("GET", "/api/admin/marketplace/plugins/{id}", [&host, refuseNonAdmin](Request& req) {
    if (auto refused = refuseNonAdmin(req)) return *refused;
    const std::string& id = req.params["id"];
    if (!isValidPluginId(id)) return errorResponse(400, "\"" + id + "\" is not a plugin id");
    auto source = host.openPackageSource();
    if (!source) return errorResponse(400, source.error().message);
    auto details = (*source)->details(id);
    if (!details) {
      const int status = details.error().kind == ErrorKind::kNotFound ? 404 : 502;
      return errorResponse(status, details.error().message);
    }
    auto installed = installedState(host, id);
    json j = summaryJson(details->summary, installed);
    j["source"] = (*source)->describe();
    j["readme"] = details->readme;
    j["readmeHtml"] = renderMarkdown(details->readme);
    json versions = json::array();
    json described = json::object();  // what each permission named lets a plugin do
    for (const auto& v : details->versions) {
      versions.push_back(versionJson(v));
      for (const auto& p : v.permissions.value_or(std::vector<std::string>{})) {
        const PermissionInfo* info = findPermission(p);
        described[p] = info ? std::string(info->meaning) : std::string("not a permission patchbay knows");
      }
    }
    j["versions"] = versions;
    j["permissionDescriptions"] = described;
    if (installed) {
      j["installedPermissions"] = installed->permissions;
      j["newPermissions"] = details->versions.empty() || !(installed->version < details->versions.front().version)
                                ? json::array() : json(addedPermissions(details->versions.front(), *installed));
    }
    return Response::json(200, j.dump());
  });

  // {"action": "install"|"upgrade"|"uninstall", "id": "...", "version": "1.2.0"
  // or a range (install, upgrade; default the newest), "keepData": bool
  // (uninstall), "acceptPermissions": [...] (an upgrade that asks for more)}.
  // 202 with the operation; its steps come as plugin.operation events.
  router.add("POST", "/api/admin/marketplace/operations", [&host, refuseNonAdmin](Request& req) {
    if (auto refused = refuseNonAdmin(req)) return *refused;
    json body = parseJsonOrDiscarded<json>(req.body);
    if (!body.is_object() || !body.contains("action") || !body["action"].is_string() || !body.contains("id") || !body["id"].is_string()) {
      return errorResponse(400, "The body must be {\"action\": \"install\", \"upgrade\" or \"uninstall\", \"id\": \"<plugin id>\"} "
                                "(and \"version\", \"keepData\", \"acceptPermissions\" as they apply)");
    }
    auto kind = operationKindNamed(body["action"].get<std::string>());
    if (!kind) return errorResponse(400, "action must be install, upgrade or uninstall; got \"" + body["action"].get<std::string>() + "\"");
    MarketOperation op;
    op.kind = *kind;
    op.pluginId = body["id"].get<std::string>();
    if (!isValidPluginId(op.pluginId)) return errorResponse(400, "\"" + op.pluginId + "\" is not a plugin id");
    if (body.contains("version") && !body["version"].is_null()) {
      if (!body["version"].is_string()) return errorResponse(400, "version must be a version or a range, as text");
      op.range = body["version"].get<std::string>();
    }
    auto range = parseRequestedRange(op.range);
    if (!range) return errorResponse(400, "version \"" + op.range + "\": " + range.error().message);
    if (body.contains("keepData") && !body["keepData"].is_boolean()) return errorResponse(400, "keepData must be true or false");
    op.keepData = body.value("keepData", false);
    op.actor = host_routes::actorOf(host, req);

    if (op.kind == OperationKind::kInstall) {
      if (auto installed = host.installer().find(op.pluginId)) {
        return errorResponse(409, op.pluginId + " " + installed->version.toString() + " is already installed (upgrade it instead)");
      }
    } else if (op.kind == OperationKind::kUninstall) {
      if (auto refused = refuseUninstall(host, op.pluginId)) return *refused;
    } else {
      auto installed = installedState(host, op.pluginId);
      if (!installed) return errorResponse(404, op.pluginId + " is not installed (install it first)");
      auto source = host.openPackageSource();
      if (!source) return errorResponse(400, source.error().message);
      auto details = (*source)->details(op.pluginId);
      if (!details) return errorResponse(details.error().kind == ErrorKind::kNotFound ? 404 : 502, details.error().message);
      const VersionDetails* target = targetVersion(*details, *range);
      if (!target) return errorResponse(404, "no version of " + op.pluginId + " in " + (*source)->describe() + " matches \"" + op.range + "\"");
      if (target->version == installed->version) {
        return errorResponse(409, op.pluginId + " " + installed->version.toString() + " is already the version asked for");
      }
      // An upgrade that asks for more than the installed version needs the
      // administrator's yes to exactly that.
      std::set<std::string> accepted;
      if (body.contains("acceptPermissions")) {
        if (!body["acceptPermissions"].is_array()) return errorResponse(400, "acceptPermissions must be a list of permission names");
        for (const auto& p : body["acceptPermissions"]) {
          if (p.is_string()) accepted.insert(p.get<std::string>());
        }
      }
      std::vector<std::string> missing;
      for (const auto& p : addedPermissions(*target, *installed)) {
        if (!accepted.count(p)) missing.push_back(p);
      }
      if (!missing.empty()) {
        std::string list;
        for (const auto& p : missing) list += (list.empty() ? "" : ", ") + p;
        json refusal = {{"error", op.pluginId + " " + target->version.toString() + " asks for permissions " + installed->version.toString() +
                                      " did not have: " + list + "; confirm them (acceptPermissions) to upgrade"},
                        {"newPermissions", missing},
                        {"version", target->version.toString()}};
        return Response::json(409, refusal.dump());
      }
      op.range = target->version.toString();  // what was confirmed, exactly
    }
    MarketOperation queued = host.impl_->marketplace->start(std::move(op));
    Response r = Response::json(202, json{{"operation", marketOperationJson(queued)}}.dump());
    r.set("Location", "/api/admin/marketplace/operations/" + queued.id);
    return r;
  });

  router.add("GET", "/api/admin/marketplace/operations", [&host, refuseNonAdmin](Request& req) {
    if (auto refused = refuseNonAdmin(req)) return *refused;
    json list = json::array();
    for (const auto& op : host.impl_->marketplace->recent()) list.push_back(marketOperationJson(op));
    return Response::json(200, json{{"operations", list}}.dump());
  });

  router.add("GET", "/api/admin/marketplace/operations/{operation}", [&host, refuseNonAdmin](Request& req) {
    if (auto refused = refuseNonAdmin(req)) return *refused;
    auto op = host.impl_->marketplace->find(req.params["operation"]);
    if (!op) return errorResponse(404, "no operation \"" + req.params["operation"] + "\" (finished ones are kept for the last 50)");
    return Response::json(200, json{{"operation", marketOperationJson(*op)}}.dump());
  });

  // Seed 001's install from the plugin server: {"addon_id": "...",
  // "settings": {...}}. Answered when installed and started; nothing needs
  // a restart. Settings that are refused undo the install.
  router.add("POST", "/api/v1/marketplace/install-remote", [&host, refuseNonAdmin](Request& req) {
    if (auto refused = refuseNonAdmin(req)) return *refused;
    json body = parseJsonOrDiscarded<json>(req.body);
    if (!body.is_object() || !body.contains("addon_id") || !body["addon_id"].is_string()) {
      return errorResponse(400, "The body must be {\"addon_id\": \"<plugin id>\", \"settings\": {...} (optional)}");
    }
    const std::string id = body["addon_id"].get<std::string>();
    if (body.contains("settings") && !body["settings"].is_null() && !body["settings"].is_object()) {
      return errorResponse(400, "settings must be an object of setting values");
    }
    auto source = host.openPackageSource();
    if (!source) return errorResponse(400, source.error().message);
    const AuditActor actor = host_routes::actorOf(host, req);
    auto result = host.operate([&](Installer& installer) -> Result<OperationReport> {
      auto installed = installer.install(id, "", **source);
      if (installed && body.contains("settings") && body["settings"].is_object() && !body["settings"].empty()) {
        const std::string dir = host.impl_->dirOf(id);
        if (auto s = writePluginSettings(dir, host.impl_->folder->pluginDataDir(), body["settings"].dump(), host.impl_->folder->postgresUrl()); !s) {
          (void)installer.uninstall(id, false);
          return Error::invalid(id + "'s settings: " + s.error().message + " (the install was undone)");
        }
      }
      return installed;
    });
    host_routes::auditOperation(host, actor, "install", id, result);
    if (!result) return errorResponse(installErrorStatus(result.error().kind), result.error().message);
    return Response::json(200, json{{"message", "Plugin installed successfully"}, {"addon_id", id}, {"restart_required", false}}.dump());
  });
}

}  // namespace patchbay
