// sodium.ui: pages, sidebar items, tabs and widgets a plugin adds to the panel
// (client-data).
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using json = nlohmann::json;
using Impl = PluginInstance::Impl;

namespace {

void nativeUi(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
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

}  // namespace

void api::addUi(Natives& natives) { natives.add<nativeUi>("ui"); }

std::string PluginInstance::uiJson() const {
  std::lock_guard lock(impl_->stateMu);
  return impl_->ui.dump();
}

}  // namespace patchbay
