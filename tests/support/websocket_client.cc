// The tests' WebSocket client (websocket_client.h).
#include "support/websocket_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace patchbay::test {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace asio = boost::asio;

struct WebSocketClient::Impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  bool closed = false;
};

WebSocketClient::WebSocketClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocketClient::~WebSocketClient() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
}

Result<std::unique_ptr<WebSocketClient>> WebSocketClient::connect(uint16_t port, const std::string& path,
                                                                  std::vector<std::pair<std::string, std::string>> headers) {
  auto impl = std::make_unique<Impl>();
  beast::error_code ec;
  auto& tcp = beast::get_lowest_layer(impl->ws);
  tcp.expires_after(std::chrono::seconds(5));
  tcp.socket().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return Error::io("connect: " + ec.message());
  impl->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [name, value] : headers) req.set(name, value);
  }));
  websocket::response_type response;
  impl->ws.handshake(response, "127.0.0.1:" + std::to_string(port), path, ec);
  if (ec) return Error::io("handshake refused: " + std::to_string(response.result_int()) + " " + response.body());
  return std::unique_ptr<WebSocketClient>(new WebSocketClient(std::move(impl)));
}

std::optional<std::string> WebSocketClient::read(std::chrono::milliseconds timeout) {
  if (impl_->closed) return std::nullopt;
  std::optional<std::string> out;
  bool done = false;
  impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, size_t) {
    done = true;
    if (ec) {
      impl_->closed = true;
      return;
    }
    out = beast::buffers_to_string(impl_->buffer.data());
    impl_->buffer.consume(impl_->buffer.size());
  });
  impl_->ioc.restart();
  impl_->ioc.run_for(timeout);
  if (!done) {
    // Cancelling a Beast read leaves the stream unusable: treat the connection as done.
    beast::get_lowest_layer(impl_->ws).socket().cancel();
    impl_->ioc.restart();
    impl_->ioc.run_for(std::chrono::milliseconds(100));
    impl_->closed = true;
  }
  return out;
}

Status WebSocketClient::write(const std::string& text) {
  beast::error_code ec;
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text), ec);
  if (ec) return Error::io("write: " + ec.message());
  return {};
}

bool WebSocketClient::closedWithin(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->closed) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    std::optional<std::string> any;
    bool done = false;
    impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, size_t) {
      done = true;
      if (ec) impl_->closed = true;
      impl_->buffer.consume(impl_->buffer.size());
    });
    impl_->ioc.restart();
    impl_->ioc.run_for(left);
    if (!done) return false;
  }
  return true;
}

void WebSocketClient::stopReading() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().set_option(asio::socket_base::receive_buffer_size(4096), ec);
}

}  // namespace patchbay::test
