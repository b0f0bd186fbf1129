// The panel's live events: one WebSocket per browser tab at /api/events.
// What it carries (JSON text messages, each with a "type"):
//   {"type":"hello","user":{...},"revision":N}         once, when connected
//   {"type":"server.status","server":{...}}           a status change
//   {"type":"server.usage","serverId":"...","usage":{...}}      } only to tabs that
//   {"type":"server.log","serverId":"...","line":{"at","text"}} } show that server
// A tab says what it shows by sending {"type":"subscribe","path":"/servers/<id>..."}
// (the panel's pages do on every navigation); usage reports and log lines,
// which come every few seconds per running server, go only to the tabs
// showing that server, so a thousand dashboards get status changes only.
//   {"type":"plugins.changed","revision":N,"plugin":"...","change":"..."}
//   {"type":"plugin.operation","operation":{...}}      a marketplace step (administrators only)
//   {"type":"notice","level":"info","text":"..."}
//   {"type":"heartbeat","at":"..."}                   every heartbeat interval
//   {"type":"session.ended"}                          then the server closes
// Server events go to the connections of the server's owner and of
// administrators only. A connection whose queue fills (a tab that stopped
// reading) is dropped; nobody else waits for it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "patchbay/http.h"
#include "patchbay/panel.h"

namespace patchbay::panel {

class LiveEvents {
 public:
  struct Options {
    std::chrono::milliseconds heartbeat{25000};
    size_t maxQueued = 256;
  };
  // `sessionUser` re-reads a connection's session at each heartbeat and on
  // recheckSessions(): a tab whose session ended is told and closed; a
  // changed role applies to what it is sent.
  LiveEvents(Options options, std::function<std::optional<User>(const std::string& token)> sessionUser);
  ~LiveEvents();

  // A new connection of `user` (its session `token`): registered; returns
  // the handlers for it. `onMessage` hears what the tab sends.
  http::WebSocketHandlers connect(const std::shared_ptr<http::WebSocket>& socket, const User& user, std::string token,
                                  std::function<void(const User&, const std::string& text)> onMessage);
  // To the owner's and the administrators' connections.
  void toServerWatchers(const std::string& ownerId, const std::string& message);
  // To those of them whose tab shows server `serverId`.
  void toServerViewers(const std::string& serverId, const std::string& ownerId, const std::string& message);
  // To every connection.
  void toEveryone(const std::string& message);
  // To administrators' connections only.
  void toAdministrators(const std::string& message);
  // plugins.changed with the next revision.
  void pluginsChanged(const std::string& pluginId, const std::string& change);
  // Re-reads every connection's session now (after a logout, a password
  // change, a changed role, a deleted user).
  void recheckSessions();
  // Shares server events, notices and session re-checks with the panel's
  // other processes (PanelOptions::relay): what they send is delivered
  // here, what is sent here goes to them. (Plugin changes and marketplace
  // steps stay with the process whose plugins they are.)
  void relayThrough(std::shared_ptr<EventRelay> through);
  // Tells the other processes that the panel's records (servers, nodes)
  // changed here; `onRecordsChanged` runs (on the relay's thread) when
  // another process tells this one. Set before relayThrough.
  void recordsChanged();
  void onRecordsChanged(std::function<void()> fn) { recordsChangedElsewhere_ = std::move(fn); }
  // Runs (on the relay's thread) for each message about one server that
  // another process sent to that server's viewers (server.usage,
  // server.log): the server and the message's text. Set before relayThrough.
  void onServerMessageFromElsewhere(std::function<void(const std::string& serverId, const std::string& message)> fn) {
    serverMessageFromElsewhere_ = std::move(fn);
  }
  uint64_t revision() const { return revision_; }
  size_t connections() const;

 private:
  struct Client {
    std::shared_ptr<http::WebSocket> socket;
    std::string userId;
    bool admin = false;
    std::string token;
    std::string viewing;  // the server id the tab shows ("" for none)
  };
  // A tab's {"type":"subscribe","path":...}: what it shows now.
  void subscribed(const http::WebSocket* key, const std::string& text);
  // To this process's connections only.
  void watchersHere(const std::string& ownerId, const std::string& message);
  void viewersHere(const std::string& serverId, const std::string& ownerId, const std::string& message);
  void everyoneHere(const std::string& message);
  void recheckHere();
  // An envelope from another process.
  void delivered(const std::string& envelope);
  // To the other processes (relay_ set: the callers check, and build no
  // envelope when there is none).
  void relay(const nlohmann::ordered_json& envelope);
  // Drops the recipient lists below (a connection came or went, a role or
  // a tab's page changed); mu_ held.
  void forgetRecipients();
  void beat();

  Options options_;
  std::function<std::optional<User>(const std::string&)> sessionUser_;
  std::atomic<uint64_t> revision_{1};
  mutable std::mutex mu_;
  std::map<const http::WebSocket*, Client> clients_;
  // Who gets a server's status, by its owner: the owner's and the
  // administrators' connections, worked out from clients_ once and kept
  // until a connection comes, goes or changes role (a status change then
  // walks no list of every connection).
  using Sockets = http::WebSocketList;
  std::unordered_map<std::string, std::shared_ptr<const Sockets>> watchersOf_;
  // Who gets a server's usage reports and log lines, by (server, owner):
  // the tabs showing it, of its owner and of administrators; kept likewise,
  // and also dropped when a tab's page changes.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const Sockets>> viewersOf_;
  std::condition_variable wake_;
  bool stopping_ = false, recheck_ = false;
  std::thread heartbeat_;
  std::shared_ptr<EventRelay> relay_;
  std::function<void()> recordsChangedElsewhere_;
  std::function<void(const std::string&, const std::string&)> serverMessageFromElsewhere_;
};

}  // namespace patchbay::panel
