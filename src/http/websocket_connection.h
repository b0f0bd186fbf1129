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
#include <shared_mutex>
#include <string>

#include "patchbay/http.h"

namespace patchbay::http {

class WebSocketConnection;

// Whether handles may still reach their connections: closed once the
// server stopped, so that no thread outside it ever holds a connection
// (whose end must come while the server's io_context lives).
struct WebSocketGate {
  std::shared_mutex mu;
  bool open = true;
  boost::asio::any_io_executor thread;  // the server's WebSocket thread; set at its start
};

// A server's open WebSockets, so that stopping it closes them.
class WebSocketSet {
 public:
  WebSocketSet() : gate_(std::make_shared<WebSocketGate>()) {}
  const std::shared_ptr<WebSocketGate>& gate() const { return gate_; }
  void add(const std::shared_ptr<WebSocketConnection>& socket);
  void remove(WebSocketConnection* socket);
  // Cuts every connection, waits (up to `timeout`) until each has ended,
  // then closes the gate.
  void closeAll(std::chrono::milliseconds timeout);

 private:
  std::shared_ptr<WebSocketGate> gate_;
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
  bool send(std::shared_ptr<const std::string> text);
  // send, called on the connection's own thread (sendToEach's hand-over).
  void sendHere(const std::shared_ptr<const std::string>& text);
  void close();
  bool isOpen() const;
  // Cuts the connection now (no close frame: a client that does not read would never take it).
  void drop();

 private:
  bool enqueue(const std::shared_ptr<const std::string>& text, bool& accepted);
  void read();
  void writeNext();
  void finish();

  const WebSocketOptions options_;
  WebSocketSet& set_;
  std::optional<Stream> ws_;  // from start() on, used on its strand only
  WebSocketHandlers handlers_;
  boost::beast::flat_buffer buffer_;

  mutable std::mutex mu_;  // the queue and the flags below
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool started_ = false, writing_ = false, open_ = true, closeWanted_ = false, finished_ = false;
};

// What routes and their users hold: the WebSocket interface over a weak
// reference (a handle kept after the connection ended answers "closed").
class WebSocketHandle final : public WebSocket {
 public:
  WebSocketHandle(std::weak_ptr<WebSocketConnection> connection, std::shared_ptr<WebSocketGate> gate)
      : connection_(std::move(connection)), gate_(std::move(gate)) {}
  using WebSocket::send;
  bool send(std::shared_ptr<const std::string> text) override {
    std::shared_lock through(gate_->mu);
    auto c = gate_->open ? connection_.lock() : nullptr;
    return c && c->send(std::move(text));
  }
  void close() override {
    std::shared_lock through(gate_->mu);
    if (auto c = gate_->open ? connection_.lock() : nullptr) c->close();
  }
  bool isOpen() const override {
    std::shared_lock through(gate_->mu);
    auto c = gate_->open ? connection_.lock() : nullptr;
    return c && c->isOpen();
  }

 private:
  friend void sendToEach(std::shared_ptr<const WebSocketList>, std::shared_ptr<const std::string>);
  std::weak_ptr<WebSocketConnection> connection_;
  std::shared_ptr<WebSocketGate> gate_;
};

}  // namespace patchbay::http
