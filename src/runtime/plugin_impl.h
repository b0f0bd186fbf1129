// The inside of one active plugin (PluginInstance::Impl), shared by the
// files that make it up; internal to the runtime. Who does what:
//   plugin_instance.cc  the public face: start, stop, cancel, deadlines
//   plugin_executor.cc  the executor thread: its queue, timers, tickets
//   plugin_isolate.cc   the isolate's life: create, load, heap watch, dispose
//   plugin_modules.cc   server.js and its relative imports
//   api/*.cc            one file per JavaScript-visible API, each adding its
//                       natives to the object the prelude builds `sodium` from
//
// Threads: any thread may run the plugin's code under the isolate's
// v8::Locker (runJs); a call gets a ticket, which the plugin side completes
// with native.done(ticket, ok, answer): into the caller's slot when it
// answers during the call, else through the ticket table once a timer, fetch
// answer or cron run (on the executor) finishes it.
#pragma once

#include <v8.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "patchbay/cron.h"
#include "patchbay/permissions.h"
#include "runtime/plugin_db.h"
#include "runtime/plugin_instance.h"
#include "runtime/v8_strings.h"

namespace patchbay {

struct FreshIsolate;

// A call or an activation: from posting to its answer.
constexpr std::chrono::milliseconds kWallTimeout{30000};
constexpr uint64_t kMaxModuleBytes = 8u << 20;

std::string describeDuration(std::chrono::milliseconds d);

// How a ticket ended: the plugin's answer, or why there is none.
struct Completion {
  bool ok = false;
  std::string json;
  std::string body;  // a route's response body, passed apart from its JSON envelope (no escaping, no parse)
  // Why a call ended without the plugin's answer (ok is false then too).
  enum class Ended { kAnswered, kTimedOut, kStopped } ended = Ended::kAnswered;
  std::vector<HookChange> hookChanges;  // what a hook handler changed, as its context's delta listed it
};

// The message a failed completion carries: a runtime failure is a JSON
// string, a handler's error may be plain text.
std::string failureText(const Completion& c);

struct PluginInstance::Impl {
  PluginInstance* owner = nullptr;
  Manifest manifest;
  std::string realDir;        // the plugin's folder (resolved)
  PluginDataPlace dataPlace;  // where its data is
  RuntimeLimits limits;
  InstanceHost host;

  // --- executor (plugin_executor.cc) -----------------------------------------
  std::thread thread;
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::function<void()>> tasks;  // guarded by mu
  bool stopping = false;                    // guarded by mu
  struct Timer {
    std::chrono::steady_clock::time_point due;
    std::chrono::milliseconds interval;
    bool repeat;
  };
  std::map<int64_t, Timer> timers;  // guarded by mu (set from whichever thread runs the plugin)

  void post(std::function<void()> task);
  void loop();
  // Timers share a budget: at most kTimerBudget of each second on the
  // plugin's thread. Beyond it they wait for the next second (as browsers
  // slow a background tab's timers), so a plugin with thousands of
  // setInterval(f, 0) slows itself, not the machine. Requests are not held.
  static constexpr std::chrono::milliseconds kTimerBudget{250};
  static constexpr std::chrono::milliseconds kMinInterval{4};  // the HTML spec's clamp for repeating timers
  std::chrono::steady_clock::time_point timerWindowStart{};    // executor thread only
  std::chrono::nanoseconds timerTimeInWindow{0};
  bool throttleReported = false;
  std::chrono::steady_clock::time_point timerBudgetExhaustedUntil(std::chrono::steady_clock::time_point now);
  void fireTimer(int64_t id);

  // --- tickets: answers other threads wait for (plugin_executor.cc) ---------
  std::mutex ticketMu;
  std::map<uint64_t, std::function<void(Completion)>> tickets;  // guarded by ticketMu
  std::atomic<uint64_t> nextTicketId{1};
  uint64_t currentTicket = 0;  // the ticket the running task owes; under the isolate's Locker

  // A ticket whose completion calls `onDone` (on whichever thread completes it).
  uint64_t newTicket(std::function<void(Completion)> onDone);
  // A ticket to wait for. (Not std::promise: its call_once and futex cost
  // more than the whole of a small hook handler.)
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Completion result;
    void set(Completion c);
    // The answer, or nullopt after `timeout`.
    std::optional<Completion> wait(std::chrono::milliseconds timeout);
  };
  std::pair<uint64_t, std::shared_ptr<Waiter>> newWaitedTicket();
  void complete(uint64_t ticket, Completion c);
  void failAllTickets(const std::string& why);

  // The answer of a call made on the caller's thread: filled at once when
  // the plugin answers synchronously (no allocation, no lock), else a waiter
  // registered before the isolate's lock is let go.
  struct SyncAnswer {
    std::optional<Completion> value;
    std::shared_ptr<Waiter> waiter;
  };
  SyncAnswer* syncAnswer = nullptr;  // of the running task; under the Locker
  uint64_t syncTicket = 0;
  // Completes a ticket from plugin code or the runtime (under the Locker).
  void deliver(uint64_t ticket, Completion c);

  // Runs `body` (which calls into JS with the ticket) on this thread, under
  // the isolate's lock; when the answer is not there at once (the plugin
  // awaits a timer or a fetch), waits for the executor to finish it.
  template <class Body>  // void(v8::Local<v8::Context>, uint64_t ticket)
  Result<Completion> invoke(Body&& body, std::chrono::milliseconds timeout = kWallTimeout);

  // --- requests (api/http.cc): answered on the executor ----------------------
  // A request waits for the plugin (its queue, its awaits) without a thread
  // of the caller's: an HTTP server's IO threads stay free whatever the
  // plugin does. Bounded: at most limits.maxRequestsInFlight at once (503
  // above), each answered within limits.requestTimeout (504 after).
  std::atomic<size_t> requestsInFlight{0};
  std::mutex deadlineMu;
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> requestDeadlines;  // guarded by deadlineMu
  // Completes the tickets of requests past their deadline (the watchdog's
  // tick); true when others still wait.
  bool expireRequests(std::chrono::steady_clock::time_point now);
  void forgetDeadline(std::chrono::steady_clock::time_point due, uint64_t ticket);
  // A response body as bytes: a string's UTF-8, or an ArrayBuffer(View)'s
  // bytes; refused above limits.maxResponseBytes.
  Result<std::string> responseBody(v8::Local<v8::Value> value);
  // `data` as a Uint8Array for the plugin, over memory of its own.
  v8::Local<v8::Value> bytes(const std::string& data);
  void setRouteCount(size_t n) { owner->routes_ = n; }

  // --- V8 (plugin_isolate.cc) ------------------------------------------------
  v8::Isolate* isolate = nullptr;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator;
  v8::Global<v8::Context> context;
  v8::Global<v8::Object> entries;                                               // what the prelude returned
  std::map<std::string, v8::Global<v8::Function>, std::less<>> entryFunctions;  // its functions, looked up once
  // Held shared while code runs in the isolate, exclusively to dispose it.
  std::shared_mutex lifeMu;

  // Runs `body` in the plugin's context with the CPU deadline armed, then
  // the microtasks. Uncaught errors are logged; a termination (deadline or
  // heap limit) is cleared before the isolate runs again.
  // Any thread may run plugin code: the isolate's Locker makes it one at a
  // time. `ticket` is the answer this task owes (failed if it is terminated).
  // Returns false when it did not run (the isolate is gone or failed).
  // With `answer`, the ticket's answer lands there when given during the
  // task; otherwise a waiter for it is registered before the lock is let go.
  template <class Body>  // void(v8::Local<v8::Context>)
  bool runJs(Body&& body, uint64_t ticket = 0, SyncAnswer* answer = nullptr);
  // Calls the prelude's entry point `name`; false when it threw (the
  // surrounding TryCatch of runJs holds the exception).
  bool callEntry(v8::Local<v8::Context> ctx, const char* name, std::initializer_list<v8::Local<v8::Value>> args) {
    return callEntry(ctx, name, const_cast<v8::Local<v8::Value>*>(args.begin()), args.size());
  }
  bool callEntry(v8::Local<v8::Context> ctx, const char* name, v8::Local<v8::Value>* args, size_t count,
                 v8::Local<v8::Value>* returned = nullptr);

  // On the executor thread: the isolate, the prelude, the module; then the
  // default export is run with the API object (its ticket completes later).
  Status initialize(uint64_t activationTicket);
  Status loadPlugin(uint64_t activationTicket, FreshIsolate& fresh);
  void disposeIsolate();
  void afterTermination();
  void fail(const std::string& why);
  std::string describe(v8::TryCatch& tryCatch);
  void log(const std::string& level, const std::string& message) {
    if (host.log) host.log(level, message);
  }

  // --- limits (plugin_isolate.cc) ---------------------------------------------
  std::atomic<int64_t> taskStartedNs{0};  // 0: no task running
  // Arms the CPU deadline of the task starting now (taskStartedNs), and
  // wakes the watchdog if it sleeps.
  void taskStarts() {
    taskStartedNs = std::chrono::steady_clock::now().time_since_epoch().count();
    if (host.watchdog) host.watchdog->ring();
  }
  std::atomic<bool> heapExceeded{false};
  std::atomic<bool> deadlineHit{false};
  std::atomic<bool> exited{false};  // the executor's loop has returned
  size_t heapRecheckAbove = 0;      // under the isolate's Locker
  bool heapCheckRequested = false;  // under the isolate's Locker
  void heapOverLimit(v8::Isolate* isolate);
  static void watchHeap(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags, void* data);
  static void checkHeapFully(v8::Isolate* isolate, void* data);
  static size_t nearHeapLimit(void* data, size_t current, size_t);
  static void promiseRejected(v8::PromiseRejectMessage message);
  // Rejections without a handler in the task running now; one that gets a
  // handler before the task's microtasks are done (`await` of an async
  // call that threw) is dropped, the others logged when the task ends.
  // Under the isolate's Locker.
  std::vector<std::pair<v8::Global<v8::Promise>, std::string>> unhandledRejections;
  void reportUnhandledRejections();

  // --- modules (plugin_modules.cc) -------------------------------------------
  std::map<std::string, v8::Global<v8::Module>> modulesByPath;
  std::unordered_multimap<int, std::string> pathByModuleHash;
  // The file an import names, or an error message. Only relative imports
  // inside the plugin's folder are allowed.
  Result<std::string> resolvePath(const std::string& specifier, const std::string& referrer);
  std::string relative(const std::string& path) const;
  v8::MaybeLocal<v8::Module> loadModule(const std::string& path);
  static v8::MaybeLocal<v8::Module> resolveModule(v8::Local<v8::Context> ctx, v8::Local<v8::String> specifier,
                                                  v8::Local<v8::FixedArray>, v8::Local<v8::Module> referrer);
  static v8::MaybeLocal<v8::Promise> dynamicImport(v8::Local<v8::Context> ctx, v8::Local<v8::Data>,
                                                   v8::Local<v8::Value>, v8::Local<v8::String> specifier,
                                                   v8::Local<v8::FixedArray>);

  // --- state of the APIs (api/*.cc) ------------------------------------------
  std::vector<v8::Global<v8::Object>> compiledHookShapes;  // {build, same} by HookShapes id, compiled in this isolate (api/hooks.cc)
  struct CronJob {
    CronSchedule schedule;
    CronJobState state;
    std::chrono::steady_clock::time_point startedAt;
  };
  mutable std::mutex cronMu;
  std::map<std::string, CronJob> cron;  // guarded by cronMu (api/cron.cc)
  struct Fetcher {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex fetchMu;
  std::vector<Fetcher>
      fetchers;  // guarded by fetchMu; finished ones are joined as new ones start, the rest by stop() (api/fetch.cc)
  std::unique_ptr<PluginDb> db;  // api/db.cc
  // sodium.events waiting for this plugin's executor (api/events.cc): at most
  // kMaxPendingEvents, so that a plugin emitting in a loop cannot fill
  // every other plugin's queue; past it events are dropped (logged once).
  static constexpr size_t kMaxPendingEvents = 1000;
  std::atomic<size_t> pendingEvents{0};
  std::atomic<bool> eventsDroppedReported{false};
  // The plugin's database, opened on first use (null after throwing in the plugin).
  PluginDb* database();
  mutable std::mutex stateMu;
  nlohmann::json ui = nlohmann::json::object();  // guarded by stateMu (api/ui.cc)
  std::string failure;                           // guarded by stateMu

  // --- natives: what the APIs call --------------------------------------------
  static Impl* self(const v8::FunctionCallbackInfo<v8::Value>& info) {
    return static_cast<Impl*>(info.Data().As<v8::External>()->Value());
  }
  // Every argument a plugin passes to a native is measured before it is
  // copied out (a string that is small inside V8, a rope, can be huge once
  // flattened): above the cap the call throws a RangeError in the plugin.
  struct ArgumentTooLarge {
    int index;
  };
  static constexpr size_t kMaxArgBytes = 16u << 20;
  std::string arg(const v8::FunctionCallbackInfo<v8::Value>& info, int i);
  void throwError(const std::string& message);
  void throwTypeError(const std::string& message);
  // Whether the manifest opens `capability` (patchbay/permissions.h); if
  // not, `call` throws, naming the permission it needs.
  bool opens(Capability capability, const std::string& call);
};

// The object the prelude receives (`native`), as each API file fills it.
struct Natives {
  PluginInstance::Impl& impl;
  v8::Local<v8::Context> ctx;
  v8::Local<v8::Object> target;
  // Adds native `name`; an argument above Impl::kMaxArgBytes becomes the
  // plugin's RangeError (guarded<F>).
  template <v8::FunctionCallback F>
  void add(const char* name);
};

// Each JavaScript-visible API adds its natives (api/<name>.cc).
namespace api {
void addLogger(Natives& natives);       // console.*, sodium.logger.*
void addHttp(Natives& natives);         // routes: done, routesChanged
void addDb(Natives& natives);           // sodium.db
void addConfig(Natives& natives);       // sodium.config
void addHooks(Natives& natives);        // sodium.hooks
void addTimers(Natives& natives);       // setTimeout, setInterval and their clears
void addCron(Natives& natives);         // sodium.cron
void addFetch(Natives& natives);        // fetch
void addPlugins(Natives& natives);      // sodium.plugins.call
void addUi(Natives& natives);           // sodium.ui
void addGlobals(Natives& natives);      // structuredClone, crypto.randomUUID
void addData(Natives& natives);         // sodium.data: the panel's records
void addEvents(Natives& natives);       // sodium.events: between plugins
}  // namespace api

// ---------------------------------------------------------------------------
// Templates.

template <v8::FunctionCallback F>
void guardedNative(const v8::FunctionCallbackInfo<v8::Value>& info) {
  try {
    F(info);
  } catch (const PluginInstance::Impl::ArgumentTooLarge& e) {
    info.GetIsolate()->ThrowException(v8::Exception::RangeError(
        v8str(info.GetIsolate(), "argument " + std::to_string(e.index + 1) + " is larger than " +
                                     std::to_string(PluginInstance::Impl::kMaxArgBytes >> 20) + " MiB")));
  }
}

template <v8::FunctionCallback F>
void Natives::add(const char* name) {
  v8::Isolate* isolate = impl.isolate;
  auto tpl = v8::FunctionTemplate::New(isolate, guardedNative<F>, v8::External::New(isolate, &impl));
  target->Set(ctx, v8str(isolate, name), tpl->GetFunction(ctx).ToLocalChecked()).Check();
}

template <class Body>
Result<Completion> PluginInstance::Impl::invoke(Body&& body, std::chrono::milliseconds timeout) {
  if (owner->failed()) return Error::unsupported("plugin \"" + manifest.id + "\" has failed: " + owner->failure());
  const uint64_t ticket = nextTicketId.fetch_add(1);
  SyncAnswer answer;
  bool ran = runJs([&](v8::Local<v8::Context> ctx) { body(ctx, ticket); }, ticket, &answer);
  if (!ran) return Error::unsupported("plugin \"" + manifest.id + "\" has failed: " + owner->failure());
  if (answer.value) return std::move(*answer.value);
  auto late = answer.waiter->wait(timeout);
  if (!late) {
    std::lock_guard lock(ticketMu);
    tickets.erase(ticket);
    return Error::limit("did not settle within " + describeDuration(timeout));
  }
  return std::move(*late);
}

template <class Body>
bool PluginInstance::Impl::runJs(Body&& body, uint64_t ticket, SyncAnswer* answer) {
  std::shared_lock life(lifeMu);  // the isolate is not disposed under us
  if (!isolate || owner->failed()) return false;
  v8::Locker locker(isolate);
  const uint64_t outer = currentTicket, outerSyncTicket = syncTicket;
  SyncAnswer* outerAnswer = syncAnswer;
  currentTicket = ticket;
  syncTicket = ticket;
  syncAnswer = answer;
  v8::Isolate::Scope isolateScope(isolate);
  v8::HandleScope handles(isolate);
  v8::Local<v8::Context> ctx = context.Get(isolate);
  v8::Context::Scope contextScope(ctx);
  {
    v8::TryCatch tryCatch(isolate);
    taskStarts();
    body(ctx);
    if (!tryCatch.HasTerminated()) isolate->PerformMicrotaskCheckpoint();
    taskStartedNs = 0;
    reportUnhandledRejections();
    if (tryCatch.HasCaught() && !tryCatch.HasTerminated()) log("error", describe(tryCatch));
  }
  afterTermination();
  if (answer && !answer->value) {
    answer->waiter = std::make_shared<Waiter>();
    std::lock_guard lock(ticketMu);
    tickets[ticket] = [w = answer->waiter](Completion c) { w->set(std::move(c)); };
  }
  currentTicket = outer;
  syncTicket = outerSyncTicket;
  syncAnswer = outerAnswer;
  return true;
}

}  // namespace patchbay
