// Which API objects a plugin gets, from its manifest's permissions.
#include "runtime/plugin_impl.h"

namespace patchbay {

using Impl = PluginInstance::Impl;

namespace {

// Which API objects the plugin gets: all when the manifest lists no
// permissions; else those its permissions name. fetch always needs a grant.
void nativeAllows(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
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
    if (what == "db")
      allowed = any({"db:own", "database.read", "database.write", "database.create_tables"});
    else if (what == "http")
      allowed = any({"http:routes", "api.register_routes"});
    else if (what == "cron")
      allowed = any({"cron:register"});
    else if (what == "ui")
      allowed = any({"ui:pages", "ui:sidebar", "ui:admin", "ui:widgets", "ui:server-tabs"});
    else if (what == "plugins")
      allowed = any({"plugins:call"});
  }
  info.GetReturnValue().Set(allowed);
}

}  // namespace

void api::addPermissions(Natives& natives) { natives.add<nativeAllows>("allows"); }

}  // namespace patchbay
