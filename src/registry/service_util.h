// Helpers shared by the registry's HTTP endpoints (service.cc, admin_routes.cc).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <variant>

#include "registry/registry_impl.h"

namespace patchbay::service {

using json = nlohmann::ordered_json;
using http::Request;
using http::Response;

// The HTTP status for an error, by who caused it; JSON error body.
Response errorResponse(const Error& e);
// Names the route pattern for metrics and the access log.
Response withRoute(Response r, const char* route);
// The {id} parameter checked: nullopt when valid, else a 400 naming it.
std::optional<Response> badId(const std::string& id);

// A version as the API shows it, with the registry's signature.
json versionJson(const Registry& reg, const PackageRecord& r);
json summaryJson(const PackageRecord& r);

// The caller's token when the request carries one (Authorization: Bearer).
// nullopt without the header; a 401 response when the token is not valid.
std::variant<std::optional<TokenInfo>, Response> callerToken(Registry& reg, const Request& req);
// Whether the caller's token has `scope`: nullopt when it may go on (`who`,
// when given, receives the token), else the refusal to send, named after
// `route`: 401 without a valid token, 403 without the scope, the message
// naming `action`.
std::optional<Response> refuseUnless(Registry& reg, const Request& req, std::string_view scope, std::string_view action,
                                     const char* route, TokenInfo* who = nullptr);

// A JSON request body as an object, or a 400.
std::variant<nlohmann::json, Response> jsonBody(const Request& req);

void addManagementRoutes(Registry& reg, http::Router& router);
void addWebRoutes(Registry& reg, http::Router& router);

}  // namespace patchbay::service
