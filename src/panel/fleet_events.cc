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
        auto node = m->fleet->findNode(e.server.nodeId);
        m->live.toServerViewers(e.server.id, e.server.ownerId, json{{"type", "server.usage"}, {"serverId", e.server.id}, {"usage", usageObject(e.usage)}}.dump());
        m->hooks.after("server:resourceUsage", json{{"server", serverObject(e.server, node ? &*node : nullptr)}, {"usage", usageObject(e.usage)}});
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

}  // namespace patchbay::panel
