#include "runtime/base_context.h"

#include <iostream>
#include <mutex>
#include <string>
#include <string_view>

#include "patchbay/embedded_asset.h"
#include "runtime/v8_engine.h"
#include "runtime/v8_strings.h"

extern const patchbay::EmbeddedAsset kRuntimeScripts[];

namespace patchbay {

namespace {

// The snapshot's context and, in it, the prelude's factory: the first (and
// only) of each that the creator is given.
constexpr size_t kBaseContextIndex = 0;
constexpr size_t kPreludeFactoryIndex = 0;

// One of src/runtime/js/*.js, embedded at build time.
std::string_view runtimeScript(std::string_view name) {
  for (const EmbeddedAsset* a = kRuntimeScripts; a->path != nullptr; ++a) {
    if (std::string_view(a->path) == name) return {reinterpret_cast<const char*>(a->data), a->size};
  }
  return {};
}

// Each runtime script evaluates to a function.
v8::MaybeLocal<v8::Function> scriptFunction(v8::Isolate* isolate, v8::Local<v8::Context> ctx, std::string_view name) {
  v8::ScriptOrigin origin(isolate, v8str(isolate, "patchbay:" + std::string(name)));
  v8::Local<v8::Script> script;
  v8::Local<v8::Value> value;
  if (!v8::Script::Compile(ctx, v8str(isolate, runtimeScript(name)), &origin).ToLocal(&script) || !script->Run(ctx).ToLocal(&value) ||
      !value->IsFunction()) {
    return {};
  }
  return value.As<v8::Function>();
}

// In the entered context `ctx`: web.js run on the global object, and the
// prelude's factory.
v8::MaybeLocal<v8::Function> runScripts(v8::Isolate* isolate, v8::Local<v8::Context> ctx) {
  v8::Local<v8::Function> web;
  v8::Local<v8::Value> webArgs[] = {ctx->Global()};
  v8::Local<v8::Value> ignored;
  if (!scriptFunction(isolate, ctx, "web.js").ToLocal(&web) || !web->Call(ctx, v8::Undefined(isolate), 1, webArgs).ToLocal(&ignored)) {
    return {};
  }
  return scriptFunction(isolate, ctx, "prelude.js");
}

v8::StartupData makeSnapshot() {
  v8::SnapshotCreator creator;
  v8::Isolate* isolate = creator.GetIsolate();
  {
    v8::HandleScope handles(isolate);
    // The default context (what v8::Context::New gives) stays V8's plain one.
    creator.SetDefaultContext(v8::Context::New(isolate));
    v8::Local<v8::Context> ctx = v8::Context::New(isolate);
    v8::Local<v8::Function> factory;
    {
      v8::Context::Scope scope(ctx);
      v8::TryCatch tryCatch(isolate);
      if (!runScripts(isolate, ctx).ToLocal(&factory)) {
        std::cerr << "warning: the runtime's startup snapshot was not made (" << toUtf8(isolate, tryCatch.Exception())
                  << "); each plugin runs the runtime's scripts itself\n";
        return {nullptr, 0};
      }
    }
    if (creator.AddData(ctx, factory) != kPreludeFactoryIndex || creator.AddContext(ctx) != kBaseContextIndex) return {nullptr, 0};
  }
  // Compiled functions are kept: a plugin's context starts with the
  // runtime's code compiled.
  return creator.CreateBlob(v8::SnapshotCreator::FunctionCodeHandling::kKeep);
}

}  // namespace

v8::StartupData* runtimeSnapshot() {
  static std::once_flag once;
  static v8::StartupData blob{nullptr, 0};  // owned for good: isolates made from it may live until exit
  std::call_once(once, [] {
    ensureV8();
    blob = makeSnapshot();
  });
  return blob.data ? &blob : nullptr;
}

bool newBaseContext(v8::Isolate* isolate, bool fromSnapshot, BaseContext& out) {
  if (fromSnapshot) {
    v8::Local<v8::Context> ctx;
    if (v8::Context::FromSnapshot(isolate, kBaseContextIndex).ToLocal(&ctx) &&
        ctx->GetDataFromSnapshotOnce<v8::Function>(kPreludeFactoryIndex).ToLocal(&out.preludeFactory)) {
      out.context = ctx;
      return true;
    }
  }
  out.context = v8::Context::New(isolate);
  v8::Context::Scope scope(out.context);
  return runScripts(isolate, out.context).ToLocal(&out.preludeFactory);
}

}  // namespace patchbay
