// What the fleet's changes set off (panel_impl.h): hook points for usage
// reports and writes of the panel's records.
#include "panel/panel_impl.h"

namespace patchbay::panel {

void listenToFleet(Panel::Impl& impl) {
  Panel::Impl* m = &impl;
  // Runs in the fleet's delivery: it must not change the fleet.
  m->fleet->setListener([m](const FleetEvent& e) {
    switch (e.kind) {
      case FleetEvent::Kind::kUsage: {
        auto node = m->fleet->findNode(e.server.nodeId);
        m->hooks.after("server:resourceUsage", json{{"server", serverObject(e.server, node ? &*node : nullptr)}, {"usage", usageObject(e.usage)}});
        break;
      }
      case FleetEvent::Kind::kSaved:
        m->hooks.after("db:afterSave", json{{"collection", e.collection}, {"change", e.change}, {"record", json::parse(e.recordJson)}});
        break;
      case FleetEvent::Kind::kStatus:
      case FleetEvent::Kind::kLog:
        break;
    }
  });
}

}  // namespace patchbay::panel
