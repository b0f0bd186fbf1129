// Live events across panel processes over PostgreSQL's LISTEN/NOTIFY
// (patchbay/panel.h: EventRelay). Two connections: one LISTENs (PgListener),
// one sends from a queue on a thread of its own, so that nobody publishing
// waits for the database. Each process tags what it sends with an origin
// of its own and ignores its own envelopes coming back.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "patchbay/integrity.h"
#include "patchbay/panel.h"
#include "patchbay/postgres.h"

namespace patchbay::panel {

namespace {

constexpr const char* kChannel = "patchbay_live";
constexpr size_t kMaxPayload = 7900;  // NOTIFY's limit is 8000 bytes
constexpr size_t kMaxQueued = 4096;
constexpr auto kRetry = std::chrono::milliseconds(500);

class PostgresEventRelay final : public EventRelay {
 public:
  explicit PostgresEventRelay(std::string url) : url_(std::move(url)), origin_(randomHex(8)) {}
  ~PostgresEventRelay() override { stop(); }

  void start(std::function<void(const std::string&)> deliver) override {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    deliver_ = std::move(deliver);
    listener_.emplace(url_, kChannel, PgListener::Callbacks{.connected = {}, .notified = [this](const PgNotification& n) {
                                                    const size_t nl = n.payload.find('\n');
                                                    if (nl == std::string::npos || n.payload.compare(0, nl, origin_) == 0) return;
                                                    deliver_(n.payload.substr(nl + 1));
                                                  }});
    sender_ = std::thread([this] { send(); });
  }

  void publish(const std::string& envelope) override {
    if (envelope.size() + origin_.size() + 1 > kMaxPayload) return;  // too big for NOTIFY: this process's browsers only
    {
      std::lock_guard lock(mu_);
      if (stopping_ || !started_) return;
      if (queue_.size() >= kMaxQueued) queue_.pop_front();
      queue_.push_back(origin_ + "\n" + envelope);
    }
    wake_.notify_all();
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (listener_) listener_->stop();
    if (sender_.joinable()) sender_.join();
  }

 private:
  // Sleeps `d` unless stopped first; false when stopped.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !wake_.wait_for(lock, d, [this] { return stopping_; });
  }

  void send() {
    std::optional<PgConnection> pg;
    while (true) {
      std::string payload;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        payload = queue_.front();
      }
      if (!pg) {
        auto connected = PgConnection::connect(url_, 5);
        if (!connected) {
          if (!pause(kRetry)) return;
          continue;
        }
        pg.emplace(std::move(*connected));
      }
      if (!pg->query("SELECT pg_notify($1, $2)", {kChannel, payload})) {
        pg.reset();  // sent again on a new connection
        if (!pause(kRetry)) return;
        continue;
      }
      std::lock_guard lock(mu_);
      if (!queue_.empty() && queue_.front() == payload) queue_.pop_front();
    }
  }

  const std::string url_;
  const std::string origin_;
  std::function<void(const std::string&)> deliver_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool started_ = false, stopping_ = false;
  std::optional<PgListener> listener_;
  std::thread sender_;
};

}  // namespace

std::shared_ptr<EventRelay> postgresEventRelay(const std::string& url) { return std::make_shared<PostgresEventRelay>(url); }

}  // namespace patchbay::panel
