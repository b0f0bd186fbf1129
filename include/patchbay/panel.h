// patchbay/panel.h — the panel `patchbay serve` is (issue 14), in the shape
// of the Sodium panel: users and their sessions, under Sodium's paths.
//
//   POST /api/auth/register  {username, password, email?}  -> {success, user, token}
//   POST /api/auth/login     {username, password}          -> {success, user, token}
//   POST /api/auth/logout                                  -> {success}
//   GET  /api/auth/me                                      -> {user}
//   PUT  /api/user/password  {currentPassword, newPassword} -> {success, message}
//   GET  /api/user/sessions                                -> {sessions: [{id, ip, userAgent, createdAt, expiresAt, current}]}
//   DELETE /api/user/sessions/:id                          -> {success}
//   DELETE /api/user/sessions   (every other session)      -> {success, revoked}
//
// Administrators (Sodium's /api/admin/users):
//   GET    /api/admin/users?page=&per_page=&search=        -> {users, meta}
//   POST   /api/admin/users  {user: {username, password, email?, isAdmin?}} -> {success, user}
//   PUT    /api/admin/users/:id  {updates: {role | isAdmin}} -> {success, user}
//   DELETE /api/admin/users/:id                            -> {success, deletedServers, results}
//   DELETE /api/admin/users/:id/sessions                   -> {success, revoked}
//   GET/PUT /api/admin/settings  {registrationOpen}        -> {registrationOpen}
//
// Servers (patchbay/panel_fleet.h; another's answers 404 "Server not found"):
//   GET    /api/servers                                    -> {servers}   (your own)
//   POST   /api/servers  {name, description?, memory?, disk?, cpu?, node_id?} -> {success, server}
//   GET    /api/servers/:id                                -> {server, usage, log}
//   PUT    /api/servers/:id/details  {name, description?}  -> {success, server}
//   POST   /api/servers/:id/power    {action}              -> {success, server}
//   DELETE /api/servers/:id                                -> {success}
// Administrators: GET /api/admin/servers?page=&per_page=, DELETE
// /api/admin/servers/:id; GET/POST /api/admin/nodes, PUT/DELETE
// /api/admin/nodes/:id ({node: {name, location, memory, disk}}).
//
// Live events: a WebSocket at /api/events (session cookie with the panel's
// Origin, or Bearer): server status, usage and log lines of the servers
// the user may see, plugins.changed, notices, heartbeats (src/panel/live_events.h).
//
// Hook points (seed 004; emitted to Panel::emitHooksTo's emitter):
//   server:beforeCreate {user, name, node, description, limits}  awaited; a deny answers 403 {"error": reason}
//   server:onCreate {server, user}, server:onStatusChange {server, action, user},
//   server:onDelete {server, user}, server:resourceUsage {server, usage},
//   auth:afterRegister {user, ip}, auth:afterLogin {user, ip, method},
//   db:afterSave {collection, change, record}, ws:message {user, message}:
//   after the fact, in order, never delaying an answer.
//
// Register and login set the session cookie (`pb_session`, HttpOnly,
// SameSite=Strict, Secure when PanelOptions::secureCookie) and answer the
// same session as `token`, for scripts (`Authorization: Bearer <token>`).
// A request that changes something and is authenticated by the cookie must
// carry `X-CSRF-Token` (the value of the `pb_csrf` cookie, readable by the
// panel's pages only) and, when it has an Origin, the panel's own: a page
// of another origin cannot act with the user's cookie. Bearer requests
// carry no cookie to steal and need neither.
//
// Passwords are hashed with Argon2id (libsodium's crypto_pwhash_str,
// interactive limits), on a worker thread, never on the server's IO
// threads; they are never logged or answered. Sessions are rows in the
// host's database (data/host.db, or the patchbay_host schema in
// PostgreSQL), kept as the SHA-256 of their token, expiring, revocable.
// The first user to register is an administrator (as Sodium's).
// Errors: {"error": "..."} with Sodium's texts and statuses.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/panel_fleet.h"
#include "patchbay/result.h"
#include "patchbay/runtime.h"

namespace patchbay {

class SqlDatabase;
namespace http {
class Router;
struct Request;
}  // namespace http

namespace panel {

enum class Role { kUser, kAdmin };
const char* roleName(Role role);  // "user", "admin"

struct User {
  std::string id;  // a UUID, as Sodium's
  std::string username;
  std::string email;  // "" when none was given
  Role role = Role::kUser;
  std::string createdAt;  // ISO 8601 UTC
  bool isAdmin() const { return role == Role::kAdmin; }
};

// Sodium's user object as the API answers it: {id, username, email,
// displayName, isAdmin, role, createdAt}; never the password's hash.
std::string userJson(const User& user);
// Sodium's req.user for plugin routes: {id, username, isAdmin,
// isModerator, role}.
std::string requestUserJson(const User& user);

// Who may register and how (Sodium's limits): usernames 3-20 letters,
// digits or underscores, unique whatever their case; passwords 6-128
// characters; e-mail optional, unique when given.
struct NewUser {
  std::string username, password, email;
  bool admin = false;  // made by an administrator as one (registration never sets it)
};

// A live session as its owner sees it: never its token.
struct SessionInfo {
  std::string id;  // a digest of the token's hash: names it, opens nothing
  std::string ip, userAgent, createdAt, expiresAt;
  bool current = false;  // the session the asking request came with
};

// The users and sessions, in their database. Thread-safe.
class Accounts {
 public:
  // Makes its tables when missing (panel_users, panel_sessions).
  static Result<std::unique_ptr<Accounts>> open(std::unique_ptr<SqlDatabase> db);
  ~Accounts();
  Accounts(const Accounts&) = delete;
  Accounts& operator=(const Accounts&) = delete;

  // kInvalidInput (Sodium's texts) for a bad or taken name or e-mail. The
  // first user becomes an administrator. Hashes the password: ~0.1 s, not
  // for an IO thread.
  Result<User> registerUser(const NewUser& request);
  // kUnauthenticated "Invalid credentials" for an unknown user or a wrong
  // password, alike (and as slow: an unknown name is hashed too).
  Result<User> checkPassword(std::string_view username, std::string_view password);

  // A new session for `user`: its token (shown once; kept as its SHA-256).
  // Expired sessions are swept away here.
  Result<std::string> createSession(const User& user, std::chrono::seconds lifetime, std::string_view ip, std::string_view userAgent);
  // The user a live session belongs to; kUnauthenticated when the token is
  // unknown, expired or ended, without saying which.
  Result<User> userForSession(std::string_view token);
  // Ends one session (absent: nothing to do).
  Status endSession(std::string_view token);
  // Ends every session of a user (log out everywhere, a changed password).
  Status endSessionsOf(const std::string& userId);
  // A user's live sessions, newest first; `current` marks `currentToken`'s.
  Result<std::vector<SessionInfo>> sessionsOf(const std::string& userId, std::string_view currentToken);
  // Ends one of the user's sessions by its id; kNotFound "Session not found"
  // when the user has no such session (another's included).
  Status endSessionById(const std::string& userId, const std::string& sessionId);
  // Ends every session of the user but `keepToken`'s; how many ended.
  Result<size_t> endOtherSessions(const std::string& userId, std::string_view keepToken);
  // Sets a new password once the current one is checked (kUnauthenticated
  // "Current password is incorrect"; kInvalidInput for a new one outside
  // 6-128 characters), and ends the user's sessions but `keepToken`'s: a
  // thief's session ends with the password it guessed. Hashes: ~0.2 s.
  Status changePassword(const std::string& userId, std::string_view current, std::string_view next, std::string_view keepToken);

  std::optional<User> findUser(const std::string& id);
  size_t userCount();
  // Every user, oldest first; with `search`, those whose name or e-mail
  // contains it (ASCII case folded).
  Result<std::vector<User>> listUsers(std::string_view search = "");
  // kNotFound "User not found".
  Result<User> setRole(const std::string& userId, Role role);
  // Removes the user and their sessions; kNotFound "User not found".
  Status deleteUser(const std::string& userId);
  // The panel's own settings an administrator changes (panel_settings):
  // "registration.enabled" ("true"/"false", as Sodium's config key).
  std::optional<std::string> setting(const std::string& key);
  Status setSetting(const std::string& key, const std::string& value);

  struct Impl;

 private:
  explicit Accounts(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A panel's first administrator, made when it has no user yet: "admin",
// with a random password written to `passwordFile` (mode 0600, as the
// first admin token is). Returns whether it made one. (Without it, the
// first person to register would administer the panel, as in Sodium.)
Result<bool> ensureFirstAdministrator(Accounts& accounts, const std::string& passwordFile);

// Live events across processes (docs/scale.md): several panel processes
// on one database tell each other's browsers what they tell their own (a
// server's status, usage and log lines, notices, sessions to re-check).
// The panel publishes envelopes (JSON text it reads back itself) and hears
// the other processes' ones; an embedding panel may give its own relay.
class EventRelay {
 public:
  virtual ~EventRelay() = default;
  // Starts hearing: `deliver` gets every other process's envelope, on the
  // relay's own thread, until stop(). Called once.
  virtual void start(std::function<void(const std::string& envelope)> deliver) = 0;
  // To every other process (not back to this one). Never waits for the
  // network: queued, and dropped (counted) when the queue is full.
  virtual void publish(const std::string& envelope) = 0;
  // Stops hearing and sending; `deliver` is not called after it returns.
  virtual void stop() = 0;
};
// PostgreSQL's LISTEN/NOTIFY (channel "patchbay_live") on `url`'s database;
// connects again by itself when the connection drops.
std::shared_ptr<EventRelay> postgresEventRelay(const std::string& url);

struct PanelOptions {
  std::chrono::seconds sessionLifetime{7 * 24 * 3600};  // as Sodium's tokens
  bool secureCookie = false;     // add Secure (the panel is served over HTTPS)
  // Sodium's registration.enabled, until an administrator sets it (then
  // the stored setting decides: Panel::setRegistrationOpen, PUT /api/admin/settings).
  bool registrationOpen = true;
  size_t hashThreads = 1;        // workers for Argon2id (each uses 64 MiB while it hashes)
  // Throttling, in memory: past `loginFailuresPerAccount` failed logins
  // of one account, or `loginFailuresPerAddress` from one address, within
  // `throttleWindow`, logins wait (429 with Retry-After) until the oldest
  // failure leaves the window; registrations count per address. (The
  // address is the connection's: behind a proxy, the proxy's.)
  size_t loginFailuresPerAccount = 5;
  size_t loginFailuresPerAddress = 20;
  size_t registrationsPerAddress = 10;
  std::chrono::seconds throttleWindow{15 * 60};
  // Live events (/api/events): a heartbeat this often (sessions are
  // re-checked then too); a tab with this many messages unsent is dropped.
  std::chrono::milliseconds eventsHeartbeat{25000};
  size_t eventsQueue = 256;
  // The clock throttling reads (tests move it; default: steady_clock).
  std::function<std::chrono::steady_clock::time_point()> clock;
  // Other processes of the same panel to share live events with (none: this
  // process alone).
  std::shared_ptr<EventRelay> relay;
};

// The signed-in caller of a request, from its session cookie or its
// Bearer session token; nullopt for an anonymous one. `byCookie` says
// which (CSRF checks apply to cookies only).
struct Caller {
  User user;
  bool byCookie = false;
};

// Where the panel's hook points go: a runtime's emit (Runtime::emit).
using HookEmitter = std::function<HookResult(const std::string& event, const std::string& contextJson)>;
// Whether anyone hears an event (Runtime::hasHookHandlers).
using HookListeners = std::function<bool(const std::string& event)>;

class Panel {
 public:
  static Result<std::unique_ptr<Panel>> open(std::unique_ptr<Accounts> accounts, std::unique_ptr<Fleet> fleet, PanelOptions options = {});
  ~Panel();
  Panel(const Panel&) = delete;
  Panel& operator=(const Panel&) = delete;

  Accounts& accounts();
  Fleet& fleet();
  // Seed 004's hook points are emitted to `emit` from now on (before: to
  // nobody, everything allowed). `server:beforeCreate` and the lists the UI
  // shows (`sidebar:items`, `admin:tabs`) are awaited; the others follow
  // the fact on the panel's hook thread, in order, without delaying the
  // answer. Set it once the host is open (its runtime is the emitter).
  // With `listening`, an after-the-fact event nobody hears is neither
  // built nor queued (a status change then wakes no hook thread).
  void emitHooksTo(HookEmitter emit, HookListeners listening = {});
  // The panel's users, servers and nodes as plugins read them
  // (sodium.data: RuntimeOptions::panelData, HostOptions::panelData).
  std::shared_ptr<PanelData> records();
  // Tells every open tab (live events) that the plugins changed, with a new
  // revision: connect it to HostOptions::pluginsChanged.
  void pluginsChanged(const std::string& pluginId, const std::string& change);
  // Sends an event to administrators' open tabs only: connect it to
  // HostOptions::operationProgress (the marketplace's steps).
  void tellAdministrators(const std::string& eventJson);
  // Open live-event connections (tabs).
  size_t liveConnections() const;
  // Whether anyone may register (an administrator's choice, kept in the database).
  bool registrationOpen() const;
  Status setRegistrationOpen(bool open);
  // Who sent `request` by its credentials alone (no CSRF check).
  std::optional<Caller> caller(const http::Request& request);
  // The user a request acts for: its caller when the request may act as
  // them (a cookie request that changes something must pass the CSRF and
  // Origin checks, else it acts for nobody). For plugin routes' req.user.
  std::optional<User> actingUser(const http::Request& request);
  // The routes above, on `router` (whose error shape is Sodium's), with
  // the page shell as the router's fallback for GET paths no route knows
  // (plugins' pages live at paths only the browser side learns).
  void addRoutes(http::Router& router);

  struct Impl;

 private:
  explicit Panel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace panel
}  // namespace patchbay
