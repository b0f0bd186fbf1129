// What the host's route files share: who is calling (bearer tokens), and a
// plugin request made from an HTTP one and back.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "patchbay/host.h"
#include "patchbay/http.h"

namespace patchbay::host_routes {

// The host's one error shape, Sodium's: {"error": "..."} (the router's 404
// and 405 and the server's own refusals take it too: Host::addRoutes).
inline http::Response errorResponse(int status, const std::string& message) {
  http::Response r = http::Response::error(status, "", message, http::ErrorShape::kMessage);
  if (status == 401) r.set("WWW-Authenticate", "Bearer");
  return r;
}

// Why a caller is refused: 401 (no or bad credentials) or 403.
struct Refusal {
  int status = 401;
  std::string message;
};

// The token behind "Authorization: Bearer <secret>", if it is a valid one.
std::optional<TokenInfo> bearer(Host& host, const http::Request& req);
// nullopt when the caller holds a token with `scope` (admin holds them all).
std::optional<Refusal> refuseWithout(Host& host, const http::Request& req, const std::string& scope, const std::string& what);
// The person signed in to the panel a request acts for (HostOptions::signedInUser).
std::optional<SignedInUser> panelUser(Host& host, const http::Request& req);
// Who acted, for the audit log: the API token, or the panel user, by name.
AuditActor actorOf(Host& host, const http::Request& req);

// nullopt when the caller is an administrator (admin token or panel
// session), else the 401/403 answer.
std::optional<http::Response> refuseNonAdmin(Host& host, const http::Request& req);
// nullopt when plugin `id` may be uninstalled from the host, else the 409
// answer: tenants still have it installed.
std::optional<http::Response> refuseWhileTenantsHaveIt(Host& host, const std::string& id);

// An installer's report as the admin API answers it: {success, operation,
// id, from, version, migrations, dependencies, startError, milliseconds}.
nlohmann::ordered_json operationReportJson(const OperationReport& report);
// Records an install, upgrade or uninstall (done or failed) in the audit log.
void auditOperation(Host& host, const AuditActor& actor, const std::string& action, const std::string& pluginId,
                    const Result<OperationReport>& result);

// req.user for a token's holder, in Sodium's shape ({id, username, isAdmin,
// role}) with patchbay's fields beside ({name, admin}).
nlohmann::ordered_json tokenUser(const TokenInfo& token);

// The request as the plugin sees it: the path below its mount point, the
// headers in lower case without Authorization, req.user = `userJson`.
PluginRequest pluginRequest(const http::Request& req, const std::string& userJson);
http::Response httpResponse(PluginResponse res);

}  // namespace patchbay::host_routes
