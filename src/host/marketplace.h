// The marketplace's operations: installs, upgrades and uninstalls an
// administrator started in the panel, run one at a time on a thread of
// their own (the request that starts one is answered at once, 202), each
// step told as it starts (HostOptions::operationProgress) and kept for a
// while to be asked for (GET /api/admin/marketplace/operations/<id>).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <thread>

#include "patchbay/host.h"
#include "patchbay/install.h"

namespace patchbay {

struct MarketOperation {
  enum class State { kQueued, kRunning, kDone, kFailed };
  std::string id;  // "op-<n>", unique while the host runs
  OperationKind kind = OperationKind::kInstall;
  std::string pluginId;
  std::string range;     // the version asked for ("" = the newest)
  bool keepData = false; // uninstall: tables and data stay
  AuditActor actor;      // for the audit log
  State state = State::kQueued;
  std::optional<OperationProgress> progress;  // the step under way (or the last)
  std::string error;     // why it failed
  int errorStatus = 0;   // the HTTP status the error would answer with
  std::optional<OperationReport> report;
  std::string queuedAt, finishedAt;  // ISO 8601
};

// {"id", "action", "plugin", "version", "state", "step", "stepPlugin",
//  "done", "total", "error", "report", "queuedAt", "finishedAt"}
nlohmann::ordered_json marketOperationJson(const MarketOperation& op);

class MarketplaceOperations {
 public:
  // `host` outlives this; `publish` hears {"type":"plugin.operation","operation":{...}}.
  MarketplaceOperations(Host& host, std::function<void(const std::string& eventJson)> publish);
  // Waits for the operation under way; queued ones are dropped.
  ~MarketplaceOperations();
  MarketplaceOperations(const MarketplaceOperations&) = delete;
  MarketplaceOperations& operator=(const MarketplaceOperations&) = delete;

  // Queues `op` (its id and times are set here); returns it as queued.
  MarketOperation start(MarketOperation op);
  std::optional<MarketOperation> find(const std::string& id) const;
  // The latest operations, newest first.
  std::vector<MarketOperation> recent() const;

 private:
  void run();
  void execute(const std::string& id);
  void update(const std::string& id, const std::function<void(MarketOperation&)>& change, bool force = true);

  Host& host_;
  std::function<void(const std::string&)> publish_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  std::map<uint64_t, MarketOperation> operations_;  // by sequence number; the last kKept
  uint64_t next_ = 1;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point lastDownloadEvent_{};
  std::thread worker_;
};

}  // namespace patchbay
