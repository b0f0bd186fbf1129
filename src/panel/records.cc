// sodium.data over the panel's own records (patchbay/panel.h, Panel::records):
// users without their secrets, servers with their node's name, nodes.
#include "panel/panel_impl.h"

namespace patchbay::panel {

namespace {

class PanelRecords final : public PanelData {
 public:
  PanelRecords(Accounts& accounts, Fleet& fleet) : accounts_(accounts), fleet_(fleet) {}

  std::string list(Records records) override {
    json out = json::array();
    switch (records) {
      case Records::kUsers:
        if (auto users = accounts_.listUsers()) {
          for (const auto& u : *users) out.push_back(userObject(u));
        }
        break;
      case Records::kServers: {
        const auto nodes = fleet_.nodes();
        for (const auto& s : fleet_.servers()) out.push_back(serverObject(s, nodeOf(nodes, s.nodeId)));
        break;
      }
      case Records::kNodes:
        for (const auto& n : fleet_.nodes()) out.push_back(nodeObject(n));
        break;
    }
    return out.dump();
  }

  std::string find(Records records, const std::string& id) override {
    switch (records) {
      case Records::kUsers:
        if (auto u = accounts_.findUser(id)) return userObject(*u).dump();
        break;
      case Records::kServers:
        if (auto s = fleet_.findServer(id)) {
          auto node = fleet_.findNode(s->nodeId);
          return serverObject(*s, node ? &*node : nullptr).dump();
        }
        break;
      case Records::kNodes:
        if (auto n = fleet_.findNode(id)) return nodeObject(*n).dump();
        break;
    }
    return "null";
  }

 private:
  static const Node* nodeOf(const std::vector<Node>& nodes, const std::string& id) {
    for (const auto& n : nodes) {
      if (n.id == id) return &n;
    }
    return nullptr;
  }
  Accounts& accounts_;
  Fleet& fleet_;
};

}  // namespace

std::shared_ptr<PanelData> makePanelRecords(Accounts& accounts, Fleet& fleet) { return std::make_shared<PanelRecords>(accounts, fleet); }

}  // namespace patchbay::panel
