// sodium.hooks: handlers registered with the runtime, run with a context built
// from its shape (hook_context.h).
#include <cmath>

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

// `context`'s shape in this isolate, {build(v), same(o, v), delta(o, v)} (hook_context.h),
// compiled on first use; empty if it does not compile (then the context
// goes as JSON).
v8::MaybeLocal<v8::Object> compiledShape(Impl& s, v8::Local<v8::Context> ctx, const HookContext& context) {
  v8::Isolate* isolate = s.isolate;
  auto& shapes = s.compiledHookShapes;
  const auto id = static_cast<size_t>(context.shapeId);
  if (id < shapes.size() && !shapes[id].IsEmpty()) return shapes[id].Get(isolate);
  v8::TryCatch tryCatch(isolate);
  // The builder makes Sodium's ctx whole in one literal, _denied,
  // _denyReason and deny last (as `{...context, _denied: false, ...}`
  // does, they win over keys of those names in the context): one object
  // of its final layout, where adding them after took three transitions.
  const std::string& literal = context.shape.source;  // "{...}"
  const std::string fields = literal.substr(1, literal.size() - 2);
  const std::string source =
      "(function () { 'use strict';\n"
      "  const c = (x) => { let n = 0, k; for (k in x) ++n; return n; };\n"
      "  const lone = /[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]/;\n"
      "  const l = (x) => x === null || typeof x === 'boolean' ||\n"
      "                   (typeof x === 'number' ? Number.isFinite(x) : typeof x === 'string' && !lone.test(x));\n"
      "  const u = Object.freeze(['']);  // the delta's answer when nothing changed\n"
      "  const plain = /^[A-Za-z_$][A-Za-z0-9_$]*$/, named = new Set();\n"
      "  const w = (k) => named.has(k) || (plain.test(k) && k !== '__proto__' && (named.size < 64 && named.add(k), true));\n"
      "  const s = { build(v) { const o = {" + fields + (fields.empty() ? "" : ",") +
      "_denied: false, _denyReason: null, deny: null};\n"
      "                         o.deny = (reason) => { o._denied = true; o._denyReason = reason; };\n"
      "                         return o; },\n"
      "              same(o, v) { return " + hookShapeCheck(literal) + "; } };\n"
      "  s.delta = " + hookShapeDelta(literal, context.shape.values.size()) + ";\n"
      "  return s;\n"
      "})()";
  v8::ScriptOrigin origin(isolate, v8str(isolate, "patchbay:hook-context"));
  v8::Local<v8::Script> script;
  v8::Local<v8::Value> shape;
  if (!v8::Script::Compile(ctx, v8str(isolate, source), &origin).ToLocal(&script) || !script->Run(ctx).ToLocal(&shape) ||
      !shape->IsObject()) {
    return {};
  }
  if (shapes.size() <= id) shapes.resize(id + 1);
  shapes[id].Reset(isolate, shape.As<v8::Object>());
  return shape.As<v8::Object>();
}

// The shape's values, in order (build's argument, gathered by the entry's
// rest parameter: cheaper than an array made through the API).
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

// A delta's answer, [answer, i or key, value, ...] (hook_context.h), read
// into `c`: its answer text and its changes. False when it is not one.
bool readHookChanges(v8::Isolate* isolate, v8::Local<v8::Context> ctx, v8::Local<v8::Array> answer, Completion& c) {
  const uint32_t length = answer->Length();
  v8::Local<v8::Value> item;
  if (length % 2 != 1 || !answer->Get(ctx, 0).ToLocal(&item) || !item->IsString()) return false;
  if (item.As<v8::String>()->Length() > 0) c.json = toUtf8(isolate, item);
  c.hookChanges.reserve(length / 2);
  for (uint32_t i = 1; i < length; i += 2) {
    v8::Local<v8::Value> where, value;
    if (!answer->Get(ctx, i).ToLocal(&where) || !answer->Get(ctx, i + 1).ToLocal(&value)) return false;
    HookChange& change = c.hookChanges.emplace_back();
    if (where->IsNumber()) {
      // The delta runs in the plugin's isolate, where Array.prototype.push
      // may be the plugin's own: an index is checked before it is one.
      const double index = where.As<v8::Number>()->Value();
      if (!(index >= 0 && index < static_cast<double>(kMaxHookValues)) || index != std::floor(index)) return false;
      change.index = static_cast<int>(index);
    } else if (where->IsString()) {
      change.key = toUtf8(isolate, where);
    } else {
      return false;
    }
    if (value->IsString()) {
      change.kind = HookValue::Kind::kString;
      change.text = toUtf8(isolate, value);
    } else if (value->IsNumber()) {
      change.kind = HookValue::Kind::kNumber;
      change.number = value.As<v8::Number>()->Value();
    } else if (value->IsTrue()) {
      change.kind = HookValue::Kind::kTrue;
    } else if (value->IsFalse()) {
      change.kind = HookValue::Kind::kFalse;
    } else if (value->IsNull()) {
      change.kind = HookValue::Kind::kNull;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

void api::addHooks(Natives& natives) { natives.add<nativeRegisterHook>("registerHook"); }

Result<PluginInstance::HookVerdict> PluginInstance::runHook(int64_t handlerId, const HookContext& context) {
  Impl* m = impl_.get();
  auto done = m->invoke(
      [&](v8::Local<v8::Context> ctx, uint64_t ticket) {
        // runHook(ticket, handlerId, shape, ...values), or with the shape
        // undefined and the JSON text as the one value.
        // Most contexts hold a few values: their arguments on the stack (not
        // 3 + kMaxHookValues handles cleared on every call), more on the heap.
        constexpr size_t kInlineArgs = 3 + 16;
        v8::Local<v8::Value> inlineArgs[kInlineArgs];
        std::vector<v8::Local<v8::Value>> heapArgs;
        v8::Local<v8::Value>* args = inlineArgs;
        if (const size_t wanted = 3 + std::min(context.shape.values.size(), kMaxHookValues); wanted > kInlineArgs) {
          heapArgs.resize(wanted);
          args = heapArgs.data();
        }
        args[0] = v8::Number::New(m->isolate, static_cast<double>(ticket));
        args[1] = v8::Number::New(m->isolate, static_cast<double>(handlerId));
        v8::Local<v8::Object> shape;
        size_t n = 0;
        if (context.shaped() && compiledShape(*m, ctx, context).ToLocal(&shape)) {
          args[2] = shape;
          n = hookValues(m->isolate, context, args + 3);
        } else {
          args[2] = v8::Undefined(m->isolate);
          args[3] = v8str(m->isolate, context.json);
          n = 1;
        }
        // A synchronous handler's answer, returned: text, or a delta's list
        // of changes.
        v8::Local<v8::Value> verdict;
        if (!m->callEntry(ctx, "runHook", args, 3 + n, &verdict)) return;
        if (verdict->IsString()) {
          m->deliver(ticket, {true, toUtf8(m->isolate, verdict)});
        } else if (verdict->IsArray()) {
          Completion c{true, {}};
          if (!readHookChanges(m->isolate, ctx, verdict.As<v8::Array>(), c)) {
            c = {false, json("the list of changes it left is not one the runtime reads (were Array.prototype's methods replaced?); "
                             "the next handler gets the context as it came").dump()};
          }
          m->deliver(ticket, std::move(c));
        }
      },
      m->limits.hookTimeout);
  if (!done) return done.error();
  if (!done->ok) {
    json j = parseJsonOrDiscarded<json>(done->json);  // a runtime failure is JSON; a handler's error is plain text
    return Error::invalid(j.is_string() ? j.get<std::string>() : done->json);
  }
  // The prelude's answer: "" (went on, context untouched or changed as its
  // delta listed), the context itself (went on, changed: a JSON object, so
  // "{..."), or "X" + {denied?, error?} + ("\n" + context when changed):
  // plain text first, JSON only when something happened.
  HookVerdict verdict;
  std::string& answer = done->json;
  verdict.changes = std::move(done->hookChanges);
  if (answer.empty()) return verdict;
  if (answer[0] == '{') {
    verdict.context = std::move(answer);
    return verdict;
  }
  const size_t newline = answer.find('\n');
  json what = parseJsonOrDiscarded<json>(std::string_view(answer).substr(1, newline == std::string::npos ? std::string::npos : newline - 1));
  if (!what.is_object()) return Error::invalid("the runtime's answer for a hook handler is unreadable");
  if (auto denied = what.find("denied"); denied != what.end() && denied->is_string()) {
    verdict.denied = true;
    verdict.reason = denied->get<std::string>();
  }
  if (auto error = what.find("error"); error != what.end() && error->is_string()) verdict.error = error->get<std::string>();
  if (newline != std::string::npos) verdict.context = answer.substr(newline + 1);
  return verdict;
}

}  // namespace patchbay
