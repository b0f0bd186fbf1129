// sodium.config: the plugin's settings (plugin_settings.h).
#include "runtime/plugin_impl.h"
#include "runtime/plugin_settings.h"

namespace patchbay {

using Impl = PluginInstance::Impl;

namespace {

// config(op, key, valueJson): "get" answers the value's JSON or undefined;
// "set" stores (valueJson undefined removes the key); "getAll" answers the
// stored values and declared defaults. The plugin reads its own secrets.
void nativeConfig(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  PluginDb* pdb = s->database();
  if (!pdb) return;
  PluginSettings settings(s->manifest, *pdb);
  const std::string op = s->arg(info, 0);
  auto fail = [&](const Error& e) { s->throwError("config." + op + ": " + e.message); };
  if (op == "get") {
    auto value = settings.get(s->arg(info, 1));
    if (!value) return fail(value.error());
    if (*value) info.GetReturnValue().Set(v8str(info.GetIsolate(), **value));
  } else if (op == "set") {
    const bool remove = info.Length() < 3 || info[2]->IsUndefined();
    Status set = settings.set(s->arg(info, 1), remove ? std::nullopt : std::optional<std::string>(s->arg(info, 2)));
    if (!set) return fail(set.error());
  } else if (op == "getAll") {
    auto all = settings.values();
    if (!all) return fail(all.error());
    info.GetReturnValue().Set(v8str(info.GetIsolate(), *all));
  } else {
    fail(Error::invalid("not a config call"));
  }
}

}  // namespace

void api::addConfig(Natives& natives) { natives.add<nativeConfig>("config"); }

}  // namespace patchbay
