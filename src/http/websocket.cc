// WebSocket connections (websocket_connection.h): the handshake, a read
// loop handing text messages to the route's handlers, and a bounded write
// queue; a client that falls behind by a full queue is cut off.
#include "http/websocket_connection.h"

#include <algorithm>
#include <cstdint>

namespace patchbay::http {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace asio = boost::asio;

void WebSocketSet::add(const std::shared_ptr<WebSocketConnection>& socket) {
  std::lock_guard lock(mu_);
  open_.insert(socket.get());
  std::erase_if(handles_, [](const std::weak_ptr<WebSocketConnection>& w) { return w.expired(); });
  handles_.push_back(socket);
}

void WebSocketSet::remove(WebSocketConnection* socket) {
  std::lock_guard lock(mu_);
  open_.erase(socket);
  gone_.notify_all();
}

void WebSocketSet::closeAll(std::chrono::milliseconds timeout) {
  std::vector<std::shared_ptr<WebSocketConnection>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& w : handles_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->drop();
  live.clear();
  {
    std::unique_lock lock(mu_);
    gone_.wait_for(lock, timeout, [this] { return open_.empty(); });
  }
  std::unique_lock closing(gate_->mu);  // waits for handles in use
  gate_->open = false;
}

void WebSocketConnection::start(beast::tcp_stream stream, UpgradeRequest upgrade, WebSocketHandlers handlers) {
  handlers_ = std::move(handlers);
  stream.expires_never();  // the WebSocket's own timeouts from here on
  {
    std::lock_guard lock(mu_);
    ws_.emplace(std::move(stream));
  }
  set_.add(shared_from_this());
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(30);
  timeouts.idle_timeout = options_.pingInterval * 2;  // a ping at half of it; no answer by its end: closed
  timeouts.keep_alive_pings = true;
  ws_->set_option(timeouts);
  ws_->set_option(websocket::stream_base::decorator([](websocket::response_type& res) { res.set(beast::http::field::server, "patchbay"); }));
  ws_->read_message_max(options_.maxMessageBytes);
  ws_->async_accept(upgrade, [self = shared_from_this()](beast::error_code ec) {
    if (ec) return self->finish();
    bool write = false, close = false;
    {
      std::lock_guard lock(self->mu_);
      self->started_ = true;
      write = !self->queue_.empty() && !self->writing_;
      if (write) self->writing_ = true;
      close = self->closeWanted_;
    }
    if (write) self->writeNext();
    if (close) self->close();
    self->read();
  });
}

void WebSocketConnection::read() {
  ws_->async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->finish();
    if (self->ws_->got_text() && self->handlers_.onMessage) {
      try {
        self->handlers_.onMessage(beast::buffers_to_string(self->buffer_.data()));
      } catch (...) {
        // A handler's failure ends its message, not the connection.
      }
    }
    self->buffer_.consume(self->buffer_.size());
    self->read();
  });
}

// Queues `text`; true when the caller is to start writing it.
bool WebSocketConnection::enqueue(const std::shared_ptr<const std::string>& text, bool& accepted) {
  bool startWriting = false, tooMany = false;
  {
    std::lock_guard lock(mu_);
    accepted = false;
    if (!open_) return false;
    if (queue_.size() >= options_.maxQueued) {
      open_ = false;
      tooMany = true;
    } else {
      queue_.push_back(text);
      accepted = true;
      startWriting = started_ && !writing_;
      if (startWriting) writing_ = true;
    }
  }
  if (tooMany) drop();
  return startWriting;
}

bool WebSocketConnection::send(std::shared_ptr<const std::string> text) {
  bool accepted = false;
  if (enqueue(text, accepted)) asio::post(ws_->get_executor(), [self = shared_from_this()] { self->writeNext(); });
  return accepted;
}

void WebSocketConnection::sendHere(const std::shared_ptr<const std::string>& text) {
  bool accepted = false;
  if (enqueue(text, accepted)) writeNext();
}

void sendToEach(std::shared_ptr<const WebSocketList> sockets, std::shared_ptr<const std::string> text) {
  if (!sockets || sockets->empty()) return;
  // The handles, by index, grouped by server (its gate); anything else is
  // sent one by one, here.
  std::vector<std::pair<WebSocketGate*, std::vector<uint32_t>>> servers;  // mostly one
  for (uint32_t i = 0; i < sockets->size(); ++i) {
    const auto& socket = (*sockets)[i];
    if (const auto* handle = dynamic_cast<const WebSocketHandle*>(socket.get())) {
      WebSocketGate* gate = handle->gate_.get();
      auto it = std::find_if(servers.begin(), servers.end(), [gate](const auto& s) { return s.first == gate; });
      if (it == servers.end()) it = servers.insert(servers.end(), {gate, {}});
      it->second.push_back(i);
    } else if (socket) {
      socket->send(text);
    }
  }
  for (auto& [gate, indices] : servers) {
    std::shared_lock through(gate->mu);  // the WebSocket thread is there while its server runs
    if (!gate->open) continue;
    // Each connection is reached on its own thread; if the server stops
    // first, the list goes with the unrun job (handles hold no connection).
    asio::post(gate->thread, [sockets, indices = std::move(indices), text] {
      for (uint32_t i : indices) {
        const auto* handle = static_cast<const WebSocketHandle*>((*sockets)[i].get());
        if (auto c = handle->connection_.lock()) c->sendHere(text);
      }
    });
  }
}

void WebSocketConnection::writeNext() {
  std::shared_ptr<const std::string> next;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty() || finished_) {
      writing_ = false;
      return;
    }
    next = queue_.front();  // popped once written
  }
  ws_->text(true);
  const auto bytes = asio::buffer(*next);
  ws_->async_write(bytes, [self = shared_from_this(), next = std::move(next)](beast::error_code ec, size_t) {
    {
      std::lock_guard lock(self->mu_);
      self->queue_.pop_front();
    }
    if (ec) {
      std::lock_guard lock(self->mu_);
      self->writing_ = false;
      return;  // the read side sees the connection end and finishes it
    }
    self->writeNext();
  });
}

void WebSocketConnection::close() {
  {
    std::lock_guard lock(mu_);
    if (!started_) {
      closeWanted_ = true;
      return;
    }
  }
  asio::post(ws_->get_executor(), [self = shared_from_this()] {
    {
      std::lock_guard lock(self->mu_);
      if (self->finished_) return;
      self->open_ = false;
    }
    self->ws_->async_close(websocket::close_code::normal, [self](beast::error_code) {});
  });
}

bool WebSocketConnection::isOpen() const {
  std::lock_guard lock(mu_);
  return open_ && !finished_;
}

void WebSocketConnection::drop() {
  {
    std::lock_guard lock(mu_);
    open_ = false;
    if (!ws_) return;
  }
  asio::post(ws_->get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(*self->ws_).socket();
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket.close(ec);
  });
}

void WebSocketConnection::finish() {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    open_ = false;  // what is queued goes with the connection (a write under way still holds its message)
  }
  if (handlers_.onClose) {
    try {
      handlers_.onClose();
    } catch (...) {
    }
  }
  set_.remove(this);
}

}  // namespace patchbay::http
