// patchbay/panel_fleet.h — the panel's game servers and the nodes they run
// on, simulated as Sodium simulates its daemon: no process runs, but a
// server goes through the states a real one does and reports usage.
//
//   offline --start--> starting --(startDelay)--> running
//   running --stop--> stopping --(stopDelay)--> offline
//   running --restart--> stopping --> starting --> running
//   any --kill--> offline, at once
//
// Running servers report their resource usage every `usageInterval`; each
// server keeps a console-like log of what happened to it (the last
// `logLines` lines, in memory). Nodes have a capacity (memory and disk, in
// MiB, as Sodium's); servers are placed on the least used node with room
// unless a node is named. Records live in the host's database (tables
// panel_nodes, panel_servers, SQLite or PostgreSQL); a restarted panel
// finds its servers as they were (a server caught starting is running, one
// caught stopping is offline). Processes sharing a PostgreSQL database see
// each other's changes (reload(), docs/scale.md).
//
// As JSON (Sodium's shapes, for the API and sodium.data):
//   server: {id, uuid, name, description, user_id, node_id, node_name,
//            limits: {memory, disk, cpu}, status, suspended, created_at}
//   node:   {id, name, location, memory, disk, maintenance_mode, created_at}
//   usage:  {cpu, memory, memoryLimit, disk, diskLimit, uptime}  (percent, bytes, seconds)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "patchbay/result.h"

namespace patchbay {

class SqlDatabase;

namespace panel {

enum class ServerStatus { kOffline, kStarting, kRunning, kStopping };
const char* statusName(ServerStatus status);  // "offline", "starting", "running", "stopping"

enum class PowerAction { kStart, kStop, kRestart, kKill };
const char* actionName(PowerAction action);  // "start", "stop", "restart", "kill"
std::optional<PowerAction> powerActionNamed(std::string_view name);

struct ServerLimits {
  int64_t memory = 512;  // MiB
  int64_t disk = 1024;   // MiB
  int64_t cpu = 100;     // percent of one core
};

struct Node {
  std::string id;  // a UUID
  std::string name, location;
  int64_t memory = 0, disk = 0;  // capacity, MiB
  std::string createdAt;
};

struct Server {
  std::string id;  // a UUID
  std::string name, description;
  std::string ownerId, nodeId;
  ServerLimits limits;
  ServerStatus status = ServerStatus::kOffline;
  std::string createdAt;
};

struct Usage {
  double cpu = 0;  // percent
  int64_t memoryBytes = 0, memoryLimitBytes = 0, diskBytes = 0, diskLimitBytes = 0;
  int64_t uptimeSeconds = 0;
};

struct LogLine {
  std::string at;  // ISO 8601 UTC
  std::string text;
};

// What changed, as the fleet tells its listener (the panel: its hooks and
// live events), in the order it happened. Called on whichever thread made
// the change (a request's, the simulation's), never holding the fleet's lock.
struct FleetEvent {
  enum class Kind {
    kStatus,  // server: its new status; action: the power action that led there
    kUsage,   // server, usage: a running server's report
    kLog,     // server, line: a line of its log
    kSaved,   // collection ("servers", "nodes"), change, record: a write of the database
  };
  Kind kind = Kind::kStatus;
  Server server;
  std::optional<PowerAction> action;
  Usage usage;
  LogLine line;
  std::string collection;
  std::string change;      // "insert", "update", "delete"
  std::string recordJson;  // the record as the API shows it
};

struct FleetOptions {
  std::chrono::milliseconds startDelay{2000};
  std::chrono::milliseconds stopDelay{1500};
  std::chrono::milliseconds usageInterval{3000};
  size_t logLines = 200;
  // Several panel processes on one database: the records are read again
  // this often (0: never), besides when told to (reload()).
  std::chrono::milliseconds reloadEvery{0};
};

// What a node is made or changed with; unset fields keep their value.
struct NodeFields {
  std::optional<std::string> name, location;
  std::optional<int64_t> memory, disk;
};

struct NewServer {
  std::string name, description, ownerId;
  std::string nodeId;  // "" : the panel chooses
  ServerLimits limits;
};

// The servers and nodes. Thread-safe.
class Fleet {
 public:
  // Makes its tables when missing.
  static Result<std::unique_ptr<Fleet>> open(std::unique_ptr<SqlDatabase> db, FleetOptions options = {});
  ~Fleet();  // stops the simulation
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Who hears about changes; set once, before servers are acted on.
  void setListener(std::function<void(const FleetEvent&)> listener);

  // Nodes. kInvalidInput with what is wrong (a name 1-50 characters, a
  // capacity of at least 128 MiB memory and 1,024 MiB disk).
  Result<Node> createNode(const NodeFields& fields);
  // kNotFound "Node not found"; kInvalidInput when a smaller capacity would
  // no longer hold the servers on it.
  Result<Node> updateNode(const std::string& id, const NodeFields& fields);
  // kNotFound; kConflict "Node has servers" while servers are on it.
  Status deleteNode(const std::string& id);
  std::vector<Node> nodes() const;
  std::optional<Node> findNode(const std::string& id) const;
  // A new panel's node ("Local node", 16 GiB, 100 GiB) when there is none;
  // whether one was made.
  Result<bool> ensureFirstNode();

  // Servers. The name 1-50 characters, description up to 200, memory
  // 128 MiB or more, disk 256 MiB or more, cpu 1-1000 %; kInvalidInput with
  // Sodium's texts ("Server name required", "Invalid node",
  // "No available nodes with enough resources").
  // Checks only: what creating would make (the node chosen), not stored.
  Result<Server> planServer(const NewServer& request) const;
  Result<Server> createServer(const NewServer& request);
  // Every server, or `ownerId`'s, oldest first.
  std::vector<Server> servers(std::optional<std::string> ownerId = std::nullopt) const;
  std::optional<Server> findServer(const std::string& id) const;
  // kNotFound "Server not found"; kInvalidInput for the name or description.
  Result<Server> updateDetails(const std::string& id, std::string_view name, std::string_view description);
  // Removes it (a running one is killed first); the server as it was.
  Result<Server> deleteServer(const std::string& id);
  // The servers of `ownerId`, removed; the ones removed.
  Result<std::vector<Server>> deleteServersOf(const std::string& ownerId);
  // Starts a power action: the server as it is now (transitions go on in
  // the background). kConflict for one that makes no sense in the state
  // (start while running: "Server is already running").
  Result<Server> power(const std::string& id, PowerAction action);
  // The last usage a running server reported (nullopt otherwise).
  std::optional<Usage> usage(const std::string& id) const;
  // The server's log, oldest first.
  std::vector<LogLine> log(const std::string& id) const;
  // What the process that runs a server reported about it (another process
  // on the same database: its usage, a line of its log), kept here too so
  // that every process shows the same server detail. Ignored for servers
  // this process runs itself and for unknown ones; not told to the listener
  // (the process that runs the server told its own).
  void observedUsage(const std::string& id, const Usage& usage);
  void observedLog(const std::string& id, LogLine line);

  // Reads the records again: another process on the same database changed
  // them. New servers and nodes appear, removed ones go, changed ones take
  // their stored fields. A server whose status another process changed is
  // that process's to run from then on: its transitions, usage reports and
  // log lines come from there, and this process stops simulating it. (The
  // process that takes a power action runs the server; after a restart,
  // each process runs the servers it finds running.) Changes read here are
  // not told to the listener: the process that made them told its own.
  Status reload();

  struct Impl;

 private:
  explicit Fleet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sodium's shapes (see the top). `node` names the server's node when known.
nlohmann::ordered_json serverObject(const Server& server, const Node* node = nullptr);
nlohmann::ordered_json nodeObject(const Node& node);
nlohmann::ordered_json usageObject(const Usage& usage);
// The Usage a usageObject describes (from another process); missing or
// mistyped fields read as 0.
Usage usageFromObject(const nlohmann::ordered_json& object);

}  // namespace panel
}  // namespace patchbay
