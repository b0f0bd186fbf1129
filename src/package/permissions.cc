#include "patchbay/permissions.h"

#include <algorithm>
#include <array>

#include "patchbay/manifest.h"

namespace patchbay {

namespace {

constexpr std::array kTable = {
    // seed 004 (Sodium)
    PermissionInfo{"users:read", Capability::kReadUsers, "read the panel's users, secrets stripped (sodium.data.getUsers, findUser)"},
    PermissionInfo{"users:write", Capability::kReadUsers, "reserved for changing users; today it reads them as users:read"},
    PermissionInfo{"servers:read", Capability::kReadServers, "read the panel's servers (sodium.data.getServers, findServer)"},
    PermissionInfo{"servers:write", Capability::kReadServers, "reserved for changing servers; today it reads them as servers:read"},
    PermissionInfo{"nodes:read", Capability::kReadNodes, "read the panel's nodes, tokens stripped (sodium.data.getNodes, findNode)"},
    PermissionInfo{"webhooks:send", Capability::kOutboundHttp, "outbound HTTP with fetch"},
    PermissionInfo{"http:fetch", Capability::kOutboundHttp, "outbound HTTP with fetch"},
    PermissionInfo{"plugins:call", Capability::kCallPlugins, "call other plugins' public methods (sodium.plugins.call)"},
    PermissionInfo{"db:own", std::nullopt, "its own database (always there)"},
    PermissionInfo{"http:routes", std::nullopt, "its own routes and middleware (always there)"},
    PermissionInfo{"ui:pages", std::nullopt, "pages in the panel (always there)"},
    PermissionInfo{"ui:sidebar", std::nullopt, "sidebar items (always there)"},
    PermissionInfo{"ui:admin", std::nullopt, "admin pages and tabs (always there)"},
    PermissionInfo{"ui:widgets", std::nullopt, "dashboard widgets (always there)"},
    PermissionInfo{"ui:server-tabs", std::nullopt, "server tabs (always there)"},
    PermissionInfo{"cron:register", std::nullopt, "its own cron jobs (always there)"},
    PermissionInfo{"ws:messages", std::nullopt, "its own WebSocket messages (always there)"},
    // seed 001 (NextPanel)
    PermissionInfo{"network.outbound", Capability::kOutboundHttp, "outbound HTTP with fetch"},
    PermissionInfo{"database.create_tables", std::nullopt, "tables in its own database (always there)"},
    PermissionInfo{"database.read", std::nullopt, "reading its own database (always there)"},
    PermissionInfo{"database.write", std::nullopt, "writing its own database (always there)"},
    PermissionInfo{"api.register_routes", std::nullopt, "its own routes (always there)"},
    PermissionInfo{"filesystem.read", std::nullopt, "accepted for seed 001's manifests; plugins have no file system API"},
    PermissionInfo{"filesystem.write", std::nullopt, "accepted for seed 001's manifests; plugins have no file system API"},
};

}  // namespace

std::span<const PermissionInfo> permissionTable() { return kTable; }

const PermissionInfo* findPermission(std::string_view name) {
  auto it = std::find_if(kTable.begin(), kTable.end(), [&](const PermissionInfo& p) { return p.name == name; });
  return it == kTable.end() ? nullptr : &*it;
}

std::string_view permissionFor(Capability capability) {
  for (const auto& p : kTable) {
    if (p.opens == capability) return p.name;
  }
  return "";
}

bool manifestOpens(const Manifest& manifest, Capability capability) {
  if (manifest.permissions.empty()) return capability != Capability::kOutboundHttp;
  return std::any_of(manifest.permissions.begin(), manifest.permissions.end(), [&](const std::string& name) {
    const PermissionInfo* p = findPermission(name);
    return p && p->opens == capability;
  });
}

}  // namespace patchbay
