// One active plugin, as the runtime sees it: started, asked, watched and
// stopped. plugin_impl.h says which file does the rest.
#include "runtime/plugin_instance.h"

#include <pthread.h>

#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "runtime/plugin_impl.h"
#include "runtime/v8_engine.h"

namespace patchbay {

namespace fs = std::filesystem;
using json = nlohmann::json;

PluginInstance::PluginInstance(const Manifest& manifest, std::unique_ptr<Impl> impl)
    : manifest_(manifest), impl_(std::move(impl)) {
  impl_->owner = this;
}

PluginInstance::~PluginInstance() { stop(); }

Result<std::shared_ptr<PluginInstance>> PluginInstance::start(const Manifest& manifest, const std::string& dir,
                                                              const PluginDataPlace& data, const RuntimeLimits& limits,
                                                              InstanceHost host) {
  ensureV8();
  auto impl = std::make_unique<Impl>();
  impl->manifest = manifest;
  std::error_code ec;
  impl->realDir = fs::canonical(dir, ec).string();
  if (ec) return Error::notFound(dir + ": " + ec.message());
  impl->dataPlace = data;
  fs::create_directories(data.folder, ec);
  if (ec) return Error::io(data.folder + ": cannot create the plugin's data folder: " + ec.message());
  impl->limits = limits;
  impl->host = std::move(host);
  std::shared_ptr<PluginInstance> instance(new PluginInstance(manifest, std::move(impl)));
  Impl* m = instance->impl_.get();
  m->thread = std::thread([m] {
    pthread_setname_np(pthread_self(),
                       ("pb:" + m->manifest.id).substr(0, 15).c_str());  // the plugin's executor, in top -H
    m->loop();
    m->exited = true;
  });

  auto issued = m->newWaitedTicket();  // (not a structured binding: clang 14 cannot capture those)
  const uint64_t ticket = issued.first;
  std::shared_ptr<Impl::Waiter> activated = issued.second;
  std::promise<Status> initialized;
  auto initDone = initialized.get_future();
  m->post([m, ticket, &initialized] {
    Status s = m->initialize(ticket);
    initialized.set_value(s);
  });
  Status s = initDone.get();
  std::optional<Completion> answer;
  if (s && !(answer = activated->wait(kWallTimeout))) {
    s = Error::limit("the default export did not finish within " + describeDuration(kWallTimeout));
  }
  if (s) {
    Completion c = std::move(*answer);
    if (!c.ok) {
      json why = parseJsonOrDiscarded<json>(c.json);
      s = Error::invalid("the default export threw: " + (why.is_string() ? why.get<std::string>() : c.json));
    }
  }
  if (s && instance->failed()) s = Error::limit(instance->failure());
  if (!s) {
    instance->stop();
    return Error{s.error().kind, manifest.id + ": " + s.error().message};
  }
  return instance;
}

void PluginInstance::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  Impl* m = impl_.get();
  m->post([m] { m->disposeIsolate(); });
  {
    std::lock_guard lock(m->mu);
    m->stopping = true;
  }
  m->wake.notify_one();
  // What still runs is cut short: a stopped instance is no longer the
  // watchdog's, and a task that loops (or a query that does) must not hold
  // the stop. Queued requests were answered already and are skipped.
  while (!m->exited.load()) {
    {
      std::shared_lock life(m->lifeMu, std::try_to_lock);
      if (life.owns_lock() && m->isolate && m->taskStartedNs.load() != 0 && !m->deadlineHit.exchange(true)) {
        m->isolate->TerminateExecution();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  m->thread.join();
  std::vector<Impl::Fetcher> fetchers;
  {
    std::lock_guard lock(m->fetchMu);
    fetchers.swap(m->fetchers);
  }
  for (auto& f : fetchers) f.thread.join();  // each ends within the fetch timeout
  m->failAllTickets("plugin \"" + manifest_.id + "\" was stopped");
}

void PluginInstance::cancelRequests(const std::string& why) {
  std::vector<uint64_t> pending;
  {
    std::lock_guard lock(impl_->deadlineMu);
    for (const auto& [due, ticket] : impl_->requestDeadlines) pending.push_back(ticket);
  }
  for (uint64_t ticket : pending) impl_->complete(ticket, {false, json(why).dump(), "", Completion::Ended::kStopped});
}

std::string PluginInstance::failure() const {
  std::lock_guard lock(impl_->stateMu);
  return impl_->failure;
}

bool PluginInstance::checkDeadline(std::chrono::steady_clock::time_point now) {
  const bool requestsWait = impl_->expireRequests(now);
  int64_t started = impl_->taskStartedNs.load();
  if (started == 0) return requestsWait;
  auto elapsed = now.time_since_epoch() - std::chrono::steady_clock::duration(started);
  if (elapsed <= impl_->limits.callTimeout) return true;
  std::shared_lock life(impl_->lifeMu, std::try_to_lock);  // not while it is being disposed
  if (!life.owns_lock() || !impl_->isolate) return true;
  if (!impl_->deadlineHit.exchange(true)) impl_->isolate->TerminateExecution();  // thread-safe in V8
  return true;
}

}  // namespace patchbay
