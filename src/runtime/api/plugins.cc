// sodium.plugins.call: one plugin calling another's public methods (what its
// default export returned).
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using json = nlohmann::json;
using Impl = PluginInstance::Impl;

namespace {

void nativeCallPlugin(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  if (!s->host.callPlugin) return s->throwError("plugins.call is not available here");
  if (!s->opens(Capability::kCallPlugins, "plugins.call")) return;
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

}  // namespace

void api::addPlugins(Natives& natives) { natives.add<nativeCallPlugin>("callPlugin"); }

Result<std::string> PluginInstance::call(const std::string& method, const std::string& argsJson) {
  Impl* m = impl_.get();
  auto done = m->invoke([&](v8::Local<v8::Context> ctx, uint64_t ticket) {
    m->callEntry(ctx, "callMethod",
                 {v8::Number::New(m->isolate, static_cast<double>(ticket)), v8str(m->isolate, method),
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
