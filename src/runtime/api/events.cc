// sodium.events: events between plugins (Sodium's emitPluginEvent). An emit
// reaches every active plugin's handlers of that event, the sender's too,
// each with its own JSON copy of the data, later, on that plugin's executor:
// the sender never waits for them, and a handler's failure is logged on its
// own plugin.
#include "runtime/plugin_impl.h"

namespace patchbay {

using Impl = PluginInstance::Impl;

namespace {

constexpr size_t kMaxEventBytes = 1u << 20;

void nativeEmitEvent(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  const std::string event = s->arg(info, 0), data = s->arg(info, 1);
  if (data.size() > kMaxEventBytes) {
    return s->throwError("events.emit(\"" + event + "\"): the data is " + std::to_string(data.size()) + " bytes of JSON, more than " +
                         std::to_string(kMaxEventBytes >> 20) + " MiB");
  }
  if (s->host.emitEvent) s->host.emitEvent(event, data);
}

}  // namespace

void api::addEvents(Natives& natives) { natives.add<nativeEmitEvent>("emitEvent"); }

void PluginInstance::deliverEvent(const std::string& event, const std::string& dataJson) {
  Impl* m = impl_.get();
  if (failed()) return;
  if (m->pendingEvents.fetch_add(1) >= Impl::kMaxPendingEvents) {
    m->pendingEvents.fetch_sub(1);
    if (!m->eventsDroppedReported.exchange(true)) {
      m->log("warn", "events are dropped: " + std::to_string(Impl::kMaxPendingEvents) + " are already waiting for its handlers (first: \"" +
                         event + "\")");
    }
    return;
  }
  m->post([m, event, dataJson] {
    m->pendingEvents.fetch_sub(1);
    m->runJs([&](v8::Local<v8::Context> ctx) {
      m->callEntry(ctx, "deliverEvent", {v8str(m->isolate, event), v8str(m->isolate, dataJson)});
    });
  });
}

}  // namespace patchbay
