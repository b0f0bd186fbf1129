// The panel's internals shared by its route files: Panel::Impl and the
// checks every route makes (who calls, CSRF, Origin), in Sodium's answers.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "patchbay/http.h"
#include "patchbay/integrity.h"
#include "patchbay/json.h"
#include "patchbay/panel.h"
#include "patchbay/worker_pool.h"
#include "panel/hook_points.h"
#include "panel/live_events.h"
#include "panel/throttle.h"

namespace patchbay::panel {

using json = nlohmann::ordered_json;
using http::Request;
using http::Responder;
using http::Response;

inline constexpr const char* kSessionCookie = "pb_session";
inline constexpr const char* kCsrfCookie = "pb_csrf";
inline constexpr uint64_t kMaxAuthBody = 16 << 10;

// Sodium's user object (userJson's, as JSON to put inside an answer).
json userObject(const User& user);
// {"error": message} with `status`.
http::Response errorJson(int status, std::string_view message);
// 503 with Retry-After: the database is away for now (ErrorKind::kUnavailable).
http::Response unavailableJson(std::string_view message);
// The value of cookie `name` in the request's Cookie headers, or "".
std::string cookieValue(const http::Request& request, std::string_view name);
// The session a request came with: its Bearer token, else its cookie.
std::string sessionToken(const http::Request& request);
// An Accounts error as Sodium answers it (400, 401, 404, 503, else 500).
http::Response accountError(const Error& e);
// Whether the method changes something (not GET, HEAD, OPTIONS).
bool changesState(const http::Request& request);
// An Origin, when sent, must be this panel's own (host and port as the browser reached them).
bool sameOrigin(const http::Request& request);
// A positive whole number from the query (at most `max`), or `fallback`.
size_t queryNumber(const http::Request& request, const std::string& name, size_t fallback, size_t max);
// sodium.data over the panel's records (records.cc).
std::shared_ptr<PanelData> makePanelRecords(Accounts& accounts, Fleet& fleet);
// Sodium's req.user (requestUserJson's), for hook contexts and plugin routes.
json requestUserObject(const User& user);
// A server.usage or server.log message another process sent about a server
// it runs, kept by this process's fleet (Fleet::observedUsage/observedLog).
void observeServerMessage(Fleet& fleet, const std::string& serverId, const std::string& message);

struct Panel::Impl {

  std::unique_ptr<Accounts> accounts;
  std::unique_ptr<Fleet> fleet;
  std::shared_ptr<PanelData> records;
  PanelOptions options;
  Throttle accountFailures, addressFailures, registrations;
  std::atomic<bool> registrationOpen;  // the stored setting, else options.registrationOpen
  HookPoints hooks;
  LiveEvents live;
  WorkerPool hashing;  // Argon2id off the IO threads; last, so that its jobs finish while the rest lives

  Impl(std::unique_ptr<Accounts> a, std::unique_ptr<Fleet> f, PanelOptions o)
      : accounts(std::move(a)),
        fleet(std::move(f)),
        records(makePanelRecords(*accounts, *fleet)),
        options(o),
        accountFailures(o.loginFailuresPerAccount, o.throttleWindow),
        addressFailures(o.loginFailuresPerAddress, o.throttleWindow),
        registrations(o.registrationsPerAddress, o.throttleWindow),
        registrationOpen(o.registrationOpen),
        hooks([](const std::string&) {}),
        live({.heartbeat = o.eventsHeartbeat, .maxQueued = o.eventsQueue},
             [this](const std::string& token) -> std::optional<User> {
               auto user = accounts->userForSession(token);
               return user ? std::optional<User>(*user) : std::nullopt;
             }),
        hashing("pb-passwords", std::max<size_t>(1, o.hashThreads), 64) {
    // Another process changed servers or nodes: read them again.
    live.onRecordsChanged([this] { (void)fleet->reload(); });
    // Another process runs a server: keep its usage and log here too.
    live.onServerMessageFromElsewhere([this](const std::string& serverId, const std::string& message) { observeServerMessage(*fleet, serverId, message); });
    if (o.relay) live.relayThrough(o.relay);
  }

  std::chrono::steady_clock::time_point now() const { return options.clock ? options.clock() : std::chrono::steady_clock::now(); }

  // Who is calling, checked as the panel checks every request that changes
  // something: a cookie needs the CSRF token and the panel's Origin.
  std::variant<Caller, Response> authenticate(Panel& panel, const Request& request);
  // The same, for administrators only (Sodium's 403 "Admin access required").
  std::variant<User, Response> administrator(Panel& panel, const Request& request);

  // db:afterSave for a write of the panel's users.
  void savedUser(const User& user, const char* change) {
    hooks.after("db:afterSave", json{{"collection", "users"}, {"change", change}, {"record", userObject(user)}});
  }


  static Response tooMany(std::chrono::seconds wait) {
    Response r = errorJson(429, "Too many attempts, try again later");  // Sodium's text
    r.set("Retry-After", std::to_string(wait.count()));
    return r;
  }

  std::string cookie(std::string_view name, std::string_view value, bool httpOnly, std::chrono::seconds maxAge) const {
    std::string c = std::string(name) + "=" + std::string(value) + "; Path=/; SameSite=Strict; Max-Age=" + std::to_string(maxAge.count());
    if (httpOnly) c += "; HttpOnly";
    if (options.secureCookie) c += "; Secure";
    return c;
  }

  // {success, user, token} with the session's cookies, for a new session.
  Response signedIn(const User& user, const Request& request) {
    auto token = accounts->createSession(user, options.sessionLifetime, request.remoteAddress, request.header("user-agent"));
    if (!token) return errorJson(500, "Could not start a session: " + token.error().message);
    Response r = Response::json(200, json{{"success", true}, {"user", userObject(user)}, {"token", *token}}.dump());
    r.headers.emplace_back("Set-Cookie", cookie(kSessionCookie, *token, true, options.sessionLifetime));
    r.headers.emplace_back("Set-Cookie", cookie(kCsrfCookie, randomHex(16), false, options.sessionLifetime));
    r.set("Cache-Control", "no-store");
    return r;
  }

  // The body's {username, password, email?}, or the answer saying why not.
  static std::variant<NewUser, Response> credentials(const Request& request) {
    json body = parseJsonOrDiscarded<json>(request.body);
    if (!body.is_object()) return errorJson(400, "The body must be a JSON object: {\"username\": \"...\", \"password\": \"...\"}");
    NewUser out;
    for (auto [key, field] : {std::pair{"username", &out.username}, std::pair{"password", &out.password}, std::pair{"email", &out.email}}) {
      if (!body.contains(key) || body[key].is_null()) continue;
      if (!body[key].is_string()) return errorJson(400, std::string(key) + " must be a string");
      *field = body[key].get<std::string>();
    }
    return out;
  }
};

// Administrators' routes over users (/api/admin/users, admin_user_routes.cc).
void addAdminUserRoutes(Panel& panel, Panel::Impl& impl, http::Router& router);
// Servers (/api/servers) and, for administrators, servers and nodes (server_routes.cc).
void addServerRoutes(Panel& panel, Panel::Impl& impl, http::Router& router);
void addAdminFleetRoutes(Panel& panel, Panel::Impl& impl, http::Router& router);
// GET /api/panel/navigation: the sidebar and admin tabs after their hooks (navigation.cc).
void addNavigationRoute(Panel& panel, Panel::Impl& impl, http::Router& router);
// The pages: the HTML shell on every UI path, the bundle's assets (web_routes.cc).
void addWebRoutes(http::Router& router);
// The shell for GET paths no route knows (plugins' pages): added last.
void addPageFallback(http::Router& router);
// What the fleet's changes set off: hooks (fleet_events.cc).
void listenToFleet(Panel::Impl& impl);

}  // namespace patchbay::panel
