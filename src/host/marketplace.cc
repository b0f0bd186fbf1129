#include "host/marketplace.h"

#include <nlohmann/json.hpp>

#include "host/route_support.h"
#include "patchbay/clock.h"

namespace patchbay {

namespace {

using json = nlohmann::ordered_json;

constexpr size_t kKept = 50;  // finished operations one can still ask about
// Download progress is told at most this often (every step start is told).
constexpr auto kDownloadEventInterval = std::chrono::milliseconds(100);

const char* stateName(MarketOperation::State state) {
  switch (state) {
    case MarketOperation::State::kQueued: return "queued";
    case MarketOperation::State::kRunning: return "running";
    case MarketOperation::State::kDone: return "done";
    case MarketOperation::State::kFailed: return "failed";
  }
  return "queued";
}

}  // namespace

json marketOperationJson(const MarketOperation& op) {
  json j = {{"id", op.id}, {"action", operationName(op.kind)}, {"plugin", op.pluginId}, {"version", op.range},
            {"state", stateName(op.state)}, {"queuedAt", op.queuedAt}};
  if (op.kind == OperationKind::kUninstall) j["keepData"] = op.keepData;
  if (op.progress) {
    j["step"] = operationStepName(op.progress->step);
    j["stepPlugin"] = op.progress->pluginId;
    j["done"] = op.progress->done;
    j["total"] = op.progress->total;
  }
  if (!op.error.empty()) {
    j["error"] = op.error;
    j["errorStatus"] = op.errorStatus;
  }
  if (op.report) j["report"] = host_routes::operationReportJson(*op.report);
  if (!op.finishedAt.empty()) j["finishedAt"] = op.finishedAt;
  return j;
}

MarketplaceOperations::MarketplaceOperations(Host& host, std::function<void(const std::string&)> publish)
    : host_(host), publish_(std::move(publish)) {
  worker_ = std::thread([this] { run(); });
}

MarketplaceOperations::~MarketplaceOperations() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

MarketOperation MarketplaceOperations::start(MarketOperation op) {
  MarketOperation queued;
  {
    std::lock_guard lock(mu_);
    const uint64_t seq = next_++;
    op.id = "op-" + std::to_string(seq);
    op.state = MarketOperation::State::kQueued;
    op.queuedAt = utcNowMillis();
    operations_[seq] = op;
    while (operations_.size() > kKept && operations_.begin()->second.state != MarketOperation::State::kQueued &&
           operations_.begin()->second.state != MarketOperation::State::kRunning) {
      operations_.erase(operations_.begin());
    }
    queued = op;
  }
  // Told as queued before the worker can take it: its steps come after.
  if (publish_) publish_(json{{"type", "plugin.operation"}, {"operation", marketOperationJson(queued)}}.dump());
  {
    std::lock_guard lock(mu_);
    queue_.push_back(queued.id);
  }
  wake_.notify_all();
  return queued;
}

std::optional<MarketOperation> MarketplaceOperations::find(const std::string& id) const {
  if (!id.starts_with("op-") || id.size() > 23 || id.find_first_not_of("0123456789", 3) != std::string::npos || id.size() == 3) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = operations_.find(std::stoull(id.substr(3)));
  if (it == operations_.end()) return std::nullopt;
  return it->second;
}

std::vector<MarketOperation> MarketplaceOperations::recent() const {
  std::lock_guard lock(mu_);
  std::vector<MarketOperation> out;
  for (auto it = operations_.rbegin(); it != operations_.rend(); ++it) out.push_back(it->second);
  return out;
}

void MarketplaceOperations::run() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string id = queue_.front();
    queue_.pop_front();
    lock.unlock();
    execute(id);
    lock.lock();
  }
}

// Applies `change` to operation `id` and tells it; a download's byte
// counts (force = false) are told at most every kDownloadEventInterval.
void MarketplaceOperations::update(const std::string& id, const std::function<void(MarketOperation&)>& change, bool force) {
  MarketOperation now;
  {
    std::lock_guard lock(mu_);
    auto it = operations_.find(std::stoull(id.substr(3)));
    if (it == operations_.end()) return;
    change(it->second);
    const auto at = std::chrono::steady_clock::now();
    if (!force && at - lastDownloadEvent_ < kDownloadEventInterval) return;
    if (!force) lastDownloadEvent_ = at;
    now = it->second;
  }
  if (publish_) publish_(json{{"type", "plugin.operation"}, {"operation", marketOperationJson(now)}}.dump());
}

void MarketplaceOperations::execute(const std::string& id) {
  std::optional<MarketOperation> op = find(id);
  if (!op) return;
  update(id, [](MarketOperation& o) { o.state = MarketOperation::State::kRunning; });
  OperationProgressFn progress = [this, id](const OperationProgress& p) {
    const bool bytes = p.step == OperationStep::kDownload && (p.done != 0 || p.total != 0) && p.done < p.total;
    update(id, [&](MarketOperation& o) { o.progress = p; }, !bytes);
  };
  Result<OperationReport> result = Error::internal("not run");
  if (op->kind == OperationKind::kUninstall) {
    result = host_.operate([&](Installer& i) { return i.uninstall(op->pluginId, op->keepData, progress); });
  } else if (auto source = host_.openPackageSource(); !source) {
    result = source.error();
  } else if (op->kind == OperationKind::kInstall) {
    result = host_.operate([&](Installer& i) { return i.install(op->pluginId, op->range, **source, {}, progress); });
  } else {
    result = host_.operate([&](Installer& i) { return i.upgrade(op->pluginId, op->range, **source, progress); });
  }
  const std::string action = op->kind == OperationKind::kUninstall && op->keepData ? "uninstall (data kept)" : operationName(op->kind);
  host_routes::auditOperation(host_, op->actor, action, op->pluginId, result);
  update(id, [&](MarketOperation& o) {
    o.finishedAt = utcNowMillis();
    if (result) {
      o.state = MarketOperation::State::kDone;
      o.report = *result;
    } else {
      o.state = MarketOperation::State::kFailed;
      o.error = result.error().message;
      o.errorStatus = installErrorStatus(result.error().kind);
    }
  });
}

}  // namespace patchbay
