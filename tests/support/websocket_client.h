// A WebSocket client for tests (Beast, synchronous with deadlines): what a
// browser tab does on /api/events, and what a hostile client does.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "patchbay/result.h"

namespace patchbay::test {

class WebSocketClient {
 public:
  // Connects to ws://127.0.0.1:<port><path> with these extra handshake
  // headers (Cookie, Origin); the refusal's status and body as the error.
  static Result<std::unique_ptr<WebSocketClient>> connect(uint16_t port, const std::string& path,
                                                          std::vector<std::pair<std::string, std::string>> headers = {});
  ~WebSocketClient();
  // The next text message within `timeout`, or nullopt (timeout, closed).
  std::optional<std::string> read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  Status write(const std::string& text);
  // Whether the server closed the connection within `timeout`.
  bool closedWithin(std::chrono::milliseconds timeout);
  // Stops reading at the socket: a client that does not read (the kernel's
  // receive buffer is made small so that it fills).
  void stopReading();

  struct Impl;

 private:
  explicit WebSocketClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace patchbay::test
