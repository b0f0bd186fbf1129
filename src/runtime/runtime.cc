// The runtime: active plugins by id, the hook table across them, and the
// watchdog that enforces each task's CPU deadline.
#include "patchbay/json.h"
#include "patchbay/runtime.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "patchbay/clock.h"
#include "patchbay/cron_claims.h"
#include "patchbay/permissions.h"
#include "patchbay/text.h"
#include "runtime/hook_context.h"
#include "runtime/isolate_pool.h"
#include "runtime/plugin_db.h"
#include "runtime/plugin_instance.h"
#include "runtime/plugin_settings.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct HookHandler {
  std::string event;  // what it subscribed to: an event or a pattern ("server:*", "*:before*", "*")
  double priority;
  uint64_t sequence;  // registration order, for ties
  std::string pluginId;
  int64_t handlerId;
  uint64_t generation;  // which start of the plugin registered it (a replace overlaps two)
};

}  // namespace

constexpr size_t kLogLines = 200;



struct Runtime::Impl {
  RuntimeOptions options;  // options.fetchGrants guarded by grantMu
  mutable std::mutex grantMu;
  std::map<std::string, uint64_t> bodyLimits;  // an administrator's, by plugin id; guarded by grantMu
  mutable std::mutex logMu;
  std::map<std::string, std::deque<LogEntry>> logLines;  // guarded by logMu
  std::mutex callMu;
  std::map<std::string, std::string> waitingOn;  // plugins.call: caller -> callee; guarded by callMu
  mutable std::shared_mutex mu;
  std::map<std::string, std::shared_ptr<PluginInstance>> plugins;  // guarded by mu
  std::vector<HookHandler> handlers;                               // guarded by mu
  std::map<std::string, uint64_t> generationOf;                    // of each plugin's running instance; guarded by mu
  uint64_t nextSequence = 1;                                       // guarded by mu
  std::atomic<uint64_t> nextGeneration{1};
  // What emit runs for an event: the handlers of running instances, in
  // order (priority, then registration). Built by the first emit of the
  // event after a change; every change of handlers or plugins clears them.
  struct HookCall {
    int64_t handlerId;
    std::shared_ptr<PluginInstance> instance;
  };
  using HookChain = std::vector<HookCall>;
  std::unordered_map<std::string, std::shared_ptr<const HookChain>> hookChains;  // guarded by mu
  std::shared_ptr<const HookChain> hookChain(const std::string& event);
  // Drops the handlers `drop` picks, and the chains built from them. Under mu.
  template <class Pick>
  void dropHandlers(Pick drop) {
    std::erase_if(handlers, drop);
    hookChains.clear();
  }
  HookShapes hookShapes;  // the shapes of emitted contexts (hook_context.h)
  std::shared_ptr<IsolatePool> isolates = IsolatePool::shared();  // where plugins' isolates come from

  // Starts an instance of the plugin in `dir` whose handlers carry `generation`.
  Result<std::shared_ptr<PluginInstance>> startInstance(const Manifest& manifest, const std::string& dir, uint64_t generation);

  // Supervision of failed plugins, and request rate limits, by plugin id.
  struct Supervision {
    std::string dir;
    int restarts = 0;
    std::chrono::steady_clock::time_point startedAt{};  // its last (re)start
    std::chrono::steady_clock::time_point nextAttempt{};
    bool scheduled = false;
    bool gaveUp = false;
  };
  std::mutex superviseMu;
  std::map<std::string, Supervision> supervision;  // guarded by superviseMu
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point refilled;
  };
  std::mutex bucketMu;
  std::map<std::string, Bucket> buckets;  // guarded by bucketMu

  // Takes one token from the plugin's bucket; false when it is empty.
  bool admit(const std::string& id) {
    const RuntimeLimits& l = options.limits;
    if (l.requestsPerSecond <= 0) return true;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(bucketMu);
    auto [it, fresh] = buckets.try_emplace(id, Bucket{l.requestBurst, now});
    Bucket& b = it->second;
    b.tokens = std::min(l.requestBurst, b.tokens + std::chrono::duration<double>(now - b.refilled).count() * l.requestsPerSecond);
    b.refilled = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  std::thread watchdog;
  std::thread scheduler;
  std::thread supervisor;
  std::mutex watchdogMu;
  std::condition_variable watchdogWake;
  std::shared_ptr<WakeBell> watchdogBell = std::make_shared<WakeBell>();    // plugins ring it (watch())
  std::shared_ptr<WakeBell> supervisorBell = std::make_shared<WakeBell>();  // a failing plugin rings it (supervise())
  bool stopping = false;  // guarded by watchdogMu

  // A plugin's log line: kept in its ring buffer, passed on prefixed
  // [Plugin:<id>] as the host log shows it.
  void log(const std::string& id, const std::string& level, const std::string& message) {
    {
      std::lock_guard lock(logMu);
      auto& lines = logLines[id];
      lines.push_back({utcNowMillis(), level, message});
      if (lines.size() > kLogLines) lines.pop_front();
    }
    const std::string line = "[Plugin:" + id + "] " + message;
    if (options.log) {
      options.log(id, level, line);
    } else {
      std::cerr << level << ": " << line << "\n";
    }
  }

  // plugins.call from `caller`: refuses a call that would wait on itself.
  Result<std::string> callPlugin(const std::string& caller, const std::string& target, const std::string& method,
                                 const std::string& argsJson) {
    std::shared_ptr<PluginInstance> callee;
    {
      std::shared_lock lock(mu);
      auto it = plugins.find(target);
      if (it == plugins.end()) return Error::notFound("Plugin \"" + target + "\" is not active");
      callee = it->second;
    }
    {
      std::lock_guard lock(callMu);
      std::string chain = caller + " -> " + target;
      for (std::string at = target; !at.empty();) {
        if (at == caller) return Error::conflict("plugins.call: call cycle " + chain + " (it would wait on itself)");
        auto next = waitingOn.find(at);
        if (next == waitingOn.end()) break;
        at = next->second;
        chain += " -> " + at;
      }
      waitingOn[caller] = target;
    }
    auto result = callee->call(method, argsJson);
    {
      std::lock_guard lock(callMu);
      waitingOn.erase(caller);
    }
    return result;  // the callee's error as it threw it, as in Sodium (a direct call there)
  }

  // Every 5 ms while a plugin runs a task or has a request waiting; asleep
  // otherwise, until one rings (an idle panel wakes nobody).
  void watch() {
    pthread_setname_np(pthread_self(), "pb-watchdog");  // as top -H shows it
    std::unique_lock lock(watchdogMu);
    while (!watchdogWake.wait_for(lock, std::chrono::milliseconds(5), [this] { return stopping; })) {
      lock.unlock();
      if (!checkDeadlines()) watchdogBell->sleepUnless([this] { return checkDeadlines(); });
      lock.lock();
    }
  }
  // True while something is left to time.
  bool checkDeadlines() {
    const auto now = std::chrono::steady_clock::now();
    bool timing = false;
    std::shared_lock plock(mu);
    for (auto& [id, p] : plugins) timing = p->checkDeadline(now) || timing;
    return timing;
  }

  // Restarts failed plugins with backoff. Asleep until a plugin fails (it
  // rings) or the first restart waiting is due.
  void supervise(Runtime* runtime) {
    pthread_setname_np(pthread_self(), "pb-supervisor");  // as top -H shows it
    for (;;) {
      {
        std::lock_guard lock(watchdogMu);
        if (stopping) return;
      }
      supervisorBell->sleepUnless([this] { return failureToSchedule(); }, superviseOnce(runtime));
    }
  }

  // Schedules each new failure's restart and makes those that are due.
  // Returns when the next scheduled one is due, or nothing when none is.
  std::optional<std::chrono::steady_clock::time_point> superviseOnce(Runtime* runtime) {
    std::vector<std::string> failed;
    {
      std::shared_lock plock(mu);
      for (const auto& [id, p] : plugins) {
        if (p->failed()) failed.push_back(id);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> next;
    for (const auto& id : failed) {
      std::string dir;
      {
        std::lock_guard slock(superviseMu);
        auto it = supervision.find(id);
        if (it == supervision.end() || it->second.gaveUp) continue;
        Supervision& s = it->second;
        if (!s.scheduled) {
          if (now - s.startedAt >= options.limits.restartsForgottenAfter) s.restarts = 0;  // it ran long enough: not a loop
          if (s.restarts >= options.limits.maxRestarts) {
            s.gaveUp = true;
            log(id, "error", "failed again after " + std::to_string(s.restarts) + " restarts; it stays stopped until activated again");
            continue;
          }
          s.scheduled = true;
          s.nextAttempt = now + options.limits.restartBackoff * (1 << std::min(s.restarts, 16));
        }
        if (now < s.nextAttempt) {
          next = next ? std::min(*next, s.nextAttempt) : s.nextAttempt;
          continue;
        }
        s.scheduled = false;
        ++s.restarts;
        dir = s.dir;
      }
      log(id, "warn", "restarting after a failure");
      runtime->restart(id, dir);
    }
    return next;
  }

  // Whether a plugin has failed whose restart is not scheduled yet (nor given up).
  bool failureToSchedule() {
    std::shared_lock plock(mu);
    std::lock_guard slock(superviseMu);
    for (const auto& [id, p] : plugins) {
      if (!p->failed()) continue;
      if (auto it = supervision.find(id); it != supervision.end() && !it->second.gaveUp && !it->second.scheduled) return true;
    }
    return false;
  }

  // Wakes at each minute boundary (UTC) and starts the jobs due then.
  void schedule(Runtime* runtime) {
    if (options.cronClaims) return scheduleClaimed(runtime);
    std::unique_lock lock(watchdogMu);
    while (!stopping) {
      auto now = std::chrono::system_clock::now();
      auto nextMinute = std::chrono::time_point_cast<std::chrono::minutes>(now) + std::chrono::minutes(1);
      if (watchdogWake.wait_until(lock, nextMinute, [this] { return stopping; })) return;
      if (!options.cronScheduler) continue;
      lock.unlock();
      runtime->runDueCronJobs(nextMinute);
      lock.lock();
    }
  }

  // With cron claims: the minute by the database's clock, looked at every
  // four to five and a half seconds, a random period each time (this
  // process's clock may be off; its minute boundaries mean nothing to the
  // others; with one fixed period the process whose looks fall first after
  // the minute would claim every slot, always). Minutes missed (the database was away,
  // the process paused) are caught up, the last five at most; slots whose
  // holder died are taken over; the claims of runs going on are renewed.
  void scheduleClaimed(Runtime* runtime) {
    constexpr auto kCatchUp = std::chrono::minutes(5);
    std::minstd_rand random(std::random_device{}());
    std::uniform_int_distribution<int> lookMs(4000, 5500);
    std::optional<std::chrono::system_clock::time_point> done;  // the last minute run
    std::unique_lock lock(watchdogMu);
    while (!watchdogWake.wait_for(lock, std::chrono::milliseconds(lookMs(random)), [this] { return stopping; })) {
      if (!options.cronScheduler) continue;
      lock.unlock();
      if (auto now = options.cronClaims->now()) {
        const auto minute = std::chrono::floor<std::chrono::minutes>(*now);
        auto from = done ? *done + std::chrono::minutes(1) : minute;
        if (minute - from > kCatchUp) from = minute - kCatchUp;
        for (auto m = from; m <= minute; m += std::chrono::minutes(1)) runtime->runDueCronJobs(m);
        if (!done || minute > *done) done = minute;
        runtime->runAbandonedCronJobs();
      }
      (void)options.cronClaims->renew();  // runs going on keep their slots
      lock.lock();
    }
  }
};

namespace {

struct OpenedSettings {
  Manifest manifest;
  std::unique_ptr<PluginDb> db;
};

Result<OpenedSettings> openSettings(const std::string& pluginDir, const std::string& dataDir, const std::string& postgresUrl,
                                    const std::string& tenantId) {
  ManifestReport report = loadManifestFromFolder(pluginDir);
  if (!report.ok()) return Error::invalid(report.errorText());
  std::error_code ec;
  const std::string folder = dataDir + "/" + report.manifest->id;
  fs::create_directories(folder, ec);
  if (ec) return Error::io(folder + ": " + ec.message());
  auto db = PluginDb::open({folder, postgresUrl, report.manifest->id, tenantId});
  if (!db) return db.error();
  return OpenedSettings{*report.manifest, std::move(*db)};
}

}  // namespace

Result<std::string> readPluginSettings(const std::string& pluginDir, const std::string& dataDir, bool maskSecrets,
                                       const std::string& postgresUrl, const std::string& tenantId) {
  auto opened = openSettings(pluginDir, dataDir, postgresUrl, tenantId);
  if (!opened) return opened.error();
  PluginSettings settings(opened->manifest, *opened->db);
  auto values = settings.getAll(maskSecrets);
  if (!values) return values.error();
  nlohmann::ordered_json out = {{"schema", nlohmann::ordered_json::parse(settings.schemaJson())},
                                {"values", nlohmann::ordered_json::parse(*values)}};
  return out.dump();
}

Status writePluginSettings(const std::string& pluginDir, const std::string& dataDir, const std::string& valuesJson,
                           const std::string& postgresUrl, const std::string& tenantId) {
  json values = parseJsonOrDiscarded<json>(valuesJson);
  if (!values.is_object()) return Error::invalid("settings: \"values\" must be an object of key -> value");
  auto opened = openSettings(pluginDir, dataDir, postgresUrl, tenantId);
  if (!opened) return opened.error();
  PluginSettings settings(opened->manifest, *opened->db);
  return opened->db->transaction([&]() -> Status {
    for (const auto& [key, value] : values.items()) {
      const SettingSpec* spec = opened->manifest.setting(key);
      if (spec && spec->secret && value == PluginSettings::kMask) continue;  // sent back masked: unchanged
      if (auto s = settings.set(key, value.dump()); !s) return s;
    }
    return {};
  });
}

Result<std::vector<std::pair<std::string, std::string>>> adoptPluginSettings(const std::string& pluginDir, const std::string& dataDir,
                                                                             const std::string& valuesJson,
                                                                             const std::string& postgresUrl,
                                                                             const std::string& tenantId) {
  json values = parseJsonOrDiscarded<json>(valuesJson);
  if (!values.is_object()) return Error::invalid("the settings to take over must be an object of key -> value");
  auto opened = openSettings(pluginDir, dataDir, postgresUrl, tenantId);
  if (!opened) return opened.error();
  PluginSettings settings(opened->manifest, *opened->db);
  std::vector<std::pair<std::string, std::string>> refused;
  for (const auto& [key, value] : values.items()) {
    auto stored = opened->db->setting(key);
    if (!stored) return stored.error();
    if (*stored) continue;  // set here already: that value stands
    if (auto s = settings.set(key, value.dump()); !s) refused.emplace_back(key, s.error().message);
  }
  return refused;
}

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Runtime>> Runtime::create(RuntimeOptions options) {
  if (options.dataDir.empty()) return Error::invalid("the runtime needs a data folder for plugin data");
  std::error_code ec;
  fs::create_directories(options.dataDir, ec);
  if (ec) return Error::io(options.dataDir + ": " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  Impl* m = impl.get();
  impl->watchdog = std::thread([m] { m->watch(); });
  std::unique_ptr<Runtime> runtime(new Runtime(std::move(impl)));
  Runtime* r = runtime.get();
  m->scheduler = std::thread([m, r] { m->schedule(r); });
  m->supervisor = std::thread([m, r] { m->supervise(r); });
  return runtime;
}

Runtime::~Runtime() {
  std::vector<std::string> ids;
  {
    std::shared_lock lock(impl_->mu);
    for (const auto& [id, p] : impl_->plugins) ids.push_back(id);
  }
  for (const auto& id : ids) (void)deactivate(id);
  {
    std::lock_guard lock(impl_->watchdogMu);
    impl_->stopping = true;
  }
  impl_->watchdogWake.notify_all();
  impl_->watchdogBell->stop();
  impl_->supervisorBell->stop();
  impl_->watchdog.join();
  impl_->scheduler.join();
  impl_->supervisor.join();
}

Result<std::shared_ptr<PluginInstance>> Runtime::Impl::startInstance(const Manifest& manifest, const std::string& dir, uint64_t generation) {
  Impl* m = this;
  const std::string id = manifest.id;
  InstanceHost host;
  host.log = [m, id](const std::string& level, const std::string& message) { m->log(id, level, message); };
  std::vector<std::string> declared = manifest.hooks;
  host.registerHook = [m, id, declared, generation](const std::string& event, double priority, int64_t handlerId) {
    // The manifest's entries are patterns too: "server:*" there covers
    // hooks.on("server:beforeCreate") and hooks.on("server:*").
    if (std::none_of(declared.begin(), declared.end(), [&](const std::string& d) { return matchesPattern(d, event); })) {
      m->log(id, "warn", "Hook \"" + event + "\" not declared in manifest, skipping");
      return false;
    }
    std::unique_lock lock(m->mu);
    m->handlers.push_back({event, priority, m->nextSequence++, id, handlerId, generation});
    m->hookChains.clear();
    return true;
  };
  host.callPlugin = [m, id](const std::string& target, const std::string& method, const std::string& argsJson) {
    return m->callPlugin(id, target, method, argsJson);
  };
  host.emitEvent = [m](const std::string& event, const std::string& dataJson) {
    std::vector<std::shared_ptr<PluginInstance>> active;
    {
      std::shared_lock lock(m->mu);
      for (const auto& [pluginId, p] : m->plugins) active.push_back(p);
    }
    for (const auto& p : active) p->deliverEvent(event, dataJson);
  };
  host.panelData = options.panelData;
  host.fetchAccess = [m, id, permitted = manifestOpens(manifest, Capability::kOutboundHttp)] {
    std::lock_guard lock(m->grantMu);
    auto grant = m->options.fetchGrants.find(id);
    return grant != m->options.fetchGrants.end() ? grant->second : FetchGrant{permitted, {}};
  };
  host.fetchTimeout = options.fetchTimeout;
  host.fetchMaxBytes = options.fetchMaxBytes;
  host.isolates = isolates;
  host.watchdog = watchdogBell;
  host.supervisor = supervisorBell;
  auto instance = PluginInstance::start(manifest, dir, {options.dataDir + "/" + id, options.postgresUrl, id, options.tenantId}, options.limits,
                                       std::move(host));
  if (!instance) {
    std::unique_lock lock(mu);
    dropHandlers([&](const HookHandler& h) { return h.pluginId == id && h.generation == generation; });
  }
  return instance;
}

namespace {

// Stops an instance that is no longer in the map once the callers that took
// it before (requests, hooks, calls in flight) are done with it, so that
// they finish on it. Requests still waiting after `grace` (for a promise
// that may never settle) are answered as stopped (503) instead of holding
// it to their deadline; synchronous callers get at most 30 s.
void stopWhenIdle(std::shared_ptr<PluginInstance> instance, std::chrono::milliseconds grace) {
  auto waitUntil = [&](std::chrono::steady_clock::time_point deadline) {
    while (instance.use_count() > 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  const auto started = std::chrono::steady_clock::now();
  waitUntil(started + grace);
  instance->cancelRequests("plugin \"" + instance->manifest().id + "\" is stopping");
  waitUntil(started + std::chrono::seconds(30));
  instance->stop();
}

// A deactivation (or the runtime's end) lets requests in flight finish for
// this long; a replace lets them finish on the old code up to their deadline.
constexpr std::chrono::milliseconds kDeactivateGrace{1000};

}  // namespace

Status Runtime::activate(const std::string& dir) {
  ManifestReport report = loadManifestFromFolder(dir);
  if (!report.ok()) return Error::invalid(report.errorText());
  const Manifest& manifest = *report.manifest;
  const std::string id = manifest.id;
  bool failedBefore = false;
  {
    std::shared_lock lock(impl_->mu);
    auto it = impl_->plugins.find(id);
    if (it != impl_->plugins.end() && !it->second->failed()) return Error::conflict("plugin \"" + id + "\" is already active");
    failedBefore = it != impl_->plugins.end();
  }
  // A failed plugin (given up on, or waiting for its restart) is started
  // afresh: an administrator's activate is a new start, not a no-op.
  if (failedBefore) (void)deactivate(id);
  const uint64_t generation = impl_->nextGeneration++;
  auto instance = impl_->startInstance(manifest, dir, generation);
  if (!instance) return instance.error();
  {
    std::unique_lock lock(impl_->mu);
    if (impl_->plugins.count(id)) {
      impl_->dropHandlers([&](const HookHandler& h) { return h.pluginId == id && h.generation == generation; });
      lock.unlock();
      (*instance)->stop();
      return Error::conflict("plugin \"" + id + "\" is already active");
    }
    impl_->plugins[id] = std::move(*instance);
    impl_->generationOf[id] = generation;
    impl_->hookChains.clear();
  }
  impl_->watchdogBell->ring();  // a task it began while starting is timed from now on
  {
    std::lock_guard slock(impl_->superviseMu);
    auto& s = impl_->supervision[id];
    if (s.dir != dir) s = {};  // a fresh activation (not a restart): a fresh count
    s.dir = dir;
    s.startedAt = std::chrono::steady_clock::now();
  }
  impl_->supervisorBell->ring();  // it may have failed already, before it was supervised
  return {};
}

Status Runtime::replace(const std::string& dir) {
  ManifestReport report = loadManifestFromFolder(dir);
  if (!report.ok()) return Error::invalid(report.errorText());
  const Manifest& manifest = *report.manifest;
  const std::string id = manifest.id;
  {
    std::shared_lock lock(impl_->mu);
    if (!impl_->plugins.count(id)) {
      lock.unlock();
      return activate(dir);
    }
  }
  // The new instance starts while the old one serves; then one swap.
  const uint64_t generation = impl_->nextGeneration++;
  auto instance = impl_->startInstance(manifest, dir, generation);
  if (!instance) return instance.error();  // the old one keeps serving
  std::shared_ptr<PluginInstance> old;
  {
    std::unique_lock lock(impl_->mu);
    auto it = impl_->plugins.find(id);
    if (it != impl_->plugins.end()) old = std::move(it->second);
    impl_->plugins[id] = std::move(*instance);
    impl_->generationOf[id] = generation;
    impl_->dropHandlers([&](const HookHandler& h) { return h.pluginId == id && h.generation != generation; });
  }
  impl_->watchdogBell->ring();
  {
    std::lock_guard slock(impl_->superviseMu);
    impl_->supervision[id] = {.dir = dir, .startedAt = std::chrono::steady_clock::now()};
  }
  impl_->supervisorBell->ring();  // it may have failed already, before it was supervised
  if (old) stopWhenIdle(std::move(old), impl_->options.limits.requestTimeout);
  return {};
}

void Runtime::restart(const std::string& id, const std::string& dir) {
  std::shared_ptr<PluginInstance> old;
  {
    std::unique_lock lock(impl_->mu);
    auto it = impl_->plugins.find(id);
    if (it == impl_->plugins.end()) return;  // deactivated meanwhile
    old = std::move(it->second);
    impl_->plugins.erase(it);
    impl_->generationOf.erase(id);
    impl_->dropHandlers([&](const HookHandler& h) { return h.pluginId == id; });
  }
  old->stop();
  if (Status s = activate(dir); !s) {
    impl_->log(id, "error", "restart failed: " + s.error().message);
    std::lock_guard slock(impl_->superviseMu);
    auto& sup = impl_->supervision[id];
    sup.gaveUp = true;
  }
}

Status Runtime::deactivate(const std::string& id) {
  std::shared_ptr<PluginInstance> instance;
  {
    std::unique_lock lock(impl_->mu);
    auto it = impl_->plugins.find(id);
    if (it == impl_->plugins.end()) return Error::notFound("plugin \"" + id + "\" is not active");
    instance = std::move(it->second);
    impl_->plugins.erase(it);
    impl_->generationOf.erase(id);
    impl_->dropHandlers([&](const HookHandler& h) { return h.pluginId == id; });
  }
  {
    std::lock_guard slock(impl_->superviseMu);
    impl_->supervision.erase(id);
  }
  stopWhenIdle(std::move(instance), kDeactivateGrace);
  return {};
}

const char* runStateName(PluginRunState state) { return state == PluginRunState::kActive ? "active" : "failed"; }

std::vector<PluginState> Runtime::plugins() const {
  std::vector<PluginState> out;
  std::shared_lock lock(impl_->mu);
  for (const auto& [id, p] : impl_->plugins) {
    PluginState s;
    s.id = id;
    s.name = p->manifest().name;
    s.version = p->manifest().version.toString();
    s.type = p->manifest().type;
    s.state = p->failed() ? PluginRunState::kFailed : PluginRunState::kActive;
    s.error = p->failure();
    {
      std::lock_guard slock(impl_->superviseMu);
      if (auto it = impl_->supervision.find(id); it != impl_->supervision.end()) {
        s.dir = it->second.dir;
        s.restarts = it->second.restarts;
        s.restartPending = p->failed() && !it->second.gaveUp;
      }
    }
    s.routes = p->routeCount();
    for (const auto& h : impl_->handlers) {
      if (h.pluginId == id && std::find(s.hooks.begin(), s.hooks.end(), h.event) == s.hooks.end()) s.hooks.push_back(h.event);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<LogEntry> Runtime::logs(const std::string& id) const {
  std::lock_guard lock(impl_->logMu);
  auto it = impl_->logLines.find(id);
  if (it == impl_->logLines.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::string Runtime::uiJson(const std::string& id) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->plugins.find(id);
  return it == impl_->plugins.end() ? std::string("{}") : it->second->uiJson();
}

void Runtime::handleRequest(const std::string& id, PluginRequest request, RequestDone done) {
  std::shared_ptr<PluginInstance> instance;
  {
    std::shared_lock lock(impl_->mu);
    auto it = impl_->plugins.find(id);
    if (it == impl_->plugins.end()) return done(Error::notFound("plugin \"" + id + "\" is not active"));
    instance = it->second;
  }
  if (!impl_->admit(id)) {
    PluginResponse limited;
    limited.status = 429;
    limited.headers = {{"content-type", "application/json; charset=utf-8"}, {"retry-after", "1"}};
    limited.body = json{{"error", "Too many requests to plugin \"" + id + "\""}}.dump();
    return done(std::move(limited));
  }
  // The instance stays alive until its answer (a replace or deactivate
  // waits for the callers that hold it).
  instance->request(std::move(request), [instance, done = std::move(done)](Result<PluginResponse> answer) mutable {
    done(std::move(answer));
  });
}

Result<PluginResponse> Runtime::handleRequest(const std::string& id, const PluginRequest& request) {
  struct Waiting {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<PluginResponse>> answer;
  };
  auto waiting = std::make_shared<Waiting>();
  handleRequest(id, request, [waiting](Result<PluginResponse> answer) {
    std::lock_guard lock(waiting->mu);
    waiting->answer = std::move(answer);
    waiting->cv.notify_all();
  });
  std::unique_lock lock(waiting->mu);
  waiting->cv.wait(lock, [&] { return waiting->answer.has_value(); });  // the request's deadline bounds it
  return std::move(*waiting->answer);
}

void Runtime::cancelRequests(const std::string& why) {
  std::vector<std::shared_ptr<PluginInstance>> active;
  {
    std::shared_lock lock(impl_->mu);
    for (const auto& [id, p] : impl_->plugins) active.push_back(p);
  }
  for (const auto& p : active) p->cancelRequests(why);
}

uint64_t Runtime::bodyLimit(const std::string& id) const {
  std::lock_guard lock(impl_->grantMu);
  auto it = impl_->bodyLimits.find(id);
  return it == impl_->bodyLimits.end() ? impl_->options.limits.maxBodyBytes : it->second;
}

Status Runtime::setBodyLimit(const std::string& id, std::optional<uint64_t> bytes) {
  const uint64_t most = impl_->options.limits.maxBodyLimit();
  if (bytes && (*bytes == 0 || *bytes > most)) {
    return Error::limit("a plugin's request body limit must be from 1 to " + std::to_string(most) + " bytes (a quarter of its " +
                        std::to_string(impl_->options.limits.heapBytes >> 20) + " MiB heap), not " + std::to_string(*bytes));
  }
  std::lock_guard lock(impl_->grantMu);
  if (bytes) {
    impl_->bodyLimits[id] = *bytes;
  } else {
    impl_->bodyLimits.erase(id);
  }
  return {};
}

const RuntimeLimits& Runtime::limits() const { return impl_->options.limits; }

std::shared_ptr<const Runtime::Impl::HookChain> Runtime::Impl::hookChain(const std::string& event) {
  {
    std::shared_lock lock(mu);
    if (auto it = hookChains.find(event); it != hookChains.end()) return it->second;
  }
  std::unique_lock lock(mu);
  std::vector<const HookHandler*> order;
  for (const auto& h : handlers) {
    auto generation = generationOf.find(h.pluginId);
    if (matchesPattern(h.event, event) && generation != generationOf.end() && generation->second == h.generation) order.push_back(&h);
  }
  std::stable_sort(order.begin(), order.end(), [](const HookHandler* a, const HookHandler* b) {
    return a->priority != b->priority ? a->priority < b->priority : a->sequence < b->sequence;
  });
  auto chain = std::make_shared<HookChain>();
  for (const HookHandler* h : order) chain->push_back({h->handlerId, plugins.at(h->pluginId)});
  hookChains[event] = chain;
  return chain;
}

bool Runtime::hasHookHandlers(const std::string& event) { return !impl_->hookChain(event)->empty(); }

HookResult Runtime::emit(const std::string& event, const std::string& contextJson) {
  const std::shared_ptr<const Impl::HookChain> chain = impl_->hookChain(event);
  HookResult result;
  if (chain->empty()) {
    result.context = contextJson;
    return result;
  }
  // One context along the chain: read once; read again only before a
  // handler that follows one that left JSON text (`changed`, which the
  // context's values then point into); changed in place by the changes a
  // handler's delta listed, and written as JSON only for the emitter.
  const size_t maxBytes = impl_->options.limits.maxHookContextBytes;
  std::optional<std::string> changed;
  bool unread = false;  // `changed` is newer than `context`
  HookContext context = impl_->hookShapes.read(contextJson);
  for (const auto& [handlerId, instance] : *chain) {
    if (unread) {
      context = impl_->hookShapes.read(*changed);
      unread = false;
    } else if (context.shapeId < 0 && !context.shape.source.empty() && !impl_->hookShapes.number(context)) {
      // A shape with added keys and no room to number it: as JSON.
      changed = writeHookJson(context.shape);
      context = HookContext{};
      context.json = *changed;
      context.jsonBytes = changed->size();
    }
    ++result.handlersRun;
    auto verdict = instance->runHook(handlerId, context);
    if (!verdict) {
      if (verdict.error().kind == ErrorKind::kLimitExceeded) {
        impl_->log(instance->manifest().id, "warn", "its \"" + event + "\" handler " + verdict.error().message + "; the emit went on without it");
      }
      result.errors.push_back(instance->manifest().id + ": " + verdict.error().message);
      continue;
    }
    if (!verdict->error.empty()) result.errors.push_back(instance->manifest().id + ": " + verdict->error);
    if (verdict->context) {
      if (verdict->context->size() > maxBytes) {
        result.errors.push_back(instance->manifest().id + ": " + hookContextTooBig(verdict->context->size(), maxBytes));
      } else {
        changed = std::move(*verdict->context);
        unread = true;
      }
    } else if (!verdict->changes.empty()) {
      if (auto applied = applyHookChanges(context, verdict->changes, maxBytes); !applied) {
        result.errors.push_back(instance->manifest().id + ": " + applied.error().message);
      }
    }
    if (verdict->denied) {
      result.allowed = false;
      result.reason = verdict->reason;
      result.deniedBy = instance->manifest().id;
      break;
    }
  }
  if (unread) {
    result.context = std::move(*changed);
  } else if (context.rewritten || !context.appended.empty()) {
    result.context = hookContextJson(context);
  } else {
    result.context = changed ? std::move(*changed) : contextJson;
  }
  return result;
}

std::vector<CronJobState> Runtime::cronJobs() const {
  std::vector<CronJobState> out;
  std::shared_lock lock(impl_->mu);
  for (const auto& [id, p] : impl_->plugins) {
    auto jobs = p->cronJobs();
    out.insert(out.end(), jobs.begin(), jobs.end());
  }
  return out;
}

void Runtime::runDueCronJobs(std::chrono::system_clock::time_point minute) {
  std::vector<std::shared_ptr<PluginInstance>> active;
  {
    std::shared_lock lock(impl_->mu);
    for (const auto& [id, p] : impl_->plugins) active.push_back(p);
  }
  const CronCluster cluster{impl_->options.cronClaims, impl_->options.tenantId};
  for (const auto& p : active) p->runDueCron(minute, cluster.claims ? &cluster : nullptr);
}

void Runtime::runAbandonedCronJobs() {
  const CronCluster cluster{impl_->options.cronClaims, impl_->options.tenantId};
  if (!cluster.claims) return;
  auto slots = cluster.claims->abandoned(cluster.tenant);
  if (!slots) return;  // the database is away: the next round asks again
  for (const auto& slot : *slots) {
    std::shared_ptr<PluginInstance> plugin;
    {
      std::shared_lock lock(impl_->mu);
      auto it = impl_->plugins.find(slot.plugin);
      if (it == impl_->plugins.end()) continue;
      plugin = it->second;
    }
    plugin->runCronSlot(slot.job, slot.minute, cluster);
  }
}


void Runtime::setFetchGrant(const std::string& id, std::optional<FetchGrant> grant) {
  std::lock_guard lock(impl_->grantMu);
  if (grant) {
    impl_->options.fetchGrants[id] = std::move(*grant);
  } else {
    impl_->options.fetchGrants.erase(id);
  }
}

std::optional<FetchGrant> Runtime::fetchGrant(const std::string& id) const {
  std::lock_guard lock(impl_->grantMu);
  auto it = impl_->options.fetchGrants.find(id);
  if (it == impl_->options.fetchGrants.end()) return std::nullopt;
  return it->second;
}

Result<std::string> Runtime::call(const std::string& id, const std::string& method, const std::string& argsJson) {
  std::shared_ptr<PluginInstance> instance;
  {
    std::shared_lock lock(impl_->mu);
    auto it = impl_->plugins.find(id);
    if (it == impl_->plugins.end()) return Error::notFound("plugin \"" + id + "\" is not active");
    instance = it->second;
  }
  json args = parseJsonOrDiscarded<json>(argsJson);
  if (!args.is_array()) return Error::invalid("call " + id + "." + method + ": the arguments must be a JSON array");
  return instance->call(method, argsJson);
}

}  // namespace patchbay
