// A WebSocket connection the server upgraded (patchbay/http.h's WebSocket),
// and the set of a server's open ones. Beast inside: included by the two
// translation units that need it only (server.cc, websocket.cc).
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "patchbay/http.h"

namespace patchbay::http {

class WebSocketConnection;

// A server's open WebSockets, so that stopping it closes them.
class WebSocketSet {
 public:
  void add(const std::shared_ptr<WebSocketConnection>& socket);
  void remove(WebSocketConnection* socket);
  // Cuts every connection, then waits (up to `timeout`) until each has ended.
  void closeAll(std::chrono::milliseconds timeout);

 private:
  std::mutex mu_;
  std::condition_variable gone_;
  std::set<WebSocketConnection*> open_;
  std::vector<std::weak_ptr<WebSocketConnection>> handles_;
};

// The connection itself: owned by its operations under way (a read is,
// while it is open), so that it ends on the server's IO threads, while the
// server's io_context lives, whoever holds its handle.
class WebSocketConnection final : public std::enable_shared_from_this<WebSocketConnection> {
 public:
  using Stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

  WebSocketConnection(WebSocketOptions options, WebSocketSet& set) : options_(options), set_(set) {}

  // Takes over the upgraded HTTP connection: the handshake, then reading.
  void start(boost::beast::tcp_stream stream, UpgradeRequest upgrade, WebSocketHandlers handlers);
  bool send(std::string text);
  void close();
  bool isOpen() const;
  // Cuts the connection now (no close frame: a client that does not read would never take it).
  void drop();

 private:
  void read();
  void writeNext();
  void finish();

  const WebSocketOptions options_;
  WebSocketSet& set_;
  std::optional<Stream> ws_;  // from start() on, used on its strand only
  WebSocketHandlers handlers_;
  boost::beast::flat_buffer buffer_;

  mutable std::mutex mu_;  // the queue and the flags below
  std::deque<std::string> queue_;
  bool started_ = false, writing_ = false, open_ = true, closeWanted_ = false, finished_ = false;
};

// What routes and their users hold: the WebSocket interface over a weak
// reference (a handle kept after the connection ended answers "closed").
class WebSocketHandle final : public WebSocket {
 public:
  explicit WebSocketHandle(std::weak_ptr<WebSocketConnection> connection) : connection_(std::move(connection)) {}
  bool send(std::string text) override {
    auto c = connection_.lock();
    return c && c->send(std::move(text));
  }
  void close() override {
    if (auto c = connection_.lock()) c->close();
  }
  bool isOpen() const override {
    auto c = connection_.lock();
    return c && c->isOpen();
  }

 private:
  std::weak_ptr<WebSocketConnection> connection_;
};

}  // namespace patchbay::http
