// What the fleet's changes set off (panel_impl.h): live events for those
// who may see the server, hook points for usage reports and writes of the
// panel's records.
#include "panel/panel_impl.h"

namespace patchbay::panel {

void listenToFleet(Panel::Impl& impl) {
  Panel::Impl* m = &impl;
  // Runs in the fleet's delivery: it must not change the fleet.
  m->fleet->setListener([m](const FleetEvent& e) {
    switch (e.kind) {
      case FleetEvent::Kind::kUsage: {
        m->live.toServerViewers(e.server.id, e.server.ownerId, json{{"type", "server.usage"}, {"serverId", e.server.id}, {"usage", usageObject(e.usage)}}.dump());
        if (m->hooks.listens("server:resourceUsage")) {
          auto node = m->fleet->findNode(e.server.nodeId);
          m->hooks.after("server:resourceUsage", json{{"server", serverObject(e.server, node ? &*node : nullptr)}, {"usage", usageObject(e.usage)}});
        }
        break;
      }
      case FleetEvent::Kind::kSaved:
        m->hooks.after("db:afterSave", json{{"collection", e.collection}, {"change", e.change}, {"record", json::parse(e.recordJson)}});
        m->live.recordsChanged();  // the panel's other processes read them again
        break;
      case FleetEvent::Kind::kStatus: {
        m->live.recordsChanged();
        auto node = m->fleet->findNode(e.server.nodeId);
        m->live.toServerWatchers(e.server.ownerId, json{{"type", "server.status"}, {"server", serverObject(e.server, node ? &*node : nullptr)}}.dump());
        break;
      }
      case FleetEvent::Kind::kLog:
        m->live.toServerViewers(e.server.id, e.server.ownerId, json{{"type", "server.log"}, {"serverId", e.server.id}, {"line", {{"at", e.line.at}, {"text", e.line.text}}}}.dump());
        break;
    }
  });
}

void observeServerMessage(Fleet& fleet, const std::string& serverId, const std::string& message) {
  const json m = parseJsonOrDiscarded<json>(message);
  if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) return;
  const std::string type = m["type"];
  if (type == "server.usage" && m.contains("usage") && m["usage"].is_object()) {
    fleet.observedUsage(serverId, usageFromObject(m["usage"]));
  } else if (type == "server.log" && m.contains("line") && m["line"].is_object()) {
    const json& line = m["line"];
    if (!line.contains("at") || !line["at"].is_string() || !line.contains("text") || !line["text"].is_string()) return;
    fleet.observedLog(serverId, LogLine{line["at"].get<std::string>(), line["text"].get<std::string>()});
  }
}

}  // namespace patchbay::panel
