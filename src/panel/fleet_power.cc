// The simulated daemon: power actions, the state machine's timed steps,
// usage reports and each server's log (patchbay/panel_fleet.h).
#include <algorithm>

#include "panel/fleet_impl.h"
#include "patchbay/clock.h"

namespace patchbay::panel {

Result<Server> Fleet::power(const std::string& id, PowerAction action) {
  Impl::DeliverAfter delivery{*impl_};
  std::lock_guard lock(impl_->mu);
  Server* s = impl_->server(id);
  if (!s) return Error::notFound("Server not found");
  Impl::Live& life = impl_->live[id];
  life.runsHere = true;  // the process that acts runs it (see reload())
  const auto now = Impl::Clock::now();
  switch (action) {
    case PowerAction::kStart:
      if (s->status == ServerStatus::kStarting || s->status == ServerStatus::kRunning) return Error::conflict("Server is already running");
      if (s->status == ServerStatus::kStopping) return Error::conflict("Server is stopping; start it once it is offline");
      impl_->setStatus(*s, ServerStatus::kStarting, action);
      impl_->logLocked(id, "Starting the server");
      life.transitionAt = now + impl_->options.startDelay;
      break;
    case PowerAction::kStop:
      if (s->status == ServerStatus::kOffline) return Error::conflict("Server is already offline");
      if (s->status == ServerStatus::kStopping) return Error::conflict("Server is already stopping");
      impl_->setStatus(*s, ServerStatus::kStopping, action);
      impl_->logLocked(id, "Stopping the server");
      life.transitionAt = now + impl_->options.stopDelay;
      life.restartAfterStop = false;
      break;
    case PowerAction::kRestart:
      if (s->status == ServerStatus::kStopping) return Error::conflict("Server is stopping; start it once it is offline");
      if (s->status == ServerStatus::kOffline) {
        impl_->setStatus(*s, ServerStatus::kStarting, action);
        life.transitionAt = now + impl_->options.startDelay;
      } else {
        impl_->setStatus(*s, ServerStatus::kStopping, action);
        life.transitionAt = now + impl_->options.stopDelay;
        life.restartAfterStop = true;
      }
      impl_->logLocked(id, "Restarting the server");
      break;
    case PowerAction::kKill:
      if (s->status == ServerStatus::kOffline) return Error::conflict("Server is already offline");
      life.transitionAt.reset();
      life.restartAfterStop = false;
      impl_->setStatus(*s, ServerStatus::kOffline, action);
      impl_->logLocked(id, "Server killed");
      break;
  }
  delivery.wakeSimulation = life.transitionAt && impl_->dueBeforeSimulationWakes(*life.transitionAt);
  return *s;
}

void Fleet::Impl::logLocked(const std::string& serverId, std::string text) {
  Live& life = live[serverId];
  LogLine line{utcNow(), std::move(text)};
  life.log.push_back(line);
  while (life.log.size() > std::max<size_t>(options.logLines, 1)) life.log.pop_front();
  FleetEvent e;
  e.kind = FleetEvent::Kind::kLog;
  if (const Server* s = server(serverId)) e.server = *s;
  e.line = std::move(line);
  pending.push_back(std::move(e));
}

void Fleet::Impl::setStatus(Server& s, ServerStatus status, std::optional<PowerAction> cause) {
  s.status = status;
  Live& life = live[s.id];
  if (cause) life.cause = cause;
  if (status == ServerStatus::kRunning) {
    life.runningSince = Clock::now();
    life.nextReport = life.runningSince;  // the first report at once
  }
  if (status != ServerStatus::kRunning) life.reported = false;
  // Every status is kept (other processes read it); a restart finds a
  // transition finished (open()).
  if (auto q = db->query("UPDATE panel_servers SET status = $1 WHERE id = $2", {statusName(status), s.id}); !q) {
    logLocked(s.id, "Could not record the status: " + q.error().message);
  }
  FleetEvent e;
  e.kind = FleetEvent::Kind::kStatus;
  e.server = s;
  e.action = life.cause;
  pending.push_back(std::move(e));
}

void Fleet::Impl::deliver() {
  std::lock_guard order(deliverMu);
  for (;;) {
    std::deque<FleetEvent> batch;
    {
      std::lock_guard lock(mu);
      batch.swap(pending);
    }
    if (batch.empty()) return;
    if (!listener) continue;
    for (const auto& e : batch) listener(e);
  }
}

void Fleet::Impl::startSimulation() {
  const auto now = Clock::now();
  for (auto& s : servers) {
    if (s.status != ServerStatus::kRunning) continue;
    Live& life = live[s.id];
    life.runningSince = now;
    life.nextReport = now;
    life.runsHere = true;
  }
  simulation = std::thread([this] { simulate(); });
}

void Fleet::Impl::stopSimulation() {
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  wake.notify_all();
  if (simulation.joinable()) simulation.join();
}

void Fleet::Impl::simulate() {
  std::unique_lock lock(mu);
  while (!stopping) {
    const auto next = stepLocked(Clock::now());
    if (!pending.empty()) {
      lock.unlock();
      deliver();
      lock.lock();
      continue;
    }
    sleepsUntil = next;
    wake.wait_until(lock, next);
    sleepsUntil.reset();
  }
}

Fleet::Impl::Clock::time_point Fleet::Impl::stepLocked(Clock::time_point now) {
  Clock::time_point next = now + std::chrono::seconds(60);
  if (options.reloadEvery.count() > 0) {
    if (nextReload <= now) {
      (void)reloadLocked();  // the database away: the records as last read, until the next time
      nextReload = now + options.reloadEvery;
    }
    next = std::min(next, nextReload);
  }
  for (auto& s : servers) {
    auto it = live.find(s.id);
    if (it == live.end()) continue;
    Live& life = it->second;
    if (life.transitionAt && *life.transitionAt <= now) {
      life.transitionAt.reset();
      if (s.status == ServerStatus::kStarting) {
        setStatus(s, ServerStatus::kRunning, std::nullopt);
        logLocked(s.id, "Server is running");
      } else if (s.status == ServerStatus::kStopping) {
        setStatus(s, ServerStatus::kOffline, std::nullopt);
        logLocked(s.id, "Server is offline");
        if (life.restartAfterStop) {
          life.restartAfterStop = false;
          setStatus(s, ServerStatus::kStarting, std::nullopt);
          logLocked(s.id, "Starting the server");
          life.transitionAt = now + options.startDelay;
        }
      }
    }
    if (life.transitionAt) next = std::min(next, *life.transitionAt);
    if (s.status == ServerStatus::kRunning && life.runsHere) {
      if (life.nextReport <= now) reportUsageLocked(s, life, now);
      next = std::min(next, life.nextReport);
    }
  }
  return next;
}

void Fleet::Impl::reportUsageLocked(Server& s, Live& life, Clock::time_point now) {
  if (!life.reported) life.random.seed(static_cast<uint32_t>(std::hash<std::string>{}(s.id)));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  constexpr int64_t kMiB = 1 << 20;
  Usage u;
  u.cpu = static_cast<double>(s.limits.cpu) * (0.05 + 0.45 * unit(life.random));
  u.cpu = static_cast<double>(static_cast<int64_t>(u.cpu * 10)) / 10;
  u.memoryLimitBytes = s.limits.memory * kMiB;
  u.memoryBytes = static_cast<int64_t>(static_cast<double>(u.memoryLimitBytes) * (0.3 + 0.35 * unit(life.random)));
  u.diskLimitBytes = s.limits.disk * kMiB;
  // Disk grows slowly while the server runs, and stays below its limit.
  const int64_t before = life.reported ? life.usage.diskBytes : u.diskLimitBytes / 8;
  u.diskBytes = std::min(before + static_cast<int64_t>(unit(life.random) * kMiB), u.diskLimitBytes * 9 / 10);
  u.uptimeSeconds = std::chrono::duration_cast<std::chrono::seconds>(now - life.runningSince).count();
  life.usage = u;
  life.reported = true;
  life.nextReport = now + std::max(options.usageInterval, std::chrono::milliseconds(10));
  FleetEvent e;
  e.kind = FleetEvent::Kind::kUsage;
  e.server = s;
  e.usage = u;
  pending.push_back(std::move(e));
}

}  // namespace patchbay::panel
