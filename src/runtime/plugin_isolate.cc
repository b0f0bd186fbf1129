// One plugin's isolate: created and loaded on the executor, watched for its
// heap limit after every collection, disposed when the plugin stops.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/isolate_pool.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string PluginInstance::Impl::arg(const v8::FunctionCallbackInfo<v8::Value>& info, int i) {
  if (i >= info.Length()) return std::string();
  if (info[i]->IsString() && static_cast<size_t>(info[i].As<v8::String>()->Length()) > kMaxArgBytes)
    throw ArgumentTooLarge{i};
  std::string out = toUtf8(isolate, info[i]);
  if (out.size() > kMaxArgBytes) throw ArgumentTooLarge{i};
  return out;
}

void PluginInstance::Impl::throwError(const std::string& message) {
  isolate->ThrowException(v8::Exception::Error(v8str(isolate, message)));
}

void PluginInstance::Impl::throwTypeError(const std::string& message) {
  isolate->ThrowException(v8::Exception::TypeError(v8str(isolate, message)));
}

bool PluginInstance::Impl::opens(Capability capability, const std::string& call) {
  if (manifestOpens(manifest, capability)) return true;
  throwError(call + ": plugin \"" + manifest.id + "\" needs the \"" + std::string(permissionFor(capability)) +
             "\" permission in its manifest");
  return false;
}

void PluginInstance::Impl::afterTermination() {
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

void PluginInstance::Impl::fail(const std::string& why) {
  {
    std::lock_guard lock(stateMu);
    if (failure.empty()) failure = why;
  }
  owner->failed_ = true;
  if (host.supervisor) host.supervisor->ring();
  log("error", why);
  failAllTickets(why);
}

std::string PluginInstance::Impl::describe(v8::TryCatch& tryCatch) {
  v8::Local<v8::Message> message = tryCatch.Message();
  std::string text = toUtf8(isolate, tryCatch.Exception());
  if (message.IsEmpty()) return text;
  std::string where = toUtf8(isolate, message->GetScriptResourceName());
  int line = message->GetLineNumber(isolate->GetCurrentContext()).FromMaybe(0);
  return where + ":" + std::to_string(line) + ": " + text;
}

// The plugin's heap limit, checked after every collection. After a full
// collection the used size is what lives: above the limit, the running
// task is terminated and the plugin fails (its isolate is disposed).
// After a young one it may count old garbage, so a full collection is
// asked for first, at the next safe point (an interrupt), and decides.
// V8's own limit is far above (isolate_pool.h), so no single allocation
// can make V8 end the process first. Measured with growth loops (an
// array, a Map, Array.from of 1e8): terminated at 200-250 MB of RSS.
void PluginInstance::Impl::heapOverLimit(v8::Isolate* isolate) {
  if (!heapExceeded.exchange(true)) isolate->TerminateExecution();
}

void PluginInstance::Impl::watchHeap(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags, void* data) {
  Impl* s = static_cast<Impl*>(data);
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  if (stats.used_heap_size() <= std::max(s->limits.heapBytes, s->heapRecheckAbove) || s->heapExceeded ||
      s->heapCheckRequested)
    return;
  if (type == v8::kGCTypeMarkSweepCompact) return s->heapOverLimit(isolate);
  s->heapCheckRequested = true;
  isolate->RequestInterrupt(checkHeapFully, s);
}

void PluginInstance::Impl::checkHeapFully(v8::Isolate* isolate, void* data) {
  Impl* s = static_cast<Impl*>(data);
  s->heapCheckRequested = false;
  isolate->LowMemoryNotification();  // a full collection (its epilogue above terminates when over)
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  if (stats.used_heap_size() > s->limits.heapBytes) return s->heapOverLimit(isolate);
  s->heapRecheckAbove =
      stats.used_heap_size() + s->limits.heapBytes / 2;  // garbage it was: look again after more growth
}

// V8's own limit, reached only by what the watch above could not stop in
// time (a builtin that allocates without checking for termination): give
// it room again rather than let V8 abort the process; the task is
// terminated and the isolate disposed once it unwinds.
size_t PluginInstance::Impl::nearHeapLimit(void* data, size_t current, size_t) {
  Impl* s = static_cast<Impl*>(data);
  s->heapExceeded = true;
  s->isolate->TerminateExecution();
  return current + kHeapHeadroom;
}

void PluginInstance::Impl::promiseRejected(v8::PromiseRejectMessage message) {
  v8::Local<v8::Promise> promise = message.GetPromise();
  v8::Isolate* isolate = promise->GetIsolate();
  Impl* s = static_cast<Impl*>(isolate->GetData(0));
  auto& pending = s->unhandledRejections;
  if (message.GetEvent() == v8::kPromiseRejectWithNoHandler) {
    pending.emplace_back(v8::Global<v8::Promise>(isolate, promise), toUtf8(isolate, message.GetValue()));
  } else if (message.GetEvent() == v8::kPromiseHandlerAddedAfterReject) {
    std::erase_if(pending, [&](const auto& p) { return p.first == promise; });
  }
}

void PluginInstance::Impl::reportUnhandledRejections() {
  auto pending = std::move(unhandledRejections);
  unhandledRejections.clear();
  for (auto& [promise, text] : pending) log("error", "unhandled promise rejection: " + text);
}

Status PluginInstance::Impl::initialize(uint64_t activationTicket) {
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
Status PluginInstance::Impl::loadPlugin(uint64_t activationTicket, FreshIsolate& fresh) {
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
  Natives natives{*this, ctx, native};
  for (auto add : {api::addLogger, api::addHttp, api::addDb, api::addConfig, api::addHooks, api::addTimers,
                   api::addCron, api::addFetch, api::addPlugins, api::addUi, api::addGlobals, api::addData, api::addEvents}) {
    add(natives);
  }
  native->Set(ctx, v8str(isolate, "pluginId"), v8str(isolate, manifest.id)).Check();
  native->Set(ctx, v8str(isolate, "pluginName"), v8str(isolate, manifest.name)).Check();
  native->Set(ctx, v8str(isolate, "pluginVersion"), v8str(isolate, manifest.version.toString())).Check();
  native->Set(ctx, v8str(isolate, "heapBytes"), v8::Number::New(isolate, static_cast<double>(limits.heapBytes)))
      .Check();
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
  taskStarts();
  v8::Local<v8::Value> evaluated;
  bool ran = module->Evaluate(ctx).ToLocal(&evaluated);
  if (ran) isolate->PerformMicrotaskCheckpoint();
  taskStartedNs = 0;
  reportUnhandledRejections();
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
  taskStarts();
  bool called = callEntry(ctx, "activate", {v8::Number::New(isolate, static_cast<double>(activationTicket)), main});
  if (called) isolate->PerformMicrotaskCheckpoint();
  taskStartedNs = 0;
  reportUnhandledRejections();
  if (!called || tryCatch.HasTerminated()) return fail("the default export");
  return {};
}

void PluginInstance::Impl::disposeIsolate() {
  std::unique_lock life(lifeMu);
  if (!isolate) return;
  {
    v8::Locker locker(isolate);
    v8::Isolate::Scope isolateScope(isolate);
    entries.Reset();
    entryFunctions.clear();
    compiledHookShapes.clear();
    context.Reset();
    modulesByPath.clear();
    unhandledRejections.clear();
  }
  isolate->Dispose();
  isolate = nullptr;
}

}  // namespace patchbay
