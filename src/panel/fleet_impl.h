// Fleet::Impl: the records (fleet.cc) and the simulation (fleet_power.cc)
// share one lock; what changed is queued under it and handed to the
// listener after, in order (deliver()).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "patchbay/panel_fleet.h"
#include "patchbay/sql_database.h"

namespace patchbay::panel {

struct Fleet::Impl {
  using Clock = std::chrono::steady_clock;

  // A server's life beyond its record: the transition under way, its usage, its log.
  struct Live {
    std::optional<Clock::time_point> transitionAt;  // when starting/stopping ends
    bool restartAfterStop = false;
    std::optional<PowerAction> cause;  // the action under way
    Clock::time_point runningSince{};
    Clock::time_point nextReport{};
    bool reported = false;
    Usage usage;
    std::deque<LogLine> log;
    std::mt19937 random{0};
    bool runsHere = false;  // this process simulates it (took its last power action, or found it running)
  };

  std::unique_ptr<SqlDatabase> db;
  FleetOptions options;

  mutable std::mutex mu;  // everything below, and the database
  std::vector<Node> nodes;
  std::vector<Server> servers;
  std::map<std::string, Live> live;
  std::deque<FleetEvent> pending;  // changes not yet handed to the listener
  std::condition_variable wake;
  // While the simulation thread sleeps: when it wakes next. A change that
  // makes something due earlier wakes it (after its own delivery); any
  // other lets it sleep.
  std::optional<Clock::time_point> sleepsUntil;
  bool stopping = false;
  std::thread simulation;

  std::mutex deliverMu;  // one delivery at a time, in order
  std::function<void(const FleetEvent&)> listener;

  Impl(std::unique_ptr<SqlDatabase> d, FleetOptions o) : db(std::move(d)), options(o) {}

  Node* node(const std::string& id);
  const Node* node(const std::string& id) const;
  Server* server(const std::string& id);
  const Server* server(const std::string& id) const;
  ServerLimits usedOn(const std::string& nodeId) const;
  Status saveNode(const Node& node, bool insert);
  // Reads nodes and servers as stored (reload()); under mu.
  Status reloadLocked();
  Clock::time_point nextReload{};
  Result<Server> plan(const NewServer& request) const;

  // Queued under mu; handed out by deliver().
  void saved(const char* collection, const nlohmann::ordered_json& record, const char* change) {
    FleetEvent e;
    e.kind = FleetEvent::Kind::kSaved;
    e.collection = collection;
    e.change = change;
    e.recordJson = record.dump();
    pending.push_back(std::move(e));
  }
  void logLocked(const std::string& serverId, std::string text);
  void setStatus(Server& server, ServerStatus status, std::optional<PowerAction> cause);
  // Hands queued changes to the listener; call without holding mu.
  void deliver();

  // Calls deliver() when the scope ends: declare it before the lock. Then
  // wakes the simulation if `wakeSimulation` was set (after the events went
  // out, so that its thread does not compete with their delivery).
  struct DeliverAfter {
    Impl& impl;
    bool wakeSimulation = false;
    ~DeliverAfter() {
      impl.deliver();
      if (wakeSimulation) impl.wake.notify_all();
    }
  };
  // Whether something due at `at` comes before the simulation's next wake (under mu).
  bool dueBeforeSimulationWakes(Clock::time_point at) const { return sleepsUntil && at < *sleepsUntil; }

  void startSimulation();
  void stopSimulation();
  void simulate();
  // Moves servers whose transition is due, reports due usage; the next time anything is due.
  Clock::time_point stepLocked(Clock::time_point now);
  void reportUsageLocked(Server& server, Live& life, Clock::time_point now);
};

}  // namespace patchbay::panel
