// One active plugin: its isolate (used under its v8::Locker by the calling
// thread) and its executor thread (timers, fetch answers, cron).
// Internal to the runtime; V8 types stay in plugin_impl.h and the files it
// lists.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "patchbay/manifest.h"
#include "patchbay/runtime.h"
#include "runtime/hook_context.h"
#include "runtime/plugin_db.h"
#include "runtime/wake_bell.h"

namespace patchbay {

class IsolatePool;

// Where cron slots are claimed when processes share them (cron_claims.h).
struct CronCluster {
  std::shared_ptr<CronClaims> claims;
  std::string tenant;
};

// What an instance asks of the runtime that holds it.
struct InstanceHost {
  std::function<void(const std::string& level, const std::string& message)> log;
  // Registers a hook handler; false (after a warning) when the manifest does
  // not declare the event.
  std::function<bool(const std::string& event, double priority, int64_t handlerId)> registerHook;
  // plugins.call from this plugin: runs in the callee, blocks the caller.
  std::function<Result<std::string>(const std::string& target, const std::string& method, const std::string& argsJson)> callPlugin;
  // Outbound HTTP: whether allowed (manifest permission or grant), and to
  // which hosts (empty: any). Asked at each fetch: a grant changed by an
  // administrator applies at once.
  std::function<FetchGrant()> fetchAccess;
  // sodium.events.emit from this plugin: delivered to every active plugin.
  std::function<void(const std::string& event, const std::string& dataJson)> emitEvent;
  std::shared_ptr<PanelData> panelData;  // sodium.data (null: empty)
  std::chrono::milliseconds fetchTimeout{10000};
  uint64_t fetchMaxBytes = 5u << 20;
  // Where its isolate comes from (null: made when it starts).
  std::shared_ptr<IsolatePool> isolates;
  // Rung when a task starts or a request starts waiting (null: nobody to wake).
  std::shared_ptr<WakeBell> watchdog;
  // Rung when the plugin fails (null: nobody to wake).
  std::shared_ptr<WakeBell> supervisor;
};

class PluginInstance {
 public:
  // Starts the executor, creates the isolate, loads server.js and runs its
  // default export. On error the instance is already stopped.
  static Result<std::shared_ptr<PluginInstance>> start(const Manifest& manifest, const std::string& dir,
                                                       const PluginDataPlace& data, const RuntimeLimits& limits,
                                                       InstanceHost host);
  ~PluginInstance();

  // Answers a request to the plugin's routes on its executor thread, never
  // on the caller's. `done` is called once: on the executor, on the
  // watchdog's thread at the deadline (504), or at once on this thread when
  // refused (failed: an error; busy: 503; a body nested too deep: 400).
  using RequestDone = std::function<void(Result<PluginResponse>)>;
  void request(PluginRequest request, RequestDone done);
  // What one hook handler did: denied (ctx.deny or ctx._denied set), threw
  // (error), and the context it left when it changed it (JSON, without the
  // runtime's deny/_denied/_denyReason). A handler that never settles is
  // an error of the Result (kLimitExceeded), its changes lost.
  struct HookVerdict {
    bool denied = false;
    std::string reason;
    std::string error;                   // why the handler failed; "" when it did not
    std::optional<std::string> context;  // nullopt: left as it came, or changed as `changes` list
    std::vector<HookChange> changes;     // what its context's delta found changed (hook_context.h)
  };
  Result<HookVerdict> runHook(int64_t handlerId, const HookContext& context);
  Result<std::string> call(const std::string& method, const std::string& argsJson);
  // Runs this plugin's sodium.events handlers of `event` with a copy of the
  // data, later, on its executor (never on the caller's thread).
  void deliverEvent(const std::string& event, const std::string& dataJson);

  // Lets queued work finish, then disposes the isolate and joins the thread.
  void stop();
  // Answers every request still waiting for this instance as stopped (the
  // caller gets kUnsupported: 503), so that they hold it no longer.
  void cancelRequests(const std::string& why);

  const Manifest& manifest() const { return manifest_; }
  bool failed() const { return failed_.load(); }
  std::string failure() const;
  size_t routeCount() const { return routes_.load(); }
  // The UI contributions (sidebar items, pages, ...) as a JSON object.
  std::string uiJson() const;

  std::vector<CronJobState> cronJobs() const;
  // Starts this plugin's jobs that are due in `minute` (without waiting);
  // with a cluster, only the slots this process claims.
  void runDueCron(std::chrono::system_clock::time_point minute, const CronCluster* cluster = nullptr);
  // Claims and starts one job's slot (one whose holder died elsewhere).
  void runCronSlot(const std::string& job, std::chrono::system_clock::time_point minute, const CronCluster& cluster);

  // For the runtime's watchdog: terminates the running task when it has
  // run longer than the call timeout, and answers requests past theirs.
  // True while there is something left to time (a task running, a request
  // waiting). Thread-safe.
  bool checkDeadline(std::chrono::steady_clock::time_point now);

  struct Impl;

 private:
  void startCron(const std::string& job, std::chrono::system_clock::time_point minute, const CronCluster* cluster);
  PluginInstance(const Manifest& manifest, std::unique_ptr<Impl> impl);
  Manifest manifest_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> failed_{false};
  std::atomic<size_t> routes_{0};
  friend struct Impl;
};

}  // namespace patchbay
