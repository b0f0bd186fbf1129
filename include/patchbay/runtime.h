// patchbay/runtime.h — plugins as ES modules in V8 isolates, with the
// Sodium panel's plugin API (seed 004).
//
//   auto rt = Runtime::create({.dataDir = "data/plugin-data"}).value();
//   rt->activate("plugins/billing");                  // loads server.js
//   auto res = rt->handleRequest("billing", {.method = "GET", .path = "/invoices"});
//   auto verdict = rt->emit("server:beforeCreate", R"({"user":{"id":1},"name":"mc","node":"n1"})");
//   if (!verdict.allowed) refuse(verdict.reason);
//
// Model (docs/runtime.md): one isolate per active plugin, guarded by its
// v8::Locker. Requests, hooks and calls run on the calling thread under that
// lock (no thread hop when the plugin answers at once); each plugin also has
// an executor thread for timers, fetch answers and cron, which finishes
// handlers that await those while the caller waits. Plugins run in parallel
// with each other and a slow plugin delays only what waits for it.
//
// What a plugin sees: `export default function (sodium) { ... }` is called
// with the API object (db, http, hooks, cron, config, ui, plugins, data,
// auth, events, logger, meta; docs/runtime.md) and
// what it returns becomes its public methods for plugins.call. Globals are
// JavaScript's own plus console, setTimeout/clearTimeout, queueMicrotask,
// crypto.randomUUID; no require, process, file system or network, and only
// relative imports inside the plugin's folder.
//
// Values cross between C++ and JavaScript as JSON text.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

class CronClaims;  // patchbay/cron_claims.h

struct RuntimeLimits {
  size_t heapBytes = 64u << 20;                 // per plugin; reaching it stops that plugin only
  std::chrono::milliseconds callTimeout{2000};  // CPU time of one task (a handler, a timer) before it is terminated
  // Requests to one plugin's routes: a token bucket (429 above it); 0 = no limit.
  double requestsPerSecond = 1000;
  double requestBurst = 2000;
  // Requests to one plugin at once, queued or running (503 with Retry-After
  // above it): a stuck plugin costs its own queue, nothing else.
  size_t maxRequestsInFlight = 64;
  // A request's answer, awaits included, comes within this (504 after).
  std::chrono::milliseconds requestTimeout{30000};
  // A hook handler's verdict comes within this; after it the emit goes on
  // without it (logged on the plugin's log).
  std::chrono::milliseconds hookTimeout{5000};
  // The largest hook context a handler may leave (JSON); above it the next
  // handler gets the context as it came, and the emit lists an error.
  size_t maxHookContextBytes = 1u << 20;
  // The largest request body a plugin route takes (413 above it), unless an
  // administrator sets another for that plugin (Runtime::setBodyLimit),
  // which may not exceed maxBodyLimit().
  uint64_t maxBodyBytes = 1u << 20;
  // The largest response body a route may send (its plugin's error, a 500, above).
  uint64_t maxResponseBytes = 16u << 20;
  // Timers (setTimeout/setInterval) pending at once per plugin; more throw.
  size_t maxTimers = 10000;
  // A plugin that fails (heap limit) is restarted after restartBackoff,
  // doubling each time, at most maxRestarts times; then it stays failed.
  // A failure after it ran restartsForgottenAfter since its last (re)start
  // counts as its first: a crash loop is given up on, a plugin that fails
  // once a week is not.
  int maxRestarts = 3;
  std::chrono::milliseconds restartBackoff{1000};
  std::chrono::milliseconds restartsForgottenAfter{std::chrono::minutes(10)};

  // The most an administrator may let a plugin's request bodies be: a
  // quarter of its heap (the body and what it parses into must fit).
  uint64_t maxBodyLimit() const { return heapBytes / 4; }
};

// Outbound HTTP for a plugin (fetch). A plugin may fetch when its manifest
// lists webhooks:send (or http:fetch, network.outbound) or an administrator
// grants it; `hosts`, when not empty, limits it to those host names.
struct FetchGrant {
  bool allowed = true;
  std::vector<std::string> hosts;
  bool operator==(const FetchGrant&) const = default;
};

// The panel's records as plugins read them (sodium.data, Sodium's api.js).
// An embedding panel implements it (patchbay's own panel does); without one
// the lists are empty and finds answer null. Called on plugins' threads.
// Answers JSON: an array of records, or one record or "null". Whatever it
// returns, the runtime strips the fields Sodium keeps secret (users:
// password, twoFactorCode, twoFactorExpires, verificationToken, resetToken,
// resetTokenExpires; nodes: daemon_token) before a plugin sees them.
class PanelData {
 public:
  enum class Records { kUsers, kServers, kNodes };
  virtual ~PanelData() = default;
  virtual std::string list(Records records) = 0;
  virtual std::string find(Records records, const std::string& id) = 0;
};

struct RuntimeOptions {
  std::string dataDir;  // each plugin's data in <dataDir>/<id>/ (data.db)
  // With a postgresql:// URL, plugin data lives there instead: a schema and
  // a role per plugin per tenant (patchbay/postgres.h), of `tenantId` ("" =
  // the host's own). The URL's user needs CREATEROLE.
  std::string postgresUrl;
  std::string tenantId;
  RuntimeLimits limits;
  std::map<std::string, FetchGrant> fetchGrants;  // by plugin id
  std::chrono::milliseconds fetchTimeout{10000};
  // Start cron jobs at each minute by the wall clock. Off: only
  // runDueCronJobs() starts them (tests, embedders with their own clock).
  bool cronScheduler = true;
  // Processes that run the same plugins on one database share these, so
  // that each due slot runs in one of them (patchbay/cron_claims.h); the
  // scheduler then takes the minute from the database's clock, every few
  // seconds, catching up minutes it missed (up to five), and runs slots
  // whose holder died. Null: every due job runs here.
  std::shared_ptr<CronClaims> cronClaims;
  uint64_t fetchMaxBytes = 5u << 20;
  // What sodium.data reads (null: nothing yet, empty lists).
  std::shared_ptr<PanelData> panelData;
  // Where plugin logs go (console.*, sodium.logger.*, runtime warnings).
  // Default: standard error, one line each.
  std::function<void(const std::string& pluginId, const std::string& level, const std::string& message)> log;
};

// A request to a plugin's routes (mounted by the host at /api/plugins/<id>/).
struct PluginRequest {
  std::string method = "GET";
  std::string path = "/";  // below the mount point, starting with "/"
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string userJson = "null";  // req.user: the signed-in caller, or null
  std::string remoteAddress;       // req.ip
};

struct PluginResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// What emitting a hook decided. Any handler may deny (ctx.deny(reason), or
// setting ctx._denied), which ends the chain; for a `before*` hook the
// emitter then refuses the action, for others it decides what a denial
// means. Handlers that threw are listed and did not stop it; what they
// changed before throwing stays, as in Sodium.
struct HookResult {
  bool allowed = true;
  std::string reason;    // the denying handler's reason ("" when it gave none)
  std::string deniedBy;  // its plugin id
  std::vector<std::string> errors;  // "<plugin>: <message>" for handlers that threw
  size_t handlersRun = 0;
  // The context as the last handler left it (JSON object text): the emitted
  // text itself when no handler changed it. Without the runtime's deny,
  // _denied and _denyReason (allowed and reason say those).
  std::string context;
};

// A plugin's cron job (sodium.cron.register) and how its runs went.
struct CronJobState {
  std::string pluginId, id, schedule;
  bool running = false;
  std::string lastRun;        // ISO 8601 UTC of the last start, "" if never
  int64_t lastDurationMs = -1;
  std::string lastError;      // "" when the last run succeeded
  uint64_t runs = 0;
  uint64_t skipped = 0;       // due while the previous run was still going
  // With cron claims: slots another process ran (claimed first), and runs
  // whose slot was taken over before they ended (their lease ran out).
  uint64_t claimedElsewhere = 0;
  uint64_t takenOver = 0;
};

struct LogEntry {
  std::string at;  // ISO 8601 UTC with milliseconds
  std::string level;
  std::string message;
};

// A loaded plugin's condition: serving, or failed (and then restarted by
// its supervisor while PluginState::restartPending, else failed for good).
enum class PluginRunState { kActive, kFailed };
const char* runStateName(PluginRunState state);  // "active", "failed"

struct PluginState {
  std::string id, name, version, type;
  std::string dir;    // the folder it was activated from
  PluginRunState state = PluginRunState::kActive;
  std::string error;  // why it failed
  int restarts = 0;   // restarts after failures so far
  bool restartPending = false;
  std::vector<std::string> hooks;  // events with handlers
  size_t routes = 0;
};

// The settings of the plugin in `pluginDir` (its data in dataDir/<id>/):
// {"schema": {...}, "values": {...}}, secrets masked when asked (for every
// interface but the plugin itself).
// With `postgresUrl`, the data is in that database (see RuntimeOptions).
Result<std::string> readPluginSettings(const std::string& pluginDir, const std::string& dataDir, bool maskSecrets,
                                       const std::string& postgresUrl = "", const std::string& tenantId = "");
// Sets several settings at once from a JSON object, each validated against
// the schema; all or none are stored. A secret sent back masked is kept.
Status writePluginSettings(const std::string& pluginDir, const std::string& dataDir, const std::string& valuesJson,
                           const std::string& postgresUrl = "", const std::string& tenantId = "");

// Takes over the settings another panel kept for the plugin in `pluginDir`
// (Sodium's data/config.json plugins.settings.<id>, a JSON object): each
// key not stored yet is stored, validated when the manifest declares it;
// stored values are never overwritten. Answers the keys it could not take,
// each with why (the value itself is never named).
Result<std::vector<std::pair<std::string, std::string>>> adoptPluginSettings(const std::string& pluginDir, const std::string& dataDir,
                                                                             const std::string& valuesJson,
                                                                             const std::string& postgresUrl = "",
                                                                             const std::string& tenantId = "");

// A manifest's settings schema as JSON, in declared order:
// {"key": {"type", "label", "default", "description"?, "options"?, "secret"?, "required"?}}
struct Manifest;
std::string settingsSchemaJson(const Manifest& manifest);

class Runtime {
 public:
  static Result<std::unique_ptr<Runtime>> create(RuntimeOptions options);
  ~Runtime();  // deactivates every plugin
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Loads the plugin in `dir` (plugin.json, server.js) into a new isolate
  // and runs its default export. The id is the manifest's (else the folder
  // name). Errors: a bad manifest, a module that fails to load or throws
  // (with the file and line), an id already active (kConflict).
  Status activate(const std::string& dir);
  // Removes the plugin's routes, hooks, timers and methods and disposes its
  // isolate; its data stays. Requests in flight get a second to finish;
  // those still waiting then are answered 503.
  Status deactivate(const std::string& id);
  // Switches the plugin in `dir` (its id from the manifest) to that folder's
  // code with no gap: the new instance starts while the old one serves, then
  // requests and hooks go to the new one and the old one stops once its
  // requests in flight are done. If the new one fails to start, the old one
  // keeps serving and the error is returned. Not active: activate().
  Status replace(const std::string& dir);
  std::vector<PluginState> plugins() const;
  // What the plugin added with sodium.ui.* as a JSON object ("{}" when not active):
  // {"pages": {...}, "sidebarItems": [...], "serverTabs": [...], "dashboardWidgets": [...], "adminTabs": [...]}
  std::string uiJson(const std::string& id) const;
  // The plugin's recent log lines (console.*, sodium.logger.*, runtime
  // warnings), oldest first; kept for the last 200 even after deactivation.
  std::vector<LogEntry> logs(const std::string& id) const;

  // Runs the plugin's matching route handler on the plugin's own thread and
  // calls `done` once with the answer, on whichever thread has it (never
  // holding the caller's thread while the plugin works or awaits).
  // kNotFound when the plugin is not active, kUnsupported when it has failed
  // or stopped; a request no route matches gets a 404 response; above the
  // rate limit a 429, with too many requests waiting a 503 (both with
  // Retry-After), past RuntimeLimits::requestTimeout a 504.
  using RequestDone = std::function<void(Result<PluginResponse>)>;
  void handleRequest(const std::string& id, PluginRequest request, RequestDone done);
  // The same, waiting for the answer (tests, embedders without a server).
  Result<PluginResponse> handleRequest(const std::string& id, const PluginRequest& request);
  // Answers every request still waiting for any plugin as stopped (their
  // callers get kUnsupported: a 503), e.g. before a shutdown, so that no
  // connection waits for a promise that will never settle. Thread-safe.
  void cancelRequests(const std::string& why);
  // The largest request body plugin `id`'s routes take: an administrator's
  // setting, else RuntimeLimits::maxBodyBytes. setBodyLimit refuses a
  // value above RuntimeLimits::maxBodyLimit() (kLimitExceeded) or 0;
  // nullopt goes back to the default. Thread-safe.
  uint64_t bodyLimit(const std::string& id) const;
  Status setBodyLimit(const std::string& id, std::optional<uint64_t> bytes);
  const RuntimeLimits& limits() const;

  // Runs every handler of `event` across active plugins, lowest priority
  // first (ties: registration order), awaiting each for at most
  // RuntimeLimits::hookTimeout (then the emit goes on without it; logged).
  // Handlers subscribe to events or patterns ("server:*", "*:before*", "*":
  // each '*' any run of characters). contextJson is an object; one context
  // travels the chain: each handler sees what the ones before it changed,
  // in whichever plugin they ran, and the result carries the final one. A
  // handler that denies stops the rest.
  HookResult emit(const std::string& event, const std::string& contextJson);
  // Whether an emit of `event` would run any handler now (an active plugin
  // subscribed to it or to a pattern it matches): an emitter may skip
  // building a context nobody reads.
  bool hasHookHandlers(const std::string& event);

  // Cron: every job, and starting the ones due in the minute containing
  // `minute` (UTC). The runtime's scheduler thread calls it at each minute;
  // a job whose previous run is still going is skipped, an error is logged
  // and kept, and neither stops the other jobs.
  std::vector<CronJobState> cronJobs() const;
  void runDueCronJobs(std::chrono::system_clock::time_point minute);
  // With cron claims: runs the slots of this runtime's jobs whose holder
  // died before completing them (CronClaims::abandoned). The scheduler
  // calls it every few seconds.
  void runAbandonedCronJobs();

  // Calls a public method of a plugin (what its default export returned)
  // with the JSON array `argsJson`; the result as JSON ("null" for undefined).
  Result<std::string> call(const std::string& id, const std::string& method, const std::string& argsJson = "[]");

  // An administrator's outbound-HTTP grant for plugin `id` (RuntimeOptions::
  // fetchGrants at start). It applies at once, to active plugins too; it
  // decides over the manifest's permission both ways. nullopt removes it
  // (the manifest decides again).
  void setFetchGrant(const std::string& id, std::optional<FetchGrant> grant);
  std::optional<FetchGrant> fetchGrant(const std::string& id) const;

  struct Impl;

 private:
  explicit Runtime(std::unique_ptr<Impl> impl);
  // The supervisor's restart of a failed plugin: stop it, start it again.
  void restart(const std::string& id, const std::string& dir);
  std::unique_ptr<Impl> impl_;
};

}  // namespace patchbay
