// PgListener: LISTEN on a connection of its own, connecting again when it drops.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "patchbay/postgres.h"

namespace patchbay {

struct PgListener::State {
  std::string url, channel;
  Callbacks callbacks;
  std::chrono::milliseconds retry;
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;

  bool stopped() {
    std::lock_guard lock(mu);
    return stopping;
  }
  // Sleeps `d` unless stopped first; false when stopped.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !wake.wait_for(lock, d, [this] { return stopping; });
  }

  void run() {
    // The channel is an identifier: quoted, so any name is taken as written.
    std::string quoted = "\"";
    for (char c : channel) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    quoted += "\"";
    while (!stopped()) {
      auto pg = PgConnection::connect(url, 5);
      if (!pg || !pg->exec("LISTEN " + quoted)) {
        if (!pause(retry)) return;
        continue;
      }
      if (callbacks.connected) callbacks.connected();
      while (!stopped()) {
        auto heard = pg->waitForNotifications(std::chrono::milliseconds(200));
        if (!heard) break;  // gone: connect again
        for (const auto& n : *heard) {
          if (callbacks.notified) callbacks.notified(n);
        }
      }
    }
  }
};

PgListener::PgListener(std::string url, std::string channel, Callbacks callbacks, std::chrono::milliseconds retry)
    : state_(std::make_shared<State>()) {
  state_->url = std::move(url);
  state_->channel = std::move(channel);
  state_->callbacks = std::move(callbacks);
  state_->retry = retry;
  state_->thread = std::thread([state = state_] { state->run(); });
}

PgListener::~PgListener() { stop(); }

void PgListener::stop() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace patchbay
