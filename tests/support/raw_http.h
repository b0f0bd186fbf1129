// Sends raw bytes to a loopback port and returns what comes back before the
// server closes the connection (or the timeout passes): for requests no
// well-behaved client would send.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace patchbay::test {

struct RawExchange {
  std::string received;
  bool closedByServer = false;
};

RawExchange rawHttp(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace patchbay::test
