// sodium.data: the panel's users, servers and nodes (RuntimeOptions::
// panelData), read-only, with the fields Sodium keeps secret stripped here
// whatever the panel returns.
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using json = nlohmann::json;
using Impl = PluginInstance::Impl;

namespace {

struct RecordKind {
  const char* name;
  const char* listCall;
  const char* findCall;
  PanelData::Records records;
  Capability capability;
  std::initializer_list<const char*> secrets;
};

const RecordKind kKinds[] = {
    {"users", "data.getUsers", "data.findUser", PanelData::Records::kUsers, Capability::kReadUsers,
     {"password", "twoFactorCode", "twoFactorExpires", "verificationToken", "resetToken", "resetTokenExpires"}},
    {"servers", "data.getServers", "data.findServer", PanelData::Records::kServers, Capability::kReadServers, {}},
    {"nodes", "data.getNodes", "data.findNode", PanelData::Records::kNodes, Capability::kReadNodes, {"daemon_token"}},
};

void strip(json& record, const RecordKind& kind) {
  if (!record.is_object()) return;
  for (const char* field : kind.secrets) record.erase(field);
}

// data(op, kind, id): op "list" answers a JSON array, "find" a record or null.
void nativeData(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  const std::string op = s->arg(info, 0), kindName = s->arg(info, 1);
  const RecordKind* kind = nullptr;
  for (const auto& k : kKinds) {
    if (kindName == k.name) kind = &k;
  }
  if (!kind || (op != "list" && op != "find")) return s->throwError("data: no such call");
  if (!s->opens(kind->capability, op == "list" ? kind->listCall : kind->findCall)) return;
  json out = op == "list" ? json::array() : json();
  if (PanelData* panel = s->host.panelData.get()) {
    json answer = parseJsonOrDiscarded<json>(op == "list" ? panel->list(kind->records) : panel->find(kind->records, s->arg(info, 2)));
    if (op == "list" && answer.is_array()) {
      out = std::move(answer);
      for (auto& record : out) strip(record, *kind);
    } else if (op == "find" && answer.is_object()) {
      out = std::move(answer);
      strip(out, *kind);
    }
  }
  info.GetReturnValue().Set(v8str(info.GetIsolate(), out.dump(-1, ' ', false, json::error_handler_t::replace)));
}

}  // namespace

void api::addData(Natives& natives) { natives.add<nativeData>("data"); }

}  // namespace patchbay
