// The panel's live events (live_events.h).
#include "panel/live_events.h"
#include "panel/panel_impl.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "patchbay/clock.h"

namespace patchbay::panel {


LiveEvents::LiveEvents(Options options, std::function<std::optional<User>(const std::string&)> sessionUser)
    : options_(options), sessionUser_(std::move(sessionUser)) {
  heartbeat_ = std::thread([this] { beat(); });
}

LiveEvents::~LiveEvents() {
  if (relay_) relay_->stop();  // nothing is delivered into this any more
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  heartbeat_.join();
}

http::WebSocketHandlers LiveEvents::connect(const std::shared_ptr<http::WebSocket>& socket, const User& user, std::string token,
                                            std::function<void(const User&, const std::string&)> onMessage) {
  {
    // Hello first, and in the same step as joining: whatever is sent to the
    // connection after it joined (a heartbeat, a change) comes after hello.
    std::lock_guard lock(mu_);
    socket->send(json{{"type", "hello"}, {"user", userObject(user)}, {"revision", revision_.load()}}.dump());
    clients_[socket.get()] = Client{socket, user.id, user.isAdmin(), std::move(token)};
    forgetRecipients();
  }
  const http::WebSocket* key = socket.get();
  return {[this, key, user, onMessage = std::move(onMessage)](const std::string& text) {
            subscribed(key, text);
            onMessage(user, text);
          },
          [this, key] {
            std::lock_guard lock(mu_);
            clients_.erase(key);
            forgetRecipients();
          }};
}

void LiveEvents::forgetRecipients() {
  watchersOf_.clear();
  viewersOf_.clear();
}

void LiveEvents::toServerWatchers(const std::string& ownerId, const std::string& message) {
  watchersHere(ownerId, message);
  if (relay_) relay({{"to", "watchers"}, {"owner", ownerId}, {"message", message}});
}

void LiveEvents::watchersHere(const std::string& ownerId, const std::string& message) {
  std::shared_ptr<const Sockets> to;
  {
    std::lock_guard lock(mu_);
    auto& known = watchersOf_[ownerId];
    if (!known) {
      auto made = std::make_shared<Sockets>();
      for (const auto& [key, c] : clients_) {
        if (c.admin || c.userId == ownerId) made->push_back(c.socket);
      }
      known = std::move(made);
    }
    to = known;
  }
  http::sendToEach(std::move(to), std::make_shared<const std::string>(message));
}

void LiveEvents::toServerViewers(const std::string& serverId, const std::string& ownerId, const std::string& message) {
  viewersHere(serverId, ownerId, message);
  if (relay_) relay({{"to", "viewers"}, {"server", serverId}, {"owner", ownerId}, {"message", message}});
}

void LiveEvents::viewersHere(const std::string& serverId, const std::string& ownerId, const std::string& message) {
  std::shared_ptr<const Sockets> to;
  {
    std::lock_guard lock(mu_);
    auto& known = viewersOf_[{serverId, ownerId}];
    if (!known) {
      auto made = std::make_shared<Sockets>();
      for (const auto& [key, c] : clients_) {
        if (c.viewing == serverId && (c.admin || c.userId == ownerId)) made->push_back(c.socket);
      }
      known = std::move(made);
    }
    to = known;
  }
  http::sendToEach(std::move(to), std::make_shared<const std::string>(message));
}

void LiveEvents::subscribed(const http::WebSocket* key, const std::string& text) {
  const json message = parseJsonOrDiscarded<json>(text);
  if (!message.is_object() || message.value("type", "") != "subscribe" || !message.contains("path") || !message["path"].is_string()) return;
  // "/servers/<id>" or "/servers/<id>/<tab>": that server; any other page: none.
  std::string viewing;
  const std::string path = message["path"];
  constexpr std::string_view kPrefix = "/servers/";
  if (path.starts_with(kPrefix)) {
    viewing = path.substr(kPrefix.size(), path.find('/', kPrefix.size()) - kPrefix.size());
    if (viewing == "new") viewing.clear();
  }
  std::lock_guard lock(mu_);
  auto it = clients_.find(key);
  if (it == clients_.end() || it->second.viewing == viewing) return;
  it->second.viewing = viewing;
  viewersOf_.clear();
}

void LiveEvents::toEveryone(const std::string& message) {
  everyoneHere(message);
  if (relay_) relay({{"to", "everyone"}, {"message", message}});
}

void LiveEvents::everyoneHere(const std::string& message) {
  auto to = std::make_shared<Sockets>();
  {
    std::lock_guard lock(mu_);
    to->reserve(clients_.size());
    for (const auto& [key, c] : clients_) to->push_back(c.socket);
  }
  http::sendToEach(std::move(to), std::make_shared<const std::string>(message));
}

void LiveEvents::toAdministrators(const std::string& message) {
  auto to = std::make_shared<Sockets>();
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, c] : clients_) {
      if (c.admin) to->push_back(c.socket);
    }
  }
  http::sendToEach(std::move(to), std::make_shared<const std::string>(message));
}

void LiveEvents::pluginsChanged(const std::string& pluginId, const std::string& change) {
  const uint64_t revision = ++revision_;
  everyoneHere(json{{"type", "plugins.changed"}, {"revision", revision}, {"plugin", pluginId}, {"change", change}}.dump());
}

size_t LiveEvents::connections() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

void LiveEvents::recheckSessions() {
  recheckHere();
  if (relay_) relay({{"to", "recheck"}});
}

void LiveEvents::recheckHere() {
  {
    std::lock_guard lock(mu_);
    recheck_ = true;
  }
  wake_.notify_all();
}

void LiveEvents::relayThrough(std::shared_ptr<EventRelay> through) {
  relay_ = std::move(through);
  relay_->start([this](const std::string& envelope) { delivered(envelope); });
}

void LiveEvents::recordsChanged() {
  if (relay_) relay({{"to", "records"}});
}

void LiveEvents::relay(const json& envelope) { relay_->publish(envelope.dump()); }

void LiveEvents::delivered(const std::string& envelope) {
  const json e = parseJsonOrDiscarded<json>(envelope);
  if (!e.is_object() || !e.contains("to") || !e["to"].is_string()) return;
  const std::string to = e["to"];
  const auto text = [&](const char* key) { return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : std::string(); };
  if (to == "watchers") watchersHere(text("owner"), text("message"));
  else if (to == "viewers") {
    viewersHere(text("server"), text("owner"), text("message"));
    if (serverMessageFromElsewhere_) serverMessageFromElsewhere_(text("server"), text("message"));
  }
  else if (to == "everyone") everyoneHere(text("message"));
  else if (to == "recheck") recheckHere();
  else if (to == "records" && recordsChangedElsewhere_) recordsChangedElsewhere_();
}

void LiveEvents::beat() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const bool rechecking = wake_.wait_for(lock, options_.heartbeat, [this] { return stopping_ || recheck_; });
    if (stopping_) return;
    recheck_ = false;
    std::vector<Client> all;
    for (const auto& [key, c] : clients_) all.push_back(c);
    lock.unlock();
    const auto heartbeat = std::make_shared<const std::string>(json{{"type", "heartbeat"}, {"at", utcNow()}}.dump());
    std::vector<std::pair<const http::WebSocket*, User>> current;
    auto beating = std::make_shared<Sockets>();
    for (const auto& c : all) {
      std::optional<User> user = sessionUser_ ? sessionUser_(c.token) : std::nullopt;
      if (!user || user->id != c.userId) {
        c.socket->send(R"({"type":"session.ended"})");
        c.socket->close();
        continue;
      }
      current.emplace_back(c.socket.get(), *user);
      if (!rechecking) beating->push_back(c.socket);
    }
    http::sendToEach(std::move(beating), heartbeat);
    lock.lock();
    for (const auto& [key, user] : current) {
      auto it = clients_.find(key);
      if (it == clients_.end() || it->second.admin == user.isAdmin()) continue;
      it->second.admin = user.isAdmin();
      forgetRecipients();
    }
  }
}

}  // namespace patchbay::panel
