// The executor thread of one plugin: its task queue, timers and the tickets
// other threads wait on (plugin_impl.h says who does what).
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using json = nlohmann::json;

std::string describeDuration(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s" : std::to_string(d.count()) + " ms";
}

std::string failureText(const Completion& c) {
  json j = parseJsonOrDiscarded<json>(c.json);
  return j.is_string() ? j.get<std::string>() : c.json;
}

void PluginInstance::Impl::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu);
    tasks.push_back(std::move(task));
  }
  wake.notify_one();
}

void PluginInstance::Impl::loop() {
  for (;;) {
    std::function<void()> task;
    int64_t timerId = 0;
    std::chrono::steady_clock::time_point turnStarted;
    {
      std::unique_lock lock(mu);
      for (;;) {
        if (!tasks.empty()) {
          task = std::move(tasks.front());
          tasks.pop_front();
          break;
        }
        if (stopping) return;
        auto now = std::chrono::steady_clock::now();
        turnStarted = now;
        auto next = std::chrono::steady_clock::time_point::max();
        const auto throttledUntil = timerBudgetExhaustedUntil(now);
        for (const auto& [id, t] : timers) {
          if (t.due <= now && now >= throttledUntil) {
            timerId = id;
            break;
          }
          next = std::min(next, std::max(t.due, throttledUntil));
        }
        if (timerId) break;
        if (next == std::chrono::steady_clock::time_point::max()) {
          wake.wait(lock);
        } else {
          wake.wait_until(lock, next);
        }
      }
    }
    if (task) {
      task();
    } else {
      fireTimer(timerId);
      // The whole turn counts against the timers' budget: with thousands
      // of timers, finding the due one costs more than running it.
      timerTimeInWindow += std::chrono::steady_clock::now() - turnStarted;
    }
  }
}

std::chrono::steady_clock::time_point PluginInstance::Impl::timerBudgetExhaustedUntil(
    std::chrono::steady_clock::time_point now) {
  if (now - timerWindowStart >= std::chrono::seconds(1)) {
    timerWindowStart = now;
    timerTimeInWindow = {};
  }
  if (timerTimeInWindow < kTimerBudget) return {};
  if (!throttleReported) {
    throttleReported = true;
    log("warn", "its timers ran for more than " + std::to_string(kTimerBudget.count()) +
                    " ms in one second; they are slowed down to that share");
  }
  return timerWindowStart + std::chrono::seconds(1);
}

void PluginInstance::Impl::fireTimer(int64_t id) {
  const auto started = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu);
    auto it = timers.find(id);
    if (it == timers.end()) return;
    if (it->second.repeat) {
      it->second.due = started + std::max(it->second.interval, kMinInterval);
    } else {
      timers.erase(it);
    }
  }
  runJs([&](v8::Local<v8::Context> ctx) {
    callEntry(ctx, "fireTimer", {v8::Number::New(isolate, static_cast<double>(id))});
  });
}

uint64_t PluginInstance::Impl::newTicket(std::function<void(Completion)> onDone) {
  uint64_t t = nextTicketId.fetch_add(1);
  std::lock_guard lock(ticketMu);
  tickets[t] = std::move(onDone);
  return t;
}

void PluginInstance::Impl::Waiter::set(Completion c) {
  {
    std::lock_guard lock(mu);
    result = std::move(c);
    done = true;
  }
  cv.notify_one();
}

std::optional<Completion> PluginInstance::Impl::Waiter::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu);
  if (!cv.wait_for(lock, timeout, [this] { return done; })) return std::nullopt;
  return std::move(result);
}

std::pair<uint64_t, std::shared_ptr<PluginInstance::Impl::Waiter>> PluginInstance::Impl::newWaitedTicket() {
  auto waiter = std::make_shared<Waiter>();
  uint64_t t = newTicket([waiter](Completion c) { waiter->set(std::move(c)); });
  return {t, std::move(waiter)};
}

void PluginInstance::Impl::complete(uint64_t ticket, Completion c) {
  std::function<void(Completion)> done;
  {
    std::lock_guard lock(ticketMu);
    auto it = tickets.find(ticket);
    if (it == tickets.end()) return;
    done = std::move(it->second);
    tickets.erase(it);
  }
  done(std::move(c));
}

void PluginInstance::Impl::failAllTickets(const std::string& why) {
  std::map<uint64_t, std::function<void(Completion)>> pending;
  {
    std::lock_guard lock(ticketMu);
    pending.swap(tickets);
  }
  for (auto& [t, done] : pending) done({false, json(why).dump(), "", Completion::Ended::kStopped});
}

void PluginInstance::Impl::deliver(uint64_t ticket, Completion c) {
  if (syncAnswer && ticket == syncTicket && !syncAnswer->value) {
    syncAnswer->value = std::move(c);
    return;
  }
  complete(ticket, std::move(c));
}

bool PluginInstance::Impl::expireRequests(std::chrono::steady_clock::time_point now) {
  std::vector<uint64_t> expired;
  bool othersWait = false;
  {
    std::lock_guard lock(deadlineMu);
    while (!requestDeadlines.empty() && requestDeadlines.begin()->first <= now) {
      expired.push_back(requestDeadlines.begin()->second);
      requestDeadlines.erase(requestDeadlines.begin());
    }
    othersWait = !requestDeadlines.empty();
  }
  for (uint64_t ticket : expired) {
    complete(ticket, {false, json("did not answer within " + describeDuration(limits.requestTimeout)).dump(), "",
                      Completion::Ended::kTimedOut});
  }
  return othersWait;
}

void PluginInstance::Impl::forgetDeadline(std::chrono::steady_clock::time_point due, uint64_t ticket) {
  std::lock_guard lock(deadlineMu);
  for (auto [it, end] = requestDeadlines.equal_range(due); it != end; ++it) {
    if (it->second == ticket) {
      requestDeadlines.erase(it);
      return;
    }
  }
}

bool PluginInstance::Impl::callEntry(v8::Local<v8::Context> ctx, const char* name, v8::Local<v8::Value>* args,
                                     size_t count, v8::Local<v8::Value>* returned) {
  auto cached = entryFunctions.find(name);
  v8::Local<v8::Function> fn;
  if (cached != entryFunctions.end()) {
    fn = cached->second.Get(isolate);
  } else {
    v8::Local<v8::Value> value;
    if (!entries.Get(isolate)->Get(ctx, v8str(isolate, name)).ToLocal(&value) || !value->IsFunction()) return false;
    fn = value.As<v8::Function>();
    entryFunctions[name].Reset(isolate, fn);
  }
  v8::Local<v8::Value> result;
  return fn->Call(ctx, v8::Undefined(isolate), static_cast<int>(count), args).ToLocal(returned ? returned : &result);
}

}  // namespace patchbay
