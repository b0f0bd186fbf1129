// sodium.hooks: handlers registered with the runtime, run with a context built
// from its shape (hook_context.h).
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "runtime/hook_context.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using json = nlohmann::json;
using Impl = PluginInstance::Impl;

namespace {

void nativeRegisterHook(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  auto ctx = info.GetIsolate()->GetCurrentContext();
  bool ok = s->host.registerHook && s->host.registerHook(s->arg(info, 0), info[1]->NumberValue(ctx).FromMaybe(10),
                                                         static_cast<int64_t>(info[2]->NumberValue(ctx).FromMaybe(0)));
  info.GetReturnValue().Set(ok);
}

// The builder of `context`'s shape in this isolate, compiled on first use;
// empty if it does not compile (then the context goes as JSON).
v8::MaybeLocal<v8::Function> shapeBuilder(Impl& s, v8::Local<v8::Context> ctx, const HookContext& context) {
  v8::Isolate* isolate = s.isolate;
  auto& shapeBuilders = s.shapeBuilders;
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
size_t hookValues(v8::Isolate* isolate, const HookContext& context, v8::Local<v8::Value>* items) {
  const size_t n = std::min(context.shape.values.size(), kMaxHookValues);
  for (size_t i = 0; i < n; ++i) {
    const HookValue& v = context.shape.values[i];
    switch (v.kind) {
      case HookValue::Kind::kNumber:
        items[i] = v8::Number::New(isolate, v.number);
        break;
      case HookValue::Kind::kString:
        items[i] = v8str(isolate, v.text);
        break;
      case HookValue::Kind::kTrue:
        items[i] = v8::True(isolate);
        break;
      case HookValue::Kind::kFalse:
        items[i] = v8::False(isolate);
        break;
      case HookValue::Kind::kNull:
        items[i] = v8::Null(isolate);
        break;
    }
  }
  return n;
}

}  // namespace

void api::addHooks(Natives& natives) { natives.add<nativeRegisterHook>("registerHook"); }

Result<PluginInstance::HookVerdict> PluginInstance::runHook(int64_t handlerId, const HookContext& context,
                                                            bool deniable) {
  Impl* m = impl_.get();
  auto done = m->invoke(
      [&](v8::Local<v8::Context> ctx, uint64_t ticket) {
        // runHook(ticket, handlerId, deniable, builder, ...values), or with the
        // builder undefined and the JSON text as the one value.
        v8::Local<v8::Value> args[4 + kMaxHookValues];
        args[0] = v8::Number::New(m->isolate, static_cast<double>(ticket));
        args[1] = v8::Number::New(m->isolate, static_cast<double>(handlerId));
        args[2] = v8::Boolean::New(m->isolate, deniable);
        v8::Local<v8::Function> builder;
        size_t n = 0;
        if (context.shaped() && shapeBuilder(*m, ctx, context).ToLocal(&builder)) {
          args[3] = builder;
          n = hookValues(m->isolate, context, args + 4);
        } else {
          args[3] = v8::Undefined(m->isolate);
          args[4] = v8str(m->isolate, context.json);
          n = 1;
        }
        v8::Local<v8::Value> verdict;
        if (m->callEntry(ctx, "runHook", args, 4 + n, &verdict) && verdict->IsString()) {
          m->deliver(ticket, {true, toUtf8(m->isolate, verdict)});  // a synchronous handler's answer, returned
        }
      },
      m->limits.hookTimeout);
  if (!done) return done.error();
  if (!done->ok) {
    json j = parseJsonOrDiscarded<json>(done->json);  // a runtime failure is JSON; a handler's error is plain text
    return Error::invalid(j.is_string() ? j.get<std::string>() : done->json);
  }
  if (done->json.starts_with("D")) return HookVerdict{true, done->json.substr(1)};
  return HookVerdict{};
}

}  // namespace patchbay
