// sodium.db: the plugin's own database, opened on first use.
#include "runtime/plugin_impl.h"

namespace patchbay {

using Impl = PluginInstance::Impl;

namespace {

void nativeDb(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  if (!s->database()) return;
  auto r = s->db->call(s->arg(info, 0), s->arg(info, 1), s->arg(info, 2), s->arg(info, 3));
  if (!r) return s->throwError(r.error().message);
  info.GetReturnValue().Set(v8str(info.GetIsolate(), *r));
}

}  // namespace

// The plugin's database, opened on first use.
PluginDb* PluginInstance::Impl::database() {
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

void api::addDb(Natives& natives) { natives.add<nativeDb>("db"); }

}  // namespace patchbay
