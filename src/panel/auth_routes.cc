// The panel's sign-in: Sodium's /api/auth routes, the session cookie, CSRF
// and Origin checks (patchbay/panel.h).
#include <nlohmann/json.hpp>

#include "panel/panel_impl.h"
#include "patchbay/json.h"
#include "patchbay/panel.h"

namespace patchbay::panel {

Panel::Panel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Panel::~Panel() {
  // The fleet's thread stops telling the panel first (it tells parts that go before it).
  impl_->fleet->setListener(nullptr);
}

Result<std::unique_ptr<Panel>> Panel::open(std::unique_ptr<Accounts> accounts, std::unique_ptr<Fleet> fleet, PanelOptions options) {
  std::unique_ptr<Panel> panel(new Panel(std::make_unique<Impl>(std::move(accounts), std::move(fleet), options)));
  if (auto stored = panel->impl_->accounts->setting("registration.enabled")) panel->impl_->registrationOpen = *stored == "true";
  listenToFleet(*panel->impl_);
  return panel;
}

Accounts& Panel::accounts() { return *impl_->accounts; }
Fleet& Panel::fleet() { return *impl_->fleet; }
void Panel::emitHooksTo(HookEmitter emit, HookListeners listening) { impl_->hooks.connect(std::move(emit), std::move(listening)); }
std::shared_ptr<PanelData> Panel::records() { return impl_->records; }
void Panel::pluginsChanged(const std::string& pluginId, const std::string& change) { impl_->live.pluginsChanged(pluginId, change); }
void Panel::tellAdministrators(const std::string& eventJson) { impl_->live.toAdministrators(eventJson); }
size_t Panel::liveConnections() const { return impl_->live.connections(); }
bool Panel::registrationOpen() const { return impl_->registrationOpen; }
Status Panel::setRegistrationOpen(bool open) {
  if (auto s = impl_->accounts->setSetting("registration.enabled", open ? "true" : "false"); !s) return s;
  impl_->registrationOpen = open;
  return {};
}

std::optional<Caller> Panel::caller(const Request& request) {
  const std::string authorization = request.header("authorization");
  if (authorization.starts_with("Bearer ")) {
    auto user = impl_->accounts->userForSession(std::string_view(authorization).substr(7));
    if (!user) return std::nullopt;
    return Caller{std::move(*user), false};
  }
  const std::string token = cookieValue(request, kSessionCookie);
  if (token.empty()) return std::nullopt;
  auto user = impl_->accounts->userForSession(token);
  if (!user) return std::nullopt;
  return Caller{std::move(*user), true};
}

std::optional<User> Panel::actingUser(const Request& request) {
  auto who = impl_->authenticate(*this, request);
  if (auto* caller = std::get_if<Caller>(&who)) return std::move(caller->user);
  return std::nullopt;
}

void Panel::addRoutes(http::Router& router) {
  Impl* m = impl_.get();  // the panel outlives its routes
  const http::RouteOptions small{.maxBodyBytes = kMaxAuthBody, .decide = {}};

  auto authenticated = [this](const Request& request) { return impl_->authenticate(*this, request); };

  router.addAsync("POST", "/api/auth/register", [m](Request& request, Responder done) {
    if (!sameOrigin(request)) return done.send(errorJson(403, "Cross-origin request refused"));
    if (!m->registrationOpen) return done.send(errorJson(403, "Registration is currently disabled"));
    if (auto wait = m->registrations.wait(request.remoteAddress, m->now()); wait.count() > 0) return done.send(Impl::tooMany(wait));
    auto parsed = Impl::credentials(request);
    if (auto* refusal = std::get_if<Response>(&parsed)) return done.send(std::move(*refusal));
    m->registrations.record(request.remoteAddress, m->now());
    // Argon2id takes ~0.1 s and 64 MiB: on the panel's own worker.
    if (!m->hashing.post([m, request, done, wanted = std::get<NewUser>(std::move(parsed))] {
          auto user = m->accounts->registerUser(wanted);
          if (!user) return done.send(accountError(user.error()));
          done.send(m->signedIn(*user, request));
          m->savedUser(*user, "insert");
          m->hooks.after("auth:afterRegister", json{{"user", userObject(*user)}, {"ip", request.remoteAddress}});
        })) {
      done.send(errorJson(503, "Too many sign-ins at once; try again in a moment").set("Retry-After", "1"));
    }
  }, small);

  router.addAsync("POST", "/api/auth/login", [m](Request& request, Responder done) {
    if (!sameOrigin(request)) return done.send(errorJson(403, "Cross-origin request refused"));
    auto parsed = Impl::credentials(request);
    if (auto* refusal = std::get_if<Response>(&parsed)) return done.send(std::move(*refusal));
    const NewUser& given = std::get<NewUser>(parsed);
    if (given.username.empty() || given.password.empty()) return done.send(errorJson(400, "Username and password are required"));
    const std::string account = Throttle::keyOf(given.username);
    if (auto wait = std::max(m->accountFailures.wait(account, m->now()), m->addressFailures.wait(request.remoteAddress, m->now())); wait.count() > 0) {
      return done.send(Impl::tooMany(wait));
    }
    if (!m->hashing.post([m, request, done, given, account] {
          auto user = m->accounts->checkPassword(given.username, given.password);
          if (!user) {
            if (user.error().kind != ErrorKind::kUnauthenticated) return done.send(accountError(user.error()));
            m->accountFailures.record(account, m->now());
            m->addressFailures.record(request.remoteAddress, m->now());
            return done.send(errorJson(401, user.error().message));
          }
          m->accountFailures.clear(account);
          done.send(m->signedIn(*user, request));  // always a new session: none chosen by the client is ever taken
          m->hooks.after("auth:afterLogin", json{{"user", userObject(*user)}, {"ip", request.remoteAddress}, {"method", "password"}});
        })) {
      done.send(errorJson(503, "Too many sign-ins at once; try again in a moment").set("Retry-After", "1"));
    }
  }, small);

  router.add("POST", "/api/auth/logout", [m, authenticated](Request& request) {
    auto who = authenticated(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    if (auto s = m->accounts->endSession(sessionToken(request)); !s) return errorJson(500, s.error().message);
    m->live.recheckSessions();
    Response r = Response::json(200, R"({"success":true})");
    r.headers.emplace_back("Set-Cookie", m->cookie(kSessionCookie, "", true, std::chrono::seconds(0)));
    r.headers.emplace_back("Set-Cookie", m->cookie(kCsrfCookie, "", false, std::chrono::seconds(0)));
    return r;
  }, small);

  router.add("GET", "/api/auth/me", [authenticated](Request& request) {
    auto who = authenticated(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    Response r = Response::json(200, json{{"user", userObject(std::get<Caller>(who).user)}}.dump());
    r.set("Cache-Control", "no-store");
    return r;
  });

  // The account's own: its password and its sessions (Sodium's /api/user).
  router.addAsync("PUT", "/api/user/password", [m, authenticated](Request& request, Responder done) {
    auto who = authenticated(request);
    if (auto* refusal = std::get_if<Response>(&who)) return done.send(std::move(*refusal));
    json body = parseJsonOrDiscarded<json>(request.body);
    const auto text = [&](const char* key) {
      return body.is_object() && body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string();
    };
    const std::string current = text("currentPassword"), next = text("newPassword");
    if (current.empty() || next.empty()) return done.send(errorJson(400, "All fields are required"));
    if (!m->hashing.post([m, done, userId = std::get<Caller>(who).user.id, current, next, keep = sessionToken(request)] {
          if (auto s = m->accounts->changePassword(userId, current, next, keep); !s) return done.send(accountError(s.error()));
          m->live.recheckSessions();
          done.send(Response::json(200, R"({"success":true,"message":"Password updated successfully"})"));
        })) {
      done.send(errorJson(503, "Too many sign-ins at once; try again in a moment").set("Retry-After", "1"));
    }
  }, small);

  router.add("GET", "/api/user/sessions", [m, authenticated](Request& request) {
    auto who = authenticated(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    auto sessions = m->accounts->sessionsOf(std::get<Caller>(who).user.id, sessionToken(request));
    if (!sessions) return accountError(sessions.error());
    json list = json::array();
    for (const auto& s : *sessions) {
      list.push_back({{"id", s.id}, {"ip", s.ip}, {"userAgent", s.userAgent}, {"createdAt", s.createdAt}, {"expiresAt", s.expiresAt}, {"current", s.current}});
    }
    Response r = Response::json(200, json{{"sessions", list}}.dump());
    r.set("Cache-Control", "no-store");
    return r;
  });

  router.add("DELETE", "/api/user/sessions/{id}", [m, authenticated](Request& request) {
    auto who = authenticated(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    if (auto s = m->accounts->endSessionById(std::get<Caller>(who).user.id, request.params["id"]); !s) return accountError(s.error());
    m->live.recheckSessions();
    return Response::json(200, R"({"success":true})");
  });

  router.add("DELETE", "/api/user/sessions", [m, authenticated](Request& request) {
    auto who = authenticated(request);
    if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
    auto ended = m->accounts->endOtherSessions(std::get<Caller>(who).user.id, sessionToken(request));
    if (!ended) return accountError(ended.error());
    m->live.recheckSessions();
    return Response::json(200, json{{"success", true}, {"revoked", *ended}}.dump());
  });

  // Live events: one WebSocket per tab. A cookie must come with the panel's
  // own Origin (a page elsewhere could otherwise open it with the cookie).
  router.addWebSocket("/api/events", [this, m](Request& request, const std::shared_ptr<http::WebSocket>& socket)
                                         -> std::variant<Response, http::WebSocketHandlers> {
    auto who = caller(request);
    if (!who) return errorJson(401, sessionToken(request).empty() ? "No token provided" : "Invalid or expired token");
    if (who->byCookie && (request.header("origin").empty() || !sameOrigin(request))) return errorJson(403, "Cross-origin request refused");
    return m->live.connect(socket, who->user, sessionToken(request), [m](const User& user, const std::string& text) {
      json message = parseJsonOrDiscarded<json>(text);
      if (message.is_discarded()) message = text;
      m->hooks.after("ws:message", json{{"user", requestUserObject(user)}, {"message", std::move(message)}});
    });
  }, {.maxQueued = impl_->options.eventsQueue, .maxMessageBytes = 16 << 10, .pingInterval = std::chrono::seconds(20)});

  addAdminUserRoutes(*this, *impl_, router);
  addNavigationRoute(*this, *impl_, router);
  addWebRoutes(router);
  addServerRoutes(*this, *impl_, router);
  addAdminFleetRoutes(*this, *impl_, router);
  addPageFallback(router);
}

}  // namespace patchbay::panel
