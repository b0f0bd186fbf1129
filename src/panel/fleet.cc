// The panel's nodes and servers: their records and the rules for them
// (patchbay/panel_fleet.h). The power state machine is in fleet_power.cc.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "panel/fleet_impl.h"
#include "patchbay/clock.h"
#include "patchbay/integrity.h"
#include "patchbay/sql_database.h"
#include "patchbay/text.h"

namespace patchbay::panel {

namespace {

constexpr const char* kFleetSchema = R"sql(
CREATE TABLE IF NOT EXISTS panel_nodes (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, location TEXT NOT NULL,
  memory BIGINT NOT NULL, disk BIGINT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS panel_servers (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL,
  owner_id TEXT NOT NULL, node_id TEXT NOT NULL, memory BIGINT NOT NULL,
  disk BIGINT NOT NULL, cpu BIGINT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS panel_servers_owner ON panel_servers (owner_id);
)sql";

int64_t number(const std::string& text) { return text.empty() ? 0 : std::stoll(text); }

constexpr const char* kSelectNodes = "SELECT id, name, location, memory, disk, created_at FROM panel_nodes ORDER BY created_at, id";
constexpr const char* kSelectServers =
    "SELECT id, name, description, owner_id, node_id, memory, disk, cpu, status, created_at FROM panel_servers ORDER BY created_at, id";

Node nodeFromRow(const std::vector<std::string>& r) { return {r[0], r[1], r[2], number(r[3]), number(r[4]), r[5]}; }

// A row of kSelectServers, with the status as stored.
Server serverFromRow(const std::vector<std::string>& r) {
  Server s{r[0], r[1], r[2], r[3], r[4], {number(r[5]), number(r[6]), number(r[7])}, ServerStatus::kOffline, r[9]};
  for (ServerStatus st : {ServerStatus::kOffline, ServerStatus::kStarting, ServerStatus::kRunning, ServerStatus::kStopping}) {
    if (r[8] == statusName(st)) s.status = st;
  }
  return s;
}

// A name or description as typed: trimmed; no control characters.
Result<std::string> cleanText(std::string_view text, size_t maxLength, const char* what, bool required) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (required && text.empty()) return Error::invalid(std::string(what) + " is required");
  if (!isUtf8(text)) return Error::invalid(std::string(what) + " must be UTF-8 text");
  if (utf8Length(text) > maxLength) return Error::invalid(std::string(what) + " must be " + std::to_string(maxLength) + " characters or less");
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) return Error::invalid(std::string(what) + " must not contain control characters");
  }
  return std::string(text);
}

Status checkLimits(const ServerLimits& limits) {
  if (limits.memory < 128 || limits.memory > (int64_t{1} << 30)) return Error::invalid("memory must be at least 128 (MiB)");
  if (limits.disk < 256 || limits.disk > (int64_t{1} << 34)) return Error::invalid("disk must be at least 256 (MiB)");
  if (limits.cpu < 1 || limits.cpu > 1000) return Error::invalid("cpu must be between 1 and 1000 (%)");
  return {};
}

}  // namespace

const char* statusName(ServerStatus status) {
  switch (status) {
    case ServerStatus::kOffline: return "offline";
    case ServerStatus::kStarting: return "starting";
    case ServerStatus::kRunning: return "running";
    case ServerStatus::kStopping: return "stopping";
  }
  return "offline";
}

const char* actionName(PowerAction action) {
  switch (action) {
    case PowerAction::kStart: return "start";
    case PowerAction::kStop: return "stop";
    case PowerAction::kRestart: return "restart";
    case PowerAction::kKill: return "kill";
  }
  return "start";
}

std::optional<PowerAction> powerActionNamed(std::string_view name) {
  for (PowerAction a : {PowerAction::kStart, PowerAction::kStop, PowerAction::kRestart, PowerAction::kKill}) {
    if (name == actionName(a)) return a;
  }
  return std::nullopt;
}

nlohmann::ordered_json serverObject(const Server& s, const Node* node) {
  return {{"id", s.id},
          {"uuid", s.id},
          {"name", s.name},
          {"description", s.description},
          {"user_id", s.ownerId},
          {"node_id", s.nodeId},
          {"node_name", node ? nlohmann::ordered_json(node->name) : nlohmann::ordered_json(nullptr)},
          {"limits", {{"memory", s.limits.memory}, {"disk", s.limits.disk}, {"cpu", s.limits.cpu}}},
          {"status", statusName(s.status)},
          {"suspended", false},
          {"created_at", s.createdAt}};
}

nlohmann::ordered_json nodeObject(const Node& n) {
  return {{"id", n.id},         {"name", n.name}, {"location", n.location}, {"memory", n.memory},
          {"disk", n.disk},     {"maintenance_mode", false}, {"created_at", n.createdAt}};
}

nlohmann::ordered_json usageObject(const Usage& u) {
  return {{"cpu", u.cpu},   {"memory", u.memoryBytes}, {"memoryLimit", u.memoryLimitBytes},
          {"disk", u.diskBytes}, {"diskLimit", u.diskLimitBytes}, {"uptime", u.uptimeSeconds}};
}

Usage usageFromObject(const nlohmann::ordered_json& u) {
  const auto number = [&](const char* key) { return u.is_object() && u.contains(key) && u[key].is_number() ? u[key] : nlohmann::ordered_json(0); };
  Usage usage;
  usage.cpu = number("cpu").get<double>();
  usage.memoryBytes = number("memory").get<int64_t>();
  usage.memoryLimitBytes = number("memoryLimit").get<int64_t>();
  usage.diskBytes = number("disk").get<int64_t>();
  usage.diskLimitBytes = number("diskLimit").get<int64_t>();
  usage.uptimeSeconds = number("uptime").get<int64_t>();
  return usage;
}

Fleet::Fleet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Fleet::~Fleet() { impl_->stopSimulation(); }

Result<std::unique_ptr<Fleet>> Fleet::open(std::unique_ptr<SqlDatabase> db, FleetOptions options) {
  if (auto s = db->exec(kFleetSchema); !s) return s.error();
  auto impl = std::make_unique<Fleet::Impl>(std::move(db), options);
  auto nodes = impl->db->query(kSelectNodes);
  if (!nodes) return nodes.error();
  for (const auto& r : *nodes) impl->nodes.push_back(nodeFromRow(r));
  auto servers = impl->db->query(kSelectServers);
  if (!servers) return servers.error();
  for (const auto& r : *servers) {
    Server s = serverFromRow(r);
    // A panel that stopped mid-transition finds it finished: starting ran, stopping stopped.
    s.status = s.status == ServerStatus::kRunning || s.status == ServerStatus::kStarting ? ServerStatus::kRunning : ServerStatus::kOffline;
    impl->servers.push_back(s);
  }
  impl->nextReload = Impl::Clock::now() + options.reloadEvery;
  impl->startSimulation();
  return std::unique_ptr<Fleet>(new Fleet(std::move(impl)));
}

void Fleet::setListener(std::function<void(const FleetEvent&)> listener) {
  std::lock_guard lock(impl_->deliverMu);
  impl_->listener = std::move(listener);
}

Result<Node> Fleet::createNode(const NodeFields& fields) {
  Impl::DeliverAfter delivery{*impl_};
  Node node{randomUuid(), "", "", 0, 0, utcNow()};
  auto name = cleanText(fields.name.value_or(""), 50, "Node name", true);
  if (!name) return name.error();
  auto location = cleanText(fields.location.value_or(""), 100, "Location", false);
  if (!location) return location.error();
  node.name = *name;
  node.location = *location;
  node.memory = fields.memory.value_or(0);
  node.disk = fields.disk.value_or(0);
  if (node.memory < 128) return Error::invalid("Node memory must be at least 128 (MiB)");
  if (node.disk < 1024) return Error::invalid("Node disk must be at least 1024 (MiB)");
  std::lock_guard lock(impl_->mu);
  if (auto s = impl_->saveNode(node, true); !s) return s.error();
  impl_->nodes.push_back(node);
  impl_->saved("nodes", nodeObject(node), "insert");
  return node;
}

Result<Node> Fleet::updateNode(const std::string& id, const NodeFields& fields) {
  Impl::DeliverAfter delivery{*impl_};
  std::unique_lock lock(impl_->mu);
  Node* node = impl_->node(id);
  if (!node) return Error::notFound("Node not found");
  Node next = *node;
  if (fields.name) {
    auto name = cleanText(*fields.name, 50, "Node name", true);
    if (!name) return name.error();
    next.name = *name;
  }
  if (fields.location) {
    auto location = cleanText(*fields.location, 100, "Location", false);
    if (!location) return location.error();
    next.location = *location;
  }
  if (fields.memory) next.memory = *fields.memory;
  if (fields.disk) next.disk = *fields.disk;
  const ServerLimits used = impl_->usedOn(id);
  if (next.memory < std::max<int64_t>(128, used.memory)) return Error::invalid("Node memory must be at least 128 (MiB) and hold its servers' " + std::to_string(used.memory));
  if (next.disk < std::max<int64_t>(1024, used.disk)) return Error::invalid("Node disk must be at least 1024 (MiB) and hold its servers' " + std::to_string(used.disk));
  if (auto s = impl_->saveNode(next, false); !s) return s.error();
  *node = next;
  impl_->saved("nodes", nodeObject(next), "update");
  return next;
}

Status Fleet::deleteNode(const std::string& id) {
  Impl::DeliverAfter delivery{*impl_};
  std::unique_lock lock(impl_->mu);
  Node* node = impl_->node(id);
  if (!node) return Error::notFound("Node not found");
  for (const auto& s : impl_->servers) {
    if (s.nodeId == id) return Error::conflict("Node has servers: delete or move them first");
  }
  if (auto s = impl_->db->query("DELETE FROM panel_nodes WHERE id = $1", {id}); !s) return s.error();
  impl_->saved("nodes", nodeObject(*node), "delete");
  impl_->nodes.erase(impl_->nodes.begin() + (node - impl_->nodes.data()));
  return {};
}

std::vector<Node> Fleet::nodes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->nodes;
}

std::optional<Node> Fleet::findNode(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  const Node* node = impl_->node(id);
  return node ? std::optional<Node>(*node) : std::nullopt;
}

Result<bool> Fleet::ensureFirstNode() {
  Impl::DeliverAfter delivery{*impl_};
  std::lock_guard lock(impl_->mu);
  if (!impl_->nodes.empty()) return false;
  // One id for every panel's first node: processes starting together on
  // one database make it once (the others' inserts do nothing).
  const Node node{"00000000-0000-4000-8000-000000000001", "Local node", "Local", 16384, 102400, utcNow()};
  auto q = impl_->db->query(
      "INSERT INTO panel_nodes (id, name, location, memory, disk, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
      {node.id, node.name, node.location, std::to_string(node.memory), std::to_string(node.disk), node.createdAt});
  if (!q) return q.error();
  const bool made = impl_->db->changes() == 1;
  if (auto s = impl_->reloadLocked(); !s) return s.error();
  if (made) impl_->saved("nodes", nodeObject(node), "insert");
  return made;
}

Result<Server> Fleet::Impl::plan(const NewServer& request) const {
  Server server{randomUuid(), "", "", request.ownerId, "", request.limits, ServerStatus::kOffline, utcNow()};
  if (request.name.empty()) return Error::invalid("Server name required");
  auto name = cleanText(request.name, 50, "Server name", true);
  if (!name) return name.error();
  auto description = cleanText(request.description, 200, "Description", false);
  if (!description) return description.error();
  server.name = *name;
  server.description = *description;
  if (auto s = checkLimits(request.limits); !s) return s.error();
  auto fits = [&](const Node& n) {
    const ServerLimits used = usedOn(n.id);
    return used.memory + request.limits.memory <= n.memory && used.disk + request.limits.disk <= n.disk;
  };
  if (!request.nodeId.empty()) {
    const Node* n = node(request.nodeId);
    if (!n) return Error::invalid("Invalid node");
    if (!fits(*n)) return Error::invalid("Node has not enough resources");
    server.nodeId = n->id;
    return server;
  }
  // Sodium's choice: the node whose memory and disk are least used, among those with room.
  double lowest = 2;
  for (const Node& n : nodes) {
    if (!fits(n)) continue;
    const ServerLimits used = usedOn(n.id);
    const double load = (static_cast<double>(used.memory) / n.memory + static_cast<double>(used.disk) / n.disk) / 2;
    if (load < lowest) {
      lowest = load;
      server.nodeId = n.id;
    }
  }
  if (server.nodeId.empty()) return Error::invalid("No available nodes with enough resources");
  return server;
}

Result<Server> Fleet::planServer(const NewServer& request) const {
  std::lock_guard lock(impl_->mu);
  return impl_->plan(request);
}

Result<Server> Fleet::createServer(const NewServer& request) {
  Impl::DeliverAfter delivery{*impl_};
  std::lock_guard lock(impl_->mu);
  auto server = impl_->plan(request);
  if (!server) return server;
  if (auto s = impl_->db->query(
          "INSERT INTO panel_servers (id, name, description, owner_id, node_id, memory, disk, cpu, status, created_at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          {server->id, server->name, server->description, server->ownerId, server->nodeId, std::to_string(server->limits.memory),
           std::to_string(server->limits.disk), std::to_string(server->limits.cpu), statusName(server->status), server->createdAt});
      !s) {
    return s.error();
  }
  impl_->servers.push_back(*server);
  impl_->saved("servers", serverObject(*server, impl_->node(server->nodeId)), "insert");
  impl_->logLocked(server->id, "Server created on node " + impl_->node(server->nodeId)->name);
  return server;
}

std::vector<Server> Fleet::servers(std::optional<std::string> ownerId) const {
  std::lock_guard lock(impl_->mu);
  if (!ownerId) return impl_->servers;
  std::vector<Server> out;
  for (const auto& s : impl_->servers) {
    if (s.ownerId == *ownerId) out.push_back(s);
  }
  return out;
}

std::optional<Server> Fleet::findServer(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  const Server* s = impl_->server(id);
  return s ? std::optional<Server>(*s) : std::nullopt;
}

Result<Server> Fleet::updateDetails(const std::string& id, std::string_view name, std::string_view description) {
  auto cleanName = cleanText(name, 50, "Server name", true);
  if (!cleanName) return cleanName.error();
  auto cleanDescription = cleanText(description, 200, "Description", false);
  if (!cleanDescription) return cleanDescription.error();
  Impl::DeliverAfter delivery{*impl_};
  std::lock_guard lock(impl_->mu);
  Server* s = impl_->server(id);
  if (!s) return Error::notFound("Server not found");
  if (auto q = impl_->db->query("UPDATE panel_servers SET name = $1, description = $2 WHERE id = $3", {*cleanName, *cleanDescription, id}); !q) {
    return q.error();
  }
  s->name = *cleanName;
  s->description = *cleanDescription;
  impl_->saved("servers", serverObject(*s, impl_->node(s->nodeId)), "update");
  return *s;
}

Result<Server> Fleet::deleteServer(const std::string& id) {
  Impl::DeliverAfter delivery{*impl_};
  Server removed;
  {
    std::lock_guard lock(impl_->mu);
    Server* s = impl_->server(id);
    if (!s) return Error::notFound("Server not found");
    if (auto q = impl_->db->query("DELETE FROM panel_servers WHERE id = $1", {id}); !q) return q.error();
    removed = *s;
    impl_->live.erase(id);
    impl_->saved("servers", serverObject(removed, impl_->node(removed.nodeId)), "delete");
    impl_->servers.erase(impl_->servers.begin() + (s - impl_->servers.data()));
  }
  return removed;
}

Result<std::vector<Server>> Fleet::deleteServersOf(const std::string& ownerId) {
  std::vector<Server> removed;
  for (const auto& s : servers(ownerId)) {
    auto gone = deleteServer(s.id);
    if (!gone && gone.error().kind != ErrorKind::kNotFound) return gone.error();
    if (gone) removed.push_back(*gone);
  }
  return removed;
}

std::optional<Usage> Fleet::usage(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  const Server* s = impl_->server(id);
  auto it = impl_->live.find(id);
  if (!s || s->status != ServerStatus::kRunning || it == impl_->live.end() || !it->second.reported) return std::nullopt;
  return it->second.usage;
}

std::vector<LogLine> Fleet::log(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->live.find(id);
  if (it == impl_->live.end()) return {};
  return {it->second.log.begin(), it->second.log.end()};
}

void Fleet::observedUsage(const std::string& id, const Usage& usage) {
  std::lock_guard lock(impl_->mu);
  if (!impl_->server(id)) return;
  Impl::Live& life = impl_->live[id];
  if (life.runsHere) return;
  life.usage = usage;
  life.reported = true;
}

void Fleet::observedLog(const std::string& id, LogLine line) {
  std::lock_guard lock(impl_->mu);
  if (!impl_->server(id)) return;
  Impl::Live& life = impl_->live[id];
  if (life.runsHere) return;
  life.log.push_back(std::move(line));
  while (life.log.size() > std::max<size_t>(impl_->options.logLines, 1)) life.log.pop_front();
}

Status Fleet::reload() {
  std::lock_guard lock(impl_->mu);
  return impl_->reloadLocked();
}

// ---- Impl helpers ----

Status Fleet::Impl::reloadLocked() {
  auto nodeRows = db->query(kSelectNodes);
  if (!nodeRows) return nodeRows.error();
  auto serverRows = db->query(kSelectServers);
  if (!serverRows) return serverRows.error();
  std::vector<Node> freshNodes;
  for (const auto& r : *nodeRows) freshNodes.push_back(nodeFromRow(r));
  std::vector<Server> freshServers;
  for (const auto& r : *serverRows) {
    Server fresh = serverFromRow(r);
    if (const Server* known = server(fresh.id); known && known->status != fresh.status) {
      // Another process acted on it: it runs the server now.
      if (auto it = live.find(fresh.id); it != live.end()) {
        it->second.transitionAt.reset();
        it->second.restartAfterStop = false;
        it->second.runsHere = false;
        it->second.reported = false;
      }
    }
    freshServers.push_back(std::move(fresh));
  }
  for (auto it = live.begin(); it != live.end();) {
    const bool kept = std::any_of(freshServers.begin(), freshServers.end(), [&](const Server& s) { return s.id == it->first; });
    it = kept ? std::next(it) : live.erase(it);
  }
  nodes = std::move(freshNodes);
  servers = std::move(freshServers);
  return {};
}

Node* Fleet::Impl::node(const std::string& id) {
  for (auto& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}
const Node* Fleet::Impl::node(const std::string& id) const { return const_cast<Impl*>(this)->node(id); }

Server* Fleet::Impl::server(const std::string& id) {
  for (auto& s : servers) {
    if (s.id == id) return &s;
  }
  return nullptr;
}
const Server* Fleet::Impl::server(const std::string& id) const { return const_cast<Impl*>(this)->server(id); }

ServerLimits Fleet::Impl::usedOn(const std::string& nodeId) const {
  ServerLimits used{0, 0, 0};
  for (const auto& s : servers) {
    if (s.nodeId != nodeId) continue;
    used.memory += s.limits.memory;
    used.disk += s.limits.disk;
    used.cpu += s.limits.cpu;
  }
  return used;
}

Status Fleet::Impl::saveNode(const Node& n, bool insert) {
  auto q = insert ? db->query("INSERT INTO panel_nodes (id, name, location, memory, disk, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                              {n.id, n.name, n.location, std::to_string(n.memory), std::to_string(n.disk), n.createdAt})
                  : db->query("UPDATE panel_nodes SET name = $1, location = $2, memory = $3, disk = $4 WHERE id = $5",
                              {n.name, n.location, std::to_string(n.memory), std::to_string(n.disk), n.id});
  if (!q) return q.error();
  return {};
}

}  // namespace patchbay::panel
