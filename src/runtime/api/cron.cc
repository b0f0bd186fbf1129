// sodium.cron: jobs on cron schedules, started by the runtime's scheduler, one
// run at a time each.
#include <nlohmann/json.hpp>

#include "patchbay/clock.h"
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

void PluginInstance::runDueCron(std::chrono::system_clock::time_point minute) {
  Impl* m = impl_.get();
  if (failed()) return;
  std::vector<std::string> due;
  {
    std::lock_guard lock(m->cronMu);
    for (auto& [id, job] : m->cron) {
      if (!job.schedule.matches(minute)) continue;
      if (job.state.running) {
        ++job.state.skipped;
        m->log("warn", "cron job \"" + id + "\" is still running; this run is skipped");
        continue;
      }
      job.state.running = true;
      job.startedAt = std::chrono::steady_clock::now();
      job.state.lastRun = utcNow();
      due.push_back(id);
    }
  }
  for (const auto& id : due) {
    uint64_t ticket = m->newTicket([m, id](Completion c) {
      std::lock_guard lock(m->cronMu);
      auto it = m->cron.find(id);
      if (it == m->cron.end()) return;
      CronJobState& st = it->second.state;
      st.running = false;
      st.lastDurationMs =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - it->second.startedAt)
              .count();
      json why = parseJsonOrDiscarded<json>(c.json);
      st.lastError = c.ok ? "" : (why.is_string() ? why.get<std::string>() : c.json);
      ++st.runs;
    });
    m->post([m, ticket, id] {
      m->runJs(
          [&](v8::Local<v8::Context> ctx) {
            m->callEntry(ctx, "runCron",
                         {v8::Number::New(m->isolate, static_cast<double>(ticket)), v8str(m->isolate, id)});
          },
          ticket);
    });
  }
}

}  // namespace patchbay
