// One plugin's isolate and executor thread. Any thread may run the plugin's
// code under the isolate's v8::Locker (runJs); a call gets a ticket, which
// the plugin side completes with native.done(ticket, ok, answer): into the
// caller's slot when it answers during the call, else through the ticket
// table once a timer, fetch answer or cron run (on the executor) finishes it.
#include "runtime/plugin_instance.h"

#include <libplatform/libplatform.h>
#include <pthread.h>
#include <sys/stat.h>
#include <v8.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <vector>

#include "patchbay/clock.h"
#include "patchbay/cron.h"
#include "patchbay/files.h"
#include "patchbay/http.h"
#include "patchbay/http_client.h"
#include "patchbay/integrity.h"
#include "patchbay/json.h"
#include "runtime/capped_allocator.h"
#include "runtime/hook_context.h"
#include "runtime/isolate_pool.h"
#include "runtime/plugin_db.h"
#include "runtime/plugin_http.h"
#include "runtime/plugin_settings.h"
#include "runtime/v8_engine.h"
#include "runtime/v8_strings.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::chrono::milliseconds kWallTimeout{30000};  // a call or an activation: from posting to its answer

std::string describeDuration(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s" : std::to_string(d.count()) + " ms";
}
constexpr uint64_t kMaxModuleBytes = 8u << 20;

struct Completion {
  bool ok = false;
  std::string json;
  std::string body;  // a route's response body, passed apart from its JSON envelope (no escaping, no parse)
  // Why a call ended without the plugin's answer (ok is false then too).
  enum class Ended { kAnswered, kTimedOut, kStopped } ended = Ended::kAnswered;
};

// The message a failed completion carries: a runtime failure is a JSON
// string, a handler's error may be plain text.
std::string failureText(const Completion& c) {
  json j = parseJsonOrDiscarded<json>(c.json);
  return j.is_string() ? j.get<std::string>() : c.json;
}

}  // namespace

struct PluginInstance::Impl {
  PluginInstance* owner = nullptr;
  Manifest manifest;
  std::string realDir;  // the plugin's folder (resolved)
  PluginDataPlace dataPlace;  // where its data is
  RuntimeLimits limits;
  InstanceHost host;

  // --- executor ---
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

  // --- V8 (executor thread only) ---
  v8::Isolate* isolate = nullptr;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator;
  v8::Global<v8::Context> context;
  v8::Global<v8::Object> entries;  // what the prelude returned
  std::map<std::string, v8::Global<v8::Function>, std::less<>> entryFunctions;  // its functions, looked up once
  std::vector<v8::Global<v8::Function>> shapeBuilders;  // hook contexts' builders by shape id (hook_context.h)
  std::map<std::string, v8::Global<v8::Module>> modulesByPath;
  std::unordered_multimap<int, std::string> pathByModuleHash;

  // --- tickets: answers other threads wait for ---
  std::mutex ticketMu;
  std::map<uint64_t, std::function<void(Completion)>> tickets;  // guarded by ticketMu
  std::atomic<uint64_t> nextTicketId{1};
  uint64_t currentTicket = 0;  // the ticket the running task owes; under the isolate's Locker
  // Held shared while code runs in the isolate, exclusively to dispose it.
  std::shared_mutex lifeMu;

  // --- limits ---
  std::atomic<int64_t> taskStartedNs{0};  // 0: no task running
  std::atomic<bool> heapExceeded{false};
  std::atomic<bool> deadlineHit{false};
  std::atomic<bool> exited{false};  // the executor's loop has returned
  size_t heapLimit = 0;

  struct CronJob {
    CronSchedule schedule;
    CronJobState state;
    std::chrono::steady_clock::time_point startedAt;
  };
  mutable std::mutex cronMu;
  std::map<std::string, CronJob> cron;  // guarded by cronMu

  struct Fetcher {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex fetchMu;
  std::vector<Fetcher> fetchers;  // guarded by fetchMu; finished ones are joined as new ones start, the rest by stop()

  std::unique_ptr<PluginDb> db;
  mutable std::mutex stateMu;
  json ui = json::object();  // guarded by stateMu
  std::string failure;       // guarded by stateMu

  // ------------------------------------------------------------------------
  void log(const std::string& level, const std::string& message) {
    if (host.log) host.log(level, message);
  }

  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mu);
      tasks.push_back(std::move(task));
    }
    wake.notify_one();
  }

  // A ticket whose completion calls `onDone` (on whichever thread completes it).
  uint64_t newTicket(std::function<void(Completion)> onDone) {
    uint64_t t = nextTicketId.fetch_add(1);
    std::lock_guard lock(ticketMu);
    tickets[t] = std::move(onDone);
    return t;
  }
  // A ticket to wait for. (Not std::promise: its call_once and futex cost
  // more than the whole of a small hook handler.)
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Completion result;
    void set(Completion c) {
      {
        std::lock_guard lock(mu);
        result = std::move(c);
        done = true;
      }
      cv.notify_one();
    }
    // The answer, or nullopt after `timeout`.
    std::optional<Completion> wait(std::chrono::milliseconds timeout) {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, timeout, [this] { return done; })) return std::nullopt;
      return std::move(result);
    }
  };
  std::pair<uint64_t, std::shared_ptr<Waiter>> newWaitedTicket() {
    auto waiter = std::make_shared<Waiter>();
    uint64_t t = newTicket([waiter](Completion c) { waiter->set(std::move(c)); });
    return {t, std::move(waiter)};
  }
  void complete(uint64_t ticket, Completion c) {
    std::function<void(Completion)> done;
    {
      std::lock_guard lock(ticketMu);
      auto it = tickets.find(ticket);
      if (it == tickets.end()) return;
      done = std::move(it->second);
      tickets.erase(it);
    }
    done(std::move(c));
  }
  void failAllTickets(const std::string& why) {
    std::map<uint64_t, std::function<void(Completion)>> pending;
    {
      std::lock_guard lock(ticketMu);
      pending.swap(tickets);
    }
    for (auto& [t, done] : pending) done({false, json(why).dump(), "", Completion::Ended::kStopped});
  }

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
  void deliver(uint64_t ticket, Completion c) {
    if (syncAnswer && ticket == syncTicket && !syncAnswer->value) {
      syncAnswer->value = std::move(c);
      return;
    }
    complete(ticket, std::move(c));
  }

  // Runs `body` (which calls into JS with the ticket) on this thread, under
  // the isolate's lock; when the answer is not there at once (the plugin
  // awaits a timer or a fetch), waits for the executor to finish it.
  template <class Body>  // void(v8::Local<v8::Context>, uint64_t ticket)
  Result<Completion> invoke(Body&& body, std::chrono::milliseconds timeout = kWallTimeout) {
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

  // --- requests: answered on the executor, never on the caller's thread -----
  // A request waits for the plugin (its queue, its awaits) without a thread
  // of the caller's: an HTTP server's IO threads stay free whatever the
  // plugin does. Bounded: at most limits.maxRequestsInFlight at once (503
  // above), each answered within limits.requestTimeout (504 after).
  std::atomic<size_t> requestsInFlight{0};
  std::mutex deadlineMu;
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> requestDeadlines;  // guarded by deadlineMu

  // Completes the tickets of requests past their deadline (the watchdog's tick).
  void expireRequests(std::chrono::steady_clock::time_point now) {
    std::vector<uint64_t> expired;
    {
      std::lock_guard lock(deadlineMu);
      while (!requestDeadlines.empty() && requestDeadlines.begin()->first <= now) {
        expired.push_back(requestDeadlines.begin()->second);
        requestDeadlines.erase(requestDeadlines.begin());
      }
    }
    for (uint64_t ticket : expired) {
      complete(ticket, {false, json("did not answer within " + describeDuration(limits.requestTimeout)).dump(), "", Completion::Ended::kTimedOut});
    }
  }
  void forgetDeadline(std::chrono::steady_clock::time_point due, uint64_t ticket) {
    std::lock_guard lock(deadlineMu);
    for (auto [it, end] = requestDeadlines.equal_range(due); it != end; ++it) {
      if (it->second == ticket) {
        requestDeadlines.erase(it);
        return;
      }
    }
  }

  // --- the executor loop -----------------------------------------------------
  void loop() {
    for (;;) {
      std::function<void()> task;
      int64_t timerId = 0;
      std::chrono::steady_clock::time_point turnStarted;
      {
        std::unique_lock lock(mu);
        for (;;) {
          if (!tasks.empty()) {
            task = std::move(tasks.front());
            tasks.pop_front();
            break;
          }
          if (stopping) return;
          auto now = std::chrono::steady_clock::now();
          turnStarted = now;
          auto next = std::chrono::steady_clock::time_point::max();
          const auto throttledUntil = timerBudgetExhaustedUntil(now);
          for (const auto& [id, t] : timers) {
            if (t.due <= now && now >= throttledUntil) {
              timerId = id;
              break;
            }
            next = std::min(next, std::max(t.due, throttledUntil));
          }
          if (timerId) break;
          if (next == std::chrono::steady_clock::time_point::max()) {
            wake.wait(lock);
          } else {
            wake.wait_until(lock, next);
          }
        }
      }
      if (task) {
        task();
      } else {
        fireTimer(timerId);
        // The whole turn counts against the timers' budget: with thousands
        // of timers, finding the due one costs more than running it.
        timerTimeInWindow += std::chrono::steady_clock::now() - turnStarted;
      }
    }
  }

  // Timers share a budget: at most kTimerBudget of each second on the
  // plugin's thread. Beyond it they wait for the next second (as browsers
  // slow a background tab's timers), so a plugin with thousands of
  // setInterval(f, 0) slows itself, not the machine. Requests are not held.
  static constexpr std::chrono::milliseconds kTimerBudget{250};
  static constexpr std::chrono::milliseconds kMinInterval{4};  // the HTML spec's clamp for repeating timers
  std::chrono::steady_clock::time_point timerWindowStart{};     // executor thread only
  std::chrono::nanoseconds timerTimeInWindow{0};
  bool throttleReported = false;
  std::chrono::steady_clock::time_point timerBudgetExhaustedUntil(std::chrono::steady_clock::time_point now) {
    if (now - timerWindowStart >= std::chrono::seconds(1)) {
      timerWindowStart = now;
      timerTimeInWindow = {};
    }
    if (timerTimeInWindow < kTimerBudget) return {};
    if (!throttleReported) {
      throttleReported = true;
      log("warn", "its timers ran for more than " + std::to_string(kTimerBudget.count()) + " ms in one second; they are slowed down to that share");
    }
    return timerWindowStart + std::chrono::seconds(1);
  }

  void fireTimer(int64_t id) {
    const auto started = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu);
      auto it = timers.find(id);
      if (it == timers.end()) return;
      if (it->second.repeat) {
        it->second.due = started + std::max(it->second.interval, kMinInterval);
      } else {
        timers.erase(it);
      }
    }
    runJs([&](v8::Local<v8::Context> ctx) { callEntry(ctx, "fireTimer", {v8::Number::New(isolate, static_cast<double>(id))}); });
  }

  // Calls the prelude's entry point `name`; false when it threw (the
  // surrounding TryCatch of runJs holds the exception).
  bool callEntry(v8::Local<v8::Context> ctx, const char* name, std::initializer_list<v8::Local<v8::Value>> args) {
    return callEntry(ctx, name, const_cast<v8::Local<v8::Value>*>(args.begin()), args.size());
  }
  bool callEntry(v8::Local<v8::Context> ctx, const char* name, v8::Local<v8::Value>* args, size_t count,
                 v8::Local<v8::Value>* returned = nullptr) {
    auto cached = entryFunctions.find(name);
    v8::Local<v8::Function> fn;
    if (cached != entryFunctions.end()) {
      fn = cached->second.Get(isolate);
    } else {
      v8::Local<v8::Value> value;
      if (!entries.Get(isolate)->Get(ctx, v8str(isolate, name)).ToLocal(&value) || !value->IsFunction()) return false;
      fn = value.As<v8::Function>();
      entryFunctions[name].Reset(isolate, fn);
    }
    v8::Local<v8::Value> result;
    return fn->Call(ctx, v8::Undefined(isolate), static_cast<int>(count), args).ToLocal(returned ? returned : &result);
  }

  // Runs `body` in the plugin's context with the CPU deadline armed, then
  // the microtasks. Uncaught errors are logged; a termination (deadline or
  // heap limit) is cleared before the isolate runs again.
  // Any thread may run plugin code: the isolate's Locker makes it one at a
  // time. `ticket` is the answer this task owes (failed if it is terminated).
  // Returns false when it did not run (the isolate is gone or failed).
  // With `answer`, the ticket's answer lands there when given during the
  // task; otherwise a waiter for it is registered before the lock is let go.
  template <class Body>  // void(v8::Local<v8::Context>)
  bool runJs(Body&& body, uint64_t ticket = 0, SyncAnswer* answer = nullptr) {
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
      taskStartedNs = std::chrono::steady_clock::now().time_since_epoch().count();
      body(ctx);
      if (!tryCatch.HasTerminated()) isolate->PerformMicrotaskCheckpoint();
      taskStartedNs = 0;
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

  void afterTermination() {
    if (heapExceeded) {
      isolate->CancelTerminateExecution();
      fail("the plugin reached its heap limit of " + std::to_string(limits.heapBytes >> 20) + " MiB and was stopped");
      post([this] { disposeIsolate(); });  // its heap is full: it never runs again
      return;
    }
    if (deadlineHit.exchange(false)) {
      isolate->CancelTerminateExecution();
      std::string why = "a task ran longer than " + std::to_string(limits.callTimeout.count()) + " ms and was terminated";
      log("error", why);
      if (currentTicket) deliver(currentTicket, {false, json(why).dump()});
    }
  }

  void fail(const std::string& why) {
    {
      std::lock_guard lock(stateMu);
      if (failure.empty()) failure = why;
    }
    owner->failed_ = true;
    log("error", why);
    failAllTickets(why);
  }

  std::string describe(v8::TryCatch& tryCatch) {
    v8::Local<v8::Message> message = tryCatch.Message();
    std::string text = toUtf8(isolate, tryCatch.Exception());
    if (message.IsEmpty()) return text;
    std::string where = toUtf8(isolate, message->GetScriptResourceName());
    int line = message->GetLineNumber(isolate->GetCurrentContext()).FromMaybe(0);
    return where + ":" + std::to_string(line) + ": " + text;
  }

  // --- hook contexts (hook_context.h) ----------------------------------------------
  // The builder of `context`'s shape in this isolate, compiled on first use;
  // empty if it does not compile (then the context goes as JSON).
  v8::MaybeLocal<v8::Function> shapeBuilder(v8::Local<v8::Context> ctx, const HookContext& context) {
    const auto id = static_cast<size_t>(context.shapeId);
    if (id < shapeBuilders.size() && !shapeBuilders[id].IsEmpty()) return shapeBuilders[id].Get(isolate);
    v8::TryCatch tryCatch(isolate);
    const std::string source = "(function (v) { 'use strict'; return " + context.shape.source + "; })";
    v8::ScriptOrigin origin(isolate, v8str(isolate, "patchbay:hook-context"));
    v8::Local<v8::Script> script;
    v8::Local<v8::Value> fn;
    if (!v8::Script::Compile(ctx, v8str(isolate, source), &origin).ToLocal(&script) || !script->Run(ctx).ToLocal(&fn) ||
        !fn->IsFunction()) {
      return {};
    }
    if (shapeBuilders.size() <= id) shapeBuilders.resize(id + 1);
    shapeBuilders[id].Reset(isolate, fn.As<v8::Function>());
    return fn.As<v8::Function>();
  }
  // The shape's values, in order (the builder's argument, gathered by the
  // entry's rest parameter: cheaper than an array made through the API).
  size_t hookValues(const HookContext& context, v8::Local<v8::Value>* items) {
    const size_t n = std::min(context.shape.values.size(), kMaxHookValues);
    for (size_t i = 0; i < n; ++i) {
      const HookValue& v = context.shape.values[i];
      switch (v.kind) {
        case HookValue::Kind::kNumber: items[i] = v8::Number::New(isolate, v.number); break;
        case HookValue::Kind::kString: items[i] = v8str(isolate, v.text); break;
        case HookValue::Kind::kTrue: items[i] = v8::True(isolate); break;
        case HookValue::Kind::kFalse: items[i] = v8::False(isolate); break;
        case HookValue::Kind::kNull: items[i] = v8::Null(isolate); break;
      }
    }
    return n;
  }

  // --- natives -----------------------------------------------------------------
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
  std::string arg(const v8::FunctionCallbackInfo<v8::Value>& info, int i) {
    if (i >= info.Length()) return std::string();
    if (info[i]->IsString() && static_cast<size_t>(info[i].As<v8::String>()->Length()) > kMaxArgBytes) throw ArgumentTooLarge{i};
    std::string out = toUtf8(isolate, info[i]);
    if (out.size() > kMaxArgBytes) throw ArgumentTooLarge{i};
    return out;
  }
  // Wraps a native: an argument above the cap becomes the plugin's RangeError.
  template <v8::FunctionCallback F>
  static void guarded(const v8::FunctionCallbackInfo<v8::Value>& info) {
    try {
      F(info);
    } catch (const ArgumentTooLarge& e) {
      info.GetIsolate()->ThrowException(v8::Exception::RangeError(
          v8str(info.GetIsolate(), "argument " + std::to_string(e.index + 1) + " is larger than " + std::to_string(kMaxArgBytes >> 20) + " MiB")));
    }
  }
  void throwError(const std::string& message) {
    isolate->ThrowException(v8::Exception::Error(v8str(isolate, message)));
  }
  void throwTypeError(const std::string& message) {
    isolate->ThrowException(v8::Exception::TypeError(v8str(isolate, message)));
  }

  static constexpr size_t kMaxLogLineBytes = 16u << 10;
  static void nativeLog(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    // The prelude cuts long lines; one that still comes too long is
    // replaced, never copied (flattening a rope would allocate all of it).
    std::string line;
    v8::Local<v8::String> text;
    if (info.Length() > 1 && info[1]->ToString(info.GetIsolate()->GetCurrentContext()).ToLocal(&text)) {
      line = static_cast<size_t>(text->Length()) > 2 * kMaxLogLineBytes
                 ? "(a log line of " + std::to_string(text->Length()) + " characters was dropped)"
                 : toUtf8(s->isolate, text);
    }
    s->log(s->arg(info, 0), line);
  }

  static void nativeDone(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    auto ticket = static_cast<uint64_t>(info[0]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0));
    Completion c{info[1]->BooleanValue(info.GetIsolate()), s->arg(info, 2)};
    // A route's body: text or bytes, measured before it is copied out of
    // the isolate (a 500 MB rope of a string is small inside V8 and large
    // once flattened).
    if (info.Length() > 3 && !info[3]->IsUndefined()) {
      auto body = s->responseBody(info[3]);
      if (body) {
        c.body = std::move(*body);
      } else {
        s->log("error", "a route's answer was refused (the client got a 500): " + body.error().message);
        c = {false, json(body.error().message).dump()};
      }
    }
    s->deliver(ticket, std::move(c));
  }
  // A response body as bytes: a string's UTF-8, or an ArrayBuffer(View)'s
  // bytes; refused above limits.maxResponseBytes.
  Result<std::string> responseBody(v8::Local<v8::Value> value) {
    const uint64_t max = limits.maxResponseBytes;
    auto tooLarge = [&] { return Error::limit("the response body is larger than " + std::to_string(max) + " bytes"); };
    if (value->IsArrayBufferView()) {
      auto view = value.As<v8::ArrayBufferView>();
      if (view->ByteLength() > max) return tooLarge();
      std::string out(view->ByteLength(), '\0');
      view->CopyContents(out.data(), out.size());
      return out;
    }
    if (value->IsArrayBuffer()) {
      auto buffer = value.As<v8::ArrayBuffer>();
      if (buffer->ByteLength() > max) return tooLarge();
      return std::string(static_cast<const char*>(buffer->Data()), buffer->ByteLength());
    }
    v8::Local<v8::String> text;
    if (!value->ToString(isolate->GetCurrentContext()).ToLocal(&text)) return Error::invalid("the response body is not text");
    if (static_cast<uint64_t>(text->Length()) > max) return tooLarge();  // every UTF-16 unit is at least one byte
    std::string out = toUtf8(isolate, text);
    if (out.size() > max) return tooLarge();
    return out;
  }
  // `data` as a Uint8Array for the plugin, over memory of its own (outside
  // the plugin's ArrayBuffer cap, which it cannot grow: the size is bounded
  // by the caller).
  v8::Local<v8::Value> bytes(const std::string& data) {
    auto* copy = new std::string(data);
    auto store = v8::ArrayBuffer::NewBackingStore(
        copy->data(), copy->size(), [](void*, size_t, void* owner) { delete static_cast<std::string*>(owner); }, copy);
    auto buffer = v8::ArrayBuffer::New(isolate, std::shared_ptr<v8::BackingStore>(std::move(store)));
    return v8::Uint8Array::New(buffer, 0, data.size());
  }
  // The plugin's database, opened on first use.
  PluginDb* database() {
    if (!db) {
      auto opened = PluginDb::open(dataPlace, {.interrupt = &deadlineHit, .statementTimeout = limits.callTimeout});
      if (!opened) {
        throwError("db: " + opened.error().message);
        return nullptr;
      }
      db = std::move(*opened);
    }
    return db.get();
  }

  static void nativeDb(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    if (!s->database()) return;
    auto r = s->db->call(s->arg(info, 0), s->arg(info, 1), s->arg(info, 2), s->arg(info, 3));
    if (!r) return s->throwError(r.error().message);
    info.GetReturnValue().Set(v8str(info.GetIsolate(), *r));
  }
  static void nativeRegisterHook(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    auto ctx = info.GetIsolate()->GetCurrentContext();
    bool ok = s->host.registerHook && s->host.registerHook(s->arg(info, 0), info[1]->NumberValue(ctx).FromMaybe(10),
                                                          static_cast<int64_t>(info[2]->NumberValue(ctx).FromMaybe(0)));
    info.GetReturnValue().Set(ok);
  }
  static void nativeRoutesChanged(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    s->owner->routes_ = static_cast<size_t>(info[0]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0));
  }
  static void nativeSetTimer(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    auto ctx = info.GetIsolate()->GetCurrentContext();
    auto id = static_cast<int64_t>(info[0]->NumberValue(ctx).FromMaybe(0));
    auto ms = std::chrono::milliseconds(static_cast<int64_t>(info[1]->NumberValue(ctx).FromMaybe(0)));
    {
      std::lock_guard lock(s->mu);
      if (s->timers.size() >= s->limits.maxTimers) {
        info.GetIsolate()->ThrowException(v8::Exception::RangeError(
            v8str(info.GetIsolate(), "too many timers: plugin \"" + s->manifest.id + "\" has " + std::to_string(s->limits.maxTimers) +
                                         " pending; clear some (clearTimeout, clearInterval) first")));
        return;
      }
      s->timers[id] = {std::chrono::steady_clock::now() + ms, ms, info[2]->BooleanValue(info.GetIsolate())};
    }
    s->wake.notify_one();  // the executor may be asleep with no timer to wait for
  }
  static void nativeClearTimer(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    std::lock_guard lock(s->mu);
    s->timers.erase(static_cast<int64_t>(info[0]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0)));
  }
  static void nativeRegisterCron(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    std::string id = s->arg(info, 0);
    auto schedule = CronSchedule::parse(s->arg(info, 1));
    if (!schedule) return s->throwError("cron.register(\"" + id + "\"): " + schedule.error().message);
    std::lock_guard lock(s->cronMu);
    CronJob& job = s->cron[id];
    job.schedule = std::move(*schedule);
    job.state.pluginId = s->manifest.id;
    job.state.id = id;
    job.state.schedule = job.schedule.text();
  }
  // Which API objects the plugin gets: all when the manifest lists no
  // permissions; else those its permissions name. fetch always needs a grant.
  static void nativeAllows(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    std::string what = s->arg(info, 0);
    const Manifest& m = s->manifest;
    auto any = [&](std::initializer_list<const char*> names) {
      for (const char* n : names) {
        if (m.hasPermission(n)) return true;
      }
      return false;
    };
    bool allowed = true;
    if (!m.permissions.empty()) {
      if (what == "db") allowed = any({"db:own", "database.read", "database.write", "database.create_tables"});
      else if (what == "http") allowed = any({"http:routes", "api.register_routes"});
      else if (what == "cron") allowed = any({"cron:register"});
      else if (what == "ui") allowed = any({"ui:pages", "ui:sidebar", "ui:admin", "ui:widgets", "ui:server-tabs"});
      else if (what == "plugins") allowed = any({"plugins:call"});
    }
    info.GetReturnValue().Set(allowed);
  }

  static void nativeCallPlugin(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    if (!s->host.callPlugin) return s->throwError("plugins.call is not available here");
    // The wait for the other plugin does not count against this task's CPU time.
    const int64_t started = s->taskStartedNs.exchange(0);
    const auto waitStart = std::chrono::steady_clock::now();
    auto r = s->host.callPlugin(s->arg(info, 0), s->arg(info, 1), s->arg(info, 2));
    if (started) {
      s->taskStartedNs = started + (std::chrono::steady_clock::now() - waitStart).count();
    }
    if (!r) return s->throwError(r.error().message);
    info.GetReturnValue().Set(v8str(info.GetIsolate(), *r));
  }

  // fetch(id, url, method, headersJson, body): checked here, performed on a
  // worker thread, answered by a task that calls the prelude's fetchDone.
  static void nativeFetch(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    auto id = static_cast<int64_t>(info[0]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0));
    std::string url = s->arg(info, 1), method = s->arg(info, 2), headersJson = s->arg(info, 3), body = s->arg(info, 4);
    const FetchGrant access = s->host.fetchAccess ? s->host.fetchAccess() : FetchGrant{false, {}};
    if (!access.allowed) {
      return s->throwError("fetch is not allowed: plugin \"" + s->manifest.id +
                           "\" needs the \"webhooks:send\" permission in its manifest or an administrator's grant");
    }
    std::string lower = url;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!lower.starts_with("http://") && !lower.starts_with("https://")) return s->throwError("fetch: only http and https URLs, not \"" + url + "\"");
    size_t hostStart = lower.find("://") + 3;
    size_t hostEnd = lower.find_first_of("/?#", hostStart);
    std::string authority = lower.substr(hostStart, hostEnd == std::string::npos ? std::string::npos : hostEnd - hostStart);
    if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
    std::string hostName = authority.starts_with("[") ? authority.substr(0, authority.find(']') + 1) : authority.substr(0, authority.find(':'));
    if (!access.hosts.empty() && std::find(access.hosts.begin(), access.hosts.end(), hostName) == access.hosts.end()) {
      return s->throwError("fetch: host \"" + hostName + "\" is not among the hosts granted to plugin \"" + s->manifest.id + "\"");
    }
    // What goes into the request line and headers is HTTP's, checked here:
    // a CR or LF in a method or header would write lines of its own.
    if (!http::isToken(method)) return s->throwTypeError("fetch: the method " + json(method).dump() + " is not an HTTP token");
    http::ClientRequest request;
    request.method = method;
    request.url = url;
    request.body = body;
    request.timeout = s->host.fetchTimeout;
    request.maxResponseBytes = s->host.fetchMaxBytes;
    json headers = parseJsonOrDiscarded<json>(headersJson);
    if (headers.is_array()) {
      for (const auto& h : headers) {
        if (!(h.is_array() && h.size() == 2 && h[0].is_string() && h[1].is_string())) continue;
        const std::string &name = h[0].get_ref<const std::string&>(), &value = h[1].get_ref<const std::string&>();
        if (!http::isToken(name)) return s->throwTypeError("fetch: the header name " + json(name).dump() + " is not an HTTP token");
        if (!http::isFieldValue(value)) {
          return s->throwTypeError("fetch: the value of header \"" + name + "\" holds a control character (CR, LF, NUL)");
        }
        request.headers.emplace_back(name, value);
      }
    }
    std::lock_guard lock(s->fetchMu);
    std::erase_if(s->fetchers, [](Fetcher& f) {
      if (!f.done->load()) return false;
      f.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    s->fetchers.push_back({std::thread([s, id, request, done] {
      auto response = http::fetch(request);
      bool ok = response.ok();
      std::string result;
      if (ok) {
        json hs = json::array();
        for (const auto& [k, v] : response->headers) hs.push_back({k, v});
        result = json{{"status", response->status}, {"url", request.url}, {"headers", hs}, {"body", response->body}}.dump(-1, ' ', false, json::error_handler_t::replace);
      } else {
        result = json(response.error().message).dump();
      }
      s->post([s, id, ok, result] {
        s->runJs([&](v8::Local<v8::Context> ctx) {
          s->callEntry(ctx, "fetchDone", {v8::Number::New(s->isolate, static_cast<double>(id)), v8::Boolean::New(s->isolate, ok),
                                          v8str(s->isolate, result)});
        });
      });
      *done = true;
    }), done});
  }

  // structuredClone(value): V8's own serializer, as browsers use it.
  static void nativeStructuredClone(const v8::FunctionCallbackInfo<v8::Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    auto ctx = isolate->GetCurrentContext();
    // Its buffer is outside the JS heap: capped at the heap's size (a clone
    // of more could not be held anyway); past it the clone throws.
    auto bounds = newCappedSerializerDelegate(isolate, self(info)->limits.heapBytes);
    v8::ValueSerializer serializer(isolate, bounds.get());
    serializer.WriteHeader();
    if (!serializer.WriteValue(ctx, info.Length() > 0 ? info[0] : v8::Undefined(isolate).As<v8::Value>()).FromMaybe(false)) return;
    std::pair<uint8_t*, size_t> buffer = serializer.Release();
    v8::Local<v8::Value> copy;
    {
      v8::ValueDeserializer deserializer(isolate, buffer.first, buffer.second);
      if (deserializer.ReadHeader(ctx).FromMaybe(false) && deserializer.ReadValue(ctx).ToLocal(&copy)) info.GetReturnValue().Set(copy);
    }
    bounds->FreeBufferMemory(buffer.first);
  }

  static void nativeRandomUuid(const v8::FunctionCallbackInfo<v8::Value>& info) {
    info.GetReturnValue().Set(v8str(info.GetIsolate(), randomUuid()));
  }
  static void nativeUi(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    std::string kind = s->arg(info, 0);
    json value = parseJsonOrDiscarded<json>(s->arg(info, 1));
    std::lock_guard lock(s->stateMu);
    if (kind == "pages") {
      if (!value.is_object()) return s->throwError("ui.registerPages takes an object of path -> page");
      for (auto& [k, v] : value.items()) s->ui["pages"][k] = v;
    } else {
      s->ui[kind].push_back(value);
    }
  }
  static void nativeConfig(const v8::FunctionCallbackInfo<v8::Value>& info) {
    Impl* s = self(info);
    PluginDb* pdb = s->database();
    if (!pdb) return;
    PluginSettings settings(s->manifest, *pdb);
    std::string op = s->arg(info, 0);
    Result<std::string> r = Error::invalid("config." + op + " is not a config call");
    if (op == "get") {
      r = settings.get(s->arg(info, 1));
    } else if (op == "set") {
      Status set = settings.set(s->arg(info, 1), s->arg(info, 2));
      r = set ? Result<std::string>(std::string("true")) : Result<std::string>(set.error());
    } else if (op == "getAll") {
      r = settings.getAll(false);  // the plugin reads its own secrets
    }
    if (!r) return s->throwError("config." + op + ": " + r.error().message);
    info.GetReturnValue().Set(v8str(info.GetIsolate(), *r));
  }

  void setNative(v8::Local<v8::Context> ctx, v8::Local<v8::Object> target, const char* name, v8::FunctionCallback fn) {
    auto tpl = v8::FunctionTemplate::New(isolate, fn, v8::External::New(isolate, this));
    target->Set(ctx, v8str(isolate, name), tpl->GetFunction(ctx).ToLocalChecked()).Check();
  }

  // --- modules -------------------------------------------------------------------
  // The file an import names, or an error message. Only relative imports
  // inside the plugin's folder are allowed.
  Result<std::string> resolvePath(const std::string& specifier, const std::string& referrer) {
    if (!(specifier.starts_with("./") || specifier.starts_with("../"))) {
      return Error::denied("Cannot import \"" + specifier + "\" from " + relative(referrer) +
                           ": plugins may only import their own files with relative paths (\"./lib.js\"); "
                           "Node modules, bare names and absolute paths are not available");
    }
    fs::path candidate = (fs::path(referrer).parent_path() / specifier).lexically_normal();
    std::error_code ec;
    fs::path real = fs::weakly_canonical(candidate, ec);
    std::string r = real.string();
    if (ec || !(r == realDir || r.starts_with(realDir + "/"))) {
      return Error::denied("Cannot import \"" + specifier + "\" from " + relative(referrer) + ": it is outside the plugin's folder");
    }
    struct stat st;
    if (::stat(r.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Error::notFound("Cannot import \"" + specifier + "\" from " + relative(referrer) + ": no such file");
    }
    return r;
  }
  std::string relative(const std::string& path) const {
    return path.starts_with(realDir + "/") ? path.substr(realDir.size() + 1) : path;
  }

  v8::MaybeLocal<v8::Module> loadModule(const std::string& path) {
    if (auto it = modulesByPath.find(path); it != modulesByPath.end()) return it->second.Get(isolate);
    auto source = readFileLimited(path, kMaxModuleBytes);
    if (!source) {
      throwError(source.error().message);
      return {};
    }
    v8::ScriptOrigin origin(isolate, v8str(isolate, relative(path)), 0, 0, false, -1, v8::Local<v8::Value>(), false, false, true);
    v8::ScriptCompiler::Source src(v8str(isolate, *source), origin);
    v8::Local<v8::Module> module;
    if (!v8::ScriptCompiler::CompileModule(isolate, &src).ToLocal(&module)) return {};
    modulesByPath[path].Reset(isolate, module);
    pathByModuleHash.emplace(module->GetIdentityHash(), path);
    return module;
  }

  static v8::MaybeLocal<v8::Module> resolveModule(v8::Local<v8::Context> ctx, v8::Local<v8::String> specifier,
                                                  v8::Local<v8::FixedArray>, v8::Local<v8::Module> referrer) {
    v8::Isolate* isolate = ctx->GetIsolate();
    Impl* s = static_cast<Impl*>(isolate->GetData(0));
    std::string referrerPath = s->realDir + "/server.js";
    auto range = s->pathByModuleHash.equal_range(referrer->GetIdentityHash());
    for (auto it = range.first; it != range.second; ++it) {
      if (s->modulesByPath[it->second].Get(isolate) == referrer) referrerPath = it->second;
    }
    auto path = s->resolvePath(toUtf8(isolate, specifier), referrerPath);
    if (!path) {
      s->throwError(path.error().message);
      return {};
    }
    return s->loadModule(*path);
  }

  static v8::MaybeLocal<v8::Promise> dynamicImport(v8::Local<v8::Context> ctx, v8::Local<v8::Data>, v8::Local<v8::Value>,
                                                   v8::Local<v8::String> specifier, v8::Local<v8::FixedArray>) {
    v8::Isolate* isolate = ctx->GetIsolate();
    auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
    resolver->Reject(ctx, v8::Exception::Error(v8str(isolate, "import(\"" + toUtf8(isolate, specifier) +
                                                                             "\") is not available to plugins: use a static import of a file in the plugin's folder"))).Check();
    return resolver->GetPromise();
  }

  // The plugin's heap limit, checked after every collection. After a full
  // collection the used size is what lives: above the limit, the running
  // task is terminated and the plugin fails (its isolate is disposed).
  // After a young one it may count old garbage, so a full collection is
  // asked for first, at the next safe point (an interrupt), and decides.
  // V8's own limit is far above (isolate_pool.h), so no single allocation
  // can make V8 end the process first. Measured with growth loops (an
  // array, a Map, Array.from of 1e8): terminated at 200-250 MB of RSS.
  size_t heapRecheckAbove = 0;      // under the isolate's Locker
  bool heapCheckRequested = false;  // under the isolate's Locker
  void heapOverLimit(v8::Isolate* isolate) {
    if (!heapExceeded.exchange(true)) isolate->TerminateExecution();
  }
  static void watchHeap(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags, void* data) {
    Impl* s = static_cast<Impl*>(data);
    v8::HeapStatistics stats;
    isolate->GetHeapStatistics(&stats);
    if (stats.used_heap_size() <= std::max(s->limits.heapBytes, s->heapRecheckAbove) || s->heapExceeded || s->heapCheckRequested) return;
    if (type == v8::kGCTypeMarkSweepCompact) return s->heapOverLimit(isolate);
    s->heapCheckRequested = true;
    isolate->RequestInterrupt(checkHeapFully, s);
  }
  static void checkHeapFully(v8::Isolate* isolate, void* data) {
    Impl* s = static_cast<Impl*>(data);
    s->heapCheckRequested = false;
    isolate->LowMemoryNotification();  // a full collection (its epilogue above terminates when over)
    v8::HeapStatistics stats;
    isolate->GetHeapStatistics(&stats);
    if (stats.used_heap_size() > s->limits.heapBytes) return s->heapOverLimit(isolate);
    s->heapRecheckAbove = stats.used_heap_size() + s->limits.heapBytes / 2;  // garbage it was: look again after more growth
  }
  // V8's own limit, reached only by what the watch above could not stop in
  // time (a builtin that allocates without checking for termination): give
  // it room again rather than let V8 abort the process; the task is
  // terminated and the isolate disposed once it unwinds.
  static size_t nearHeapLimit(void* data, size_t current, size_t) {
    Impl* s = static_cast<Impl*>(data);
    s->heapExceeded = true;
    s->isolate->TerminateExecution();
    return current + kHeapHeadroom;
  }

  static void promiseRejected(v8::PromiseRejectMessage message) {
    if (message.GetEvent() != v8::kPromiseRejectWithNoHandler) return;
    v8::Isolate* isolate = message.GetPromise()->GetIsolate();
    Impl* s = static_cast<Impl*>(isolate->GetData(0));
    s->log("error", "unhandled promise rejection: " + toUtf8(isolate, message.GetValue()));
  }

  // --- start and stop ------------------------------------------------------------
  // On the executor thread: the isolate, the prelude, the module; then the
  // default export is run with the API object (its ticket completes later).
  Status initialize(uint64_t activationTicket) {
    FreshIsolate fresh = host.isolates ? host.isolates->take(limits.heapBytes) : makeIsolate(limits.heapBytes);
    allocator = std::move(fresh.allocator);
    {
      std::unique_lock life(lifeMu);
      isolate = fresh.isolate;
    }
    v8::Locker locker(isolate);
    isolate->SetData(0, this);
    isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
    isolate->AddNearHeapLimitCallback(nearHeapLimit, this);
    isolate->AddGCEpilogueCallback(watchHeap, this);
    isolate->SetPromiseRejectCallback(promiseRejected);
    isolate->SetHostImportModuleDynamicallyCallback(dynamicImport);
    currentTicket = activationTicket;
    Status s = loadPlugin(activationTicket, fresh);
    afterTermination();
    currentTicket = 0;
    return s;
  }

  // In the fresh isolate's base context: the prelude's API object and the
  // plugin's module; runs the default export (its ticket completes when it
  // has finished).
  Status loadPlugin(uint64_t activationTicket, FreshIsolate& fresh) {
    v8::Isolate::Scope isolateScope(isolate);
    v8::HandleScope handles(isolate);
    if (fresh.context.IsEmpty()) return Error::internal("the runtime's scripts failed: " + fresh.failure);
    v8::Local<v8::Context> ctx = fresh.context.Get(isolate);
    v8::Local<v8::Function> factory = fresh.preludeFactory.Get(isolate);
    fresh.context.Reset();
    fresh.preludeFactory.Reset();
    context.Reset(isolate, ctx);
    v8::Context::Scope contextScope(ctx);
    v8::TryCatch tryCatch(isolate);
    auto fail = [&](const std::string& what) -> Status {
      if (tryCatch.HasTerminated()) {
        isolate->CancelTerminateExecution();
        return Error::limit(what + ": " + (heapExceeded ? "the heap limit was reached" : "it ran too long"));
      }
      return Error::invalid(what + ": " + (tryCatch.HasCaught() ? describe(tryCatch) : std::string("failed")));
    };
    v8::Local<v8::Object> native = v8::Object::New(isolate);
    setNative(ctx, native, "log", guarded<nativeLog>);
    setNative(ctx, native, "done", guarded<nativeDone>);
    setNative(ctx, native, "db", guarded<nativeDb>);
    setNative(ctx, native, "registerHook", guarded<nativeRegisterHook>);
    setNative(ctx, native, "routesChanged", guarded<nativeRoutesChanged>);
    setNative(ctx, native, "setTimer", guarded<nativeSetTimer>);
    setNative(ctx, native, "clearTimer", guarded<nativeClearTimer>);
    setNative(ctx, native, "randomUUID", guarded<nativeRandomUuid>);
    setNative(ctx, native, "registerCron", guarded<nativeRegisterCron>);
    setNative(ctx, native, "allows", guarded<nativeAllows>);
    setNative(ctx, native, "callPlugin", guarded<nativeCallPlugin>);
    setNative(ctx, native, "fetch", guarded<nativeFetch>);
    setNative(ctx, native, "structuredClone", guarded<nativeStructuredClone>);
    setNative(ctx, native, "ui", guarded<nativeUi>);
    setNative(ctx, native, "config", guarded<nativeConfig>);
    native->Set(ctx, v8str(isolate, "pluginId"), v8str(isolate, manifest.id)).Check();
    native->Set(ctx, v8str(isolate, "heapBytes"), v8::Number::New(isolate, static_cast<double>(limits.heapBytes))).Check();
    v8::Local<v8::Value> args[] = {native};
    v8::Local<v8::Value> entryObject;
    if (!factory->Call(ctx, v8::Undefined(isolate), 1, args).ToLocal(&entryObject) || !entryObject->IsObject()) {
      return fail("the runtime's prelude");
    }
    entries.Reset(isolate, entryObject.As<v8::Object>());

    // server.js as an ES module (a plugin without one, a theme, has no code).
    const std::string mainPath = realDir + "/server.js";
    std::error_code ec;
    if (!fs::exists(mainPath, ec)) {
      complete(activationTicket, {true, "null"});
      return {};
    }
    v8::Local<v8::Module> module;
    if (!loadModule(mainPath).ToLocal(&module)) return fail("server.js");
    if (!module->InstantiateModule(ctx, resolveModule).FromMaybe(false)) return fail("server.js");
    taskStartedNs = std::chrono::steady_clock::now().time_since_epoch().count();
    v8::Local<v8::Value> evaluated;
    bool ran = module->Evaluate(ctx).ToLocal(&evaluated);
    if (ran) isolate->PerformMicrotaskCheckpoint();
    taskStartedNs = 0;
    if (!ran) return fail("server.js");
    if (module->GetStatus() == v8::Module::kErrored) {
      isolate->ThrowException(module->GetException());
      return fail("server.js");
    }
    if (evaluated->IsPromise() && evaluated.As<v8::Promise>()->State() == v8::Promise::kPending) {
      return Error::invalid("server.js: its top-level await did not finish while loading");
    }
    v8::Local<v8::Value> main;
    auto ns = module->GetModuleNamespace().As<v8::Object>();
    if (!ns->Get(ctx, v8str(isolate, "default")).ToLocal(&main) || !main->IsFunction()) {
      return Error::invalid("server.js must `export default function (sodium) { ... }`");
    }
    taskStartedNs = std::chrono::steady_clock::now().time_since_epoch().count();
    bool called = callEntry(ctx, "activate", {v8::Number::New(isolate, static_cast<double>(activationTicket)), main});
    if (called) isolate->PerformMicrotaskCheckpoint();
    taskStartedNs = 0;
    if (!called || tryCatch.HasTerminated()) return fail("the default export");
    return {};
  }

  void disposeIsolate() {
    std::unique_lock life(lifeMu);
    if (!isolate) return;
    {
      v8::Locker locker(isolate);
      v8::Isolate::Scope isolateScope(isolate);
      entries.Reset();
      entryFunctions.clear();
      shapeBuilders.clear();
      context.Reset();
      modulesByPath.clear();
    }
    isolate->Dispose();
    isolate = nullptr;
  }
};

PluginInstance::PluginInstance(const Manifest& manifest, std::unique_ptr<Impl> impl)
    : manifest_(manifest), impl_(std::move(impl)) {
  impl_->owner = this;
}

PluginInstance::~PluginInstance() { stop(); }

Result<std::shared_ptr<PluginInstance>> PluginInstance::start(const Manifest& manifest, const std::string& dir,
                                                              const PluginDataPlace& data, const RuntimeLimits& limits,
                                                              InstanceHost host) {
  ensureV8();
  auto impl = std::make_unique<Impl>();
  impl->manifest = manifest;
  std::error_code ec;
  impl->realDir = fs::canonical(dir, ec).string();
  if (ec) return Error::notFound(dir + ": " + ec.message());
  impl->dataPlace = data;
  fs::create_directories(data.folder, ec);
  if (ec) return Error::io(data.folder + ": cannot create the plugin's data folder: " + ec.message());
  impl->limits = limits;
  impl->host = std::move(host);
  std::shared_ptr<PluginInstance> instance(new PluginInstance(manifest, std::move(impl)));
  Impl* m = instance->impl_.get();
  m->thread = std::thread([m] {
    pthread_setname_np(pthread_self(), ("pb:" + m->manifest.id).substr(0, 15).c_str());  // the plugin's executor, in top -H
    m->loop();
    m->exited = true;
  });

  auto issued = m->newWaitedTicket();  // (not a structured binding: clang 14 cannot capture those)
  const uint64_t ticket = issued.first;
  std::shared_ptr<Impl::Waiter> activated = issued.second;
  std::promise<Status> initialized;
  auto initDone = initialized.get_future();
  m->post([m, ticket, &initialized] {
    Status s = m->initialize(ticket);
    initialized.set_value(s);
  });
  Status s = initDone.get();
  std::optional<Completion> answer;
  if (s && !(answer = activated->wait(kWallTimeout))) {
    s = Error::limit("the default export did not finish within " + describeDuration(kWallTimeout));
  }
  if (s) {
    Completion c = std::move(*answer);
    if (!c.ok) {
      json why = parseJsonOrDiscarded<json>(c.json);
      s = Error::invalid("the default export threw: " + (why.is_string() ? why.get<std::string>() : c.json));
    }
  }
  if (s && instance->failed()) s = Error::limit(instance->failure());
  if (!s) {
    instance->stop();
    return Error{s.error().kind, manifest.id + ": " + s.error().message};
  }
  return instance;
}

void PluginInstance::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  Impl* m = impl_.get();
  m->post([m] { m->disposeIsolate(); });
  {
    std::lock_guard lock(m->mu);
    m->stopping = true;
  }
  m->wake.notify_one();
  // What still runs is cut short: a stopped instance is no longer the
  // watchdog's, and a task that loops (or a query that does) must not hold
  // the stop. Queued requests were answered already and are skipped.
  while (!m->exited.load()) {
    {
      std::shared_lock life(m->lifeMu, std::try_to_lock);
      if (life.owns_lock() && m->isolate && m->taskStartedNs.load() != 0 && !m->deadlineHit.exchange(true)) {
        m->isolate->TerminateExecution();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  m->thread.join();
  std::vector<Impl::Fetcher> fetchers;
  {
    std::lock_guard lock(m->fetchMu);
    fetchers.swap(m->fetchers);
  }
  for (auto& f : fetchers) f.thread.join();  // each ends within the fetch timeout
  m->failAllTickets("plugin \"" + manifest_.id + "\" was stopped");
}

void PluginInstance::cancelRequests(const std::string& why) {
  std::vector<uint64_t> pending;
  {
    std::lock_guard lock(impl_->deadlineMu);
    for (const auto& [due, ticket] : impl_->requestDeadlines) pending.push_back(ticket);
  }
  for (uint64_t ticket : pending) impl_->complete(ticket, {false, json(why).dump(), "", Completion::Ended::kStopped});
}

std::string PluginInstance::failure() const {
  std::lock_guard lock(impl_->stateMu);
  return impl_->failure;
}

std::string PluginInstance::uiJson() const {
  std::lock_guard lock(impl_->stateMu);
  return impl_->ui.dump();
}

void PluginInstance::checkDeadline(std::chrono::steady_clock::time_point now) {
  impl_->expireRequests(now);
  int64_t started = impl_->taskStartedNs.load();
  if (started == 0) return;
  auto elapsed = now.time_since_epoch() - std::chrono::steady_clock::duration(started);
  if (elapsed <= impl_->limits.callTimeout) return;
  std::shared_lock life(impl_->lifeMu, std::try_to_lock);  // not while it is being disposed
  if (!life.owns_lock() || !impl_->isolate) return;
  if (!impl_->deadlineHit.exchange(true)) impl_->isolate->TerminateExecution();  // thread-safe in V8
}

std::vector<CronJobState> PluginInstance::cronJobs() const {
  std::vector<CronJobState> out;
  std::lock_guard lock(impl_->cronMu);
  for (const auto& [id, job] : impl_->cron) out.push_back(job.state);
  return out;
}

void PluginInstance::runDueCron(std::chrono::system_clock::time_point minute) {
  Impl* m = impl_.get();
  if (failed()) return;
  std::vector<std::string> due;
  {
    std::lock_guard lock(m->cronMu);
    for (auto& [id, job] : m->cron) {
      if (!job.schedule.matches(minute)) continue;
      if (job.state.running) {
        ++job.state.skipped;
        m->log("warn", "cron job \"" + id + "\" is still running; this run is skipped");
        continue;
      }
      job.state.running = true;
      job.startedAt = std::chrono::steady_clock::now();
      job.state.lastRun = utcNow();
      due.push_back(id);
    }
  }
  for (const auto& id : due) {
    uint64_t ticket = m->newTicket([m, id](Completion c) {
      std::lock_guard lock(m->cronMu);
      auto it = m->cron.find(id);
      if (it == m->cron.end()) return;
      CronJobState& st = it->second.state;
      st.running = false;
      st.lastDurationMs =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - it->second.startedAt).count();
      json why = parseJsonOrDiscarded<json>(c.json);
      st.lastError = c.ok ? "" : (why.is_string() ? why.get<std::string>() : c.json);
      ++st.runs;
    });
    m->post([m, ticket, id] {
      m->runJs([&](v8::Local<v8::Context> ctx) { m->callEntry(ctx, "runCron", {v8::Number::New(m->isolate, static_cast<double>(ticket)), v8str(m->isolate, id)}); },
               ticket);
    });
  }
}

void PluginInstance::request(PluginRequest r, RequestDone done) {
  Impl* m = impl_.get();
  const std::string& id = manifest_.id;
  if (failed()) return done(Error::unsupported("plugin \"" + id + "\" has failed: " + failure()));
  auto prepared = dispatchedRequest(r);
  if (!prepared) return done(pluginErrorResponse(400, prepared.error().message));
  if (m->requestsInFlight.fetch_add(1) >= m->limits.maxRequestsInFlight) {
    m->requestsInFlight.fetch_sub(1);
    PluginResponse busy = pluginErrorResponse(503, "Plugin \"" + id + "\" is busy: " + std::to_string(m->limits.maxRequestsInFlight) +
                                                       " requests are already waiting for it");
    busy.headers.emplace_back("retry-after", "1");
    return done(std::move(busy));
  }
  const uint64_t ticket = m->nextTicketId.fetch_add(1);
  const auto due = std::chrono::steady_clock::now() + m->limits.requestTimeout;
  {
    std::lock_guard lock(m->deadlineMu);
    m->requestDeadlines.emplace(due, ticket);
  }
  {
    std::lock_guard lock(m->ticketMu);
    m->tickets[ticket] = [m, id, ticket, due, done = std::move(done)](Completion c) {
      m->requestsInFlight.fetch_sub(1);
      if (c.ended != Completion::Ended::kTimedOut) m->forgetDeadline(due, ticket);
      switch (c.ended) {
        case Completion::Ended::kStopped: return done(Error::unsupported(failureText(c)));
        case Completion::Ended::kTimedOut:
          m->log("warn", "a request was answered 504: the plugin " + failureText(c));
          return done(pluginErrorResponse(504, "Plugin \"" + id + "\" " + failureText(c)));
        case Completion::Ended::kAnswered: break;
      }
      if (!c.ok) return done(pluginErrorResponse(500, "Internal plugin error", failureText(c)));
      auto checked = checkedResponse(c.json, std::move(c.body));
      if (!checked) {
        m->log("error", "a route's answer was refused (the client got a 500): " + checked.error().message);
        return done(pluginErrorResponse(500, "Internal plugin error", checked.error().message));
      }
      done(std::move(*checked));
    };
  }
  m->post([m, ticket, prepared = std::move(*prepared), body = std::move(r.body)] {
    {
      std::lock_guard lock(m->ticketMu);
      if (!m->tickets.count(ticket)) return;  // answered already (its deadline passed while it queued): not run for nothing
    }
    const bool ran = m->runJs(
        [&](v8::Local<v8::Context> ctx) {
          v8::Local<v8::Value> args[] = {v8::Number::New(m->isolate, static_cast<double>(ticket)), v8str(m->isolate, prepared.requestJson),
                                         prepared.bodyIsText ? v8str(m->isolate, body).As<v8::Value>() : m->bytes(body)};
          m->callEntry(ctx, "dispatch", args, 3);
        },
        ticket);
    if (!ran) m->complete(ticket, {false, json("plugin \"" + m->manifest.id + "\" has stopped").dump(), "", Completion::Ended::kStopped});
  });
}

Result<PluginInstance::HookVerdict> PluginInstance::runHook(int64_t handlerId, const HookContext& context, bool deniable) {
  Impl* m = impl_.get();
  auto done = m->invoke([&](v8::Local<v8::Context> ctx, uint64_t ticket) {
    // runHook(ticket, handlerId, deniable, builder, ...values), or with the
    // builder undefined and the JSON text as the one value.
    v8::Local<v8::Value> args[4 + kMaxHookValues];
    args[0] = v8::Number::New(m->isolate, static_cast<double>(ticket));
    args[1] = v8::Number::New(m->isolate, static_cast<double>(handlerId));
    args[2] = v8::Boolean::New(m->isolate, deniable);
    v8::Local<v8::Function> builder;
    size_t n = 0;
    if (context.shaped() && m->shapeBuilder(ctx, context).ToLocal(&builder)) {
      args[3] = builder;
      n = m->hookValues(context, args + 4);
    } else {
      args[3] = v8::Undefined(m->isolate);
      args[4] = v8str(m->isolate, context.json);
      n = 1;
    }
    v8::Local<v8::Value> verdict;
    if (m->callEntry(ctx, "runHook", args, 4 + n, &verdict) && verdict->IsString()) {
      m->deliver(ticket, {true, toUtf8(m->isolate, verdict)});  // a synchronous handler's answer, returned
    }
  }, m->limits.hookTimeout);
  if (!done) return done.error();
  if (!done->ok) {
    json j = parseJsonOrDiscarded<json>(done->json);  // a runtime failure is JSON; a handler's error is plain text
    return Error::invalid(j.is_string() ? j.get<std::string>() : done->json);
  }
  if (done->json.starts_with("D")) return HookVerdict{true, done->json.substr(1)};
  return HookVerdict{};
}

Result<std::string> PluginInstance::call(const std::string& method, const std::string& argsJson) {
  Impl* m = impl_.get();
  auto done = m->invoke([&](v8::Local<v8::Context> ctx, uint64_t ticket) {
    m->callEntry(ctx, "callMethod", {v8::Number::New(m->isolate, static_cast<double>(ticket)), v8str(m->isolate, method),
                                     v8str(m->isolate, argsJson)});
  });
  if (!done) return done.error();
  if (!done->ok) {
    json j = parseJsonOrDiscarded<json>(done->json);
    return Error::invalid(j.is_string() ? j.get<std::string>() : done->json);
  }
  return done->json;
}

}  // namespace patchbay
