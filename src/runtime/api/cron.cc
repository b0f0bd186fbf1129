// sodium.cron: jobs on cron schedules, started by the runtime's scheduler, one
// run at a time each.
#include <nlohmann/json.hpp>

#include "patchbay/clock.h"
#include "patchbay/cron_claims.h"
#include "patchbay/json.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using json = nlohmann::json;
using Impl = PluginInstance::Impl;

namespace {

void nativeRegisterCron(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  std::string id = s->arg(info, 0);
  auto schedule = CronSchedule::parse(s->arg(info, 1));
  if (!schedule) return s->throwError("cron.register(\"" + id + "\"): " + schedule.error().message);
  std::lock_guard lock(s->cronMu);
  Impl::CronJob& job = s->cron[id];
  job.schedule = std::move(*schedule);
  job.state.pluginId = s->manifest.id;
  job.state.id = id;
  job.state.schedule = job.schedule.text();
}

}  // namespace

void api::addCron(Natives& natives) { natives.add<nativeRegisterCron>("registerCron"); }

std::vector<CronJobState> PluginInstance::cronJobs() const {
  std::vector<CronJobState> out;
  std::lock_guard lock(impl_->cronMu);
  for (const auto& [id, job] : impl_->cron) out.push_back(job.state);
  return out;
}

void PluginInstance::runDueCron(std::chrono::system_clock::time_point minute, const CronCluster* cluster) {
  Impl* m = impl_.get();
  if (failed()) return;
  std::vector<std::string> due;
  {
    std::lock_guard lock(m->cronMu);
    for (auto& [id, job] : m->cron) {
      if (job.schedule.matches(minute)) due.push_back(id);
    }
  }
  for (const auto& id : due) startCron(id, minute, cluster);
}

void PluginInstance::runCronSlot(const std::string& job, std::chrono::system_clock::time_point minute, const CronCluster& cluster) {
  if (failed()) return;
  {
    std::lock_guard lock(impl_->cronMu);
    if (!impl_->cron.count(job)) return;  // not a job of this plugin here (another version elsewhere)
  }
  startCron(job, minute, &cluster);
}

namespace {

// A run's claim, shared by the task that starts it and the ticket that ends it.
struct ClaimedRun {
  std::shared_ptr<CronClaims> claims;
  CronSlot slot;
  int64_t fence = 0;
  bool notStarted = false;  // the claim was gone when the run was to start
};

}  // namespace

void PluginInstance::startCron(const std::string& id, std::chrono::system_clock::time_point minute, const CronCluster* cluster) {
  Impl* m = impl_.get();
  // One run of a job at a time in this process. Checked before claiming:
  // a slot this process cannot start is left to another.
  auto stillRunning = [&] {
    auto it = m->cron.find(id);
    if (it == m->cron.end()) return true;
    if (!it->second.state.running) return false;
    ++it->second.state.skipped;
    m->log("warn", "cron job \"" + id + "\" is still running; this run is skipped");
    return true;
  };
  {
    std::lock_guard lock(m->cronMu);
    if (stillRunning()) return;
  }
  std::shared_ptr<ClaimedRun> claimed;
  if (cluster) {
    claimed = std::make_shared<ClaimedRun>(ClaimedRun{cluster->claims, {cluster->tenant, manifest_.id, id, minute}});
    auto fence = cluster->claims->claim(claimed->slot);
    if (!fence) {
      m->log("error", "cron job \"" + id + "\" not run: its slot could not be claimed: " + fence.error().message);
      return;
    }
    if (!*fence) {  // another process has it
      std::lock_guard lock(m->cronMu);
      if (auto it = m->cron.find(id); it != m->cron.end()) ++it->second.state.claimedElsewhere;
      return;
    }
    claimed->fence = **fence;
  }
  bool startsHere = false;
  {
    std::lock_guard lock(m->cronMu);
    if (!stillRunning()) {
      auto& job = m->cron[id];
      job.state.running = true;
      job.startedAt = std::chrono::steady_clock::now();
      job.state.lastRun = utcNow();
      startsHere = true;
    }
  }
  if (!startsHere) {
    if (claimed) (void)claimed->claims->release(claimed->slot, claimed->fence);  // another process runs the slot
    return;
  }
  uint64_t ticket = m->newTicket([m, id, claimed](Completion c) {
    json why = parseJsonOrDiscarded<json>(c.json);
    const std::string error = c.ok ? "" : (why.is_string() ? why.get<std::string>() : c.json);
    bool counts = !claimed || !claimed->notStarted;
    if (claimed && counts) {
      auto recorded = claimed->claims->complete(claimed->slot, claimed->fence, error);
      counts = recorded && *recorded;
    }
    std::lock_guard lock(m->cronMu);
    auto it = m->cron.find(id);
    if (it == m->cron.end()) return;
    CronJobState& st = it->second.state;
    st.running = false;
    if (!counts) {
      ++st.takenOver;
      m->log("warn", "cron job \"" + id + "\": its slot was taken over by another process (this one's lease ran out); " +
                         (claimed->notStarted ? "not run here" : "this run does not count"));
      return;
    }
    st.lastDurationMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - it->second.startedAt).count();
    st.lastError = error;
    ++st.runs;
  });
  const double minuteMs = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(minute.time_since_epoch()).count());
  m->post([m, ticket, id, claimed, minuteMs] {
    if (claimed) {
      // A process paused between its claim and now has lost the slot to another.
      auto held = claimed->claims->holds(claimed->slot, claimed->fence);
      if (!held || !*held) {
        claimed->notStarted = true;
        m->complete(ticket, Completion{});
        return;
      }
    }
    m->runJs(
        [&](v8::Local<v8::Context> ctx) {
          m->callEntry(ctx, "runCron",
                      {v8::Number::New(m->isolate, static_cast<double>(ticket)), v8str(m->isolate, id), v8::Number::New(m->isolate, minuteMs)});
        },
        ticket);
  });
}

}  // namespace patchbay
