// Raw HTTP requests no well-behaved client sends, for every server
// patchbay runs (the plain server, the registry, the host): each must be
// refused with the status given (and the connection closed), never served,
// and never cost the server a later, normal request.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "support/raw_http.h"

namespace patchbay::test {

struct HostileRequest {
  std::string name;
  std::string bytes;   // sent as they are; "{path}" is replaced by a path the server serves with GET
  std::string status;  // the answer's status line must start with "HTTP/1.1 " + status
};

inline std::vector<HostileRequest> hostileRequests() {
  const std::string host = "Host: x\r\n";
  return {
      // Framing that leaves the body's length unknowable (RFC 9112 6.3):
      // a server that guesses runs the body as the next request.
      {"te-chunked-then-identity", "POST {path} HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"te-identity", "POST {path} HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"te-xchunked", "POST {path} HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"te-chunked-twice", "POST {path} HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked,chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"te-two-lines", "POST {path} HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"te-and-content-length", "POST {path} HTTP/1.1\r\n" + host + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"two-content-lengths", "POST {path} HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 40\r\n\r\nabcGET /smuggled HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"negative-content-length", "POST {path} HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", "400"},
      {"huge-content-length", "POST {path} HTTP/1.1\r\n" + host + "Content-Length: 99999999999\r\n\r\n", "413"},
      {"chunk-size-overflow", "POST {path} HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nx\r\n0\r\n\r\n", "4"},
      // Host (RFC 9112 3.2).
      {"no-host", "GET {path} HTTP/1.1\r\n\r\n", "400"},
      {"two-hosts", "GET {path} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
      {"host-with-space", "GET {path} HTTP/1.1\r\nHost: a b\r\n\r\n", "400"},
      // Bytes that are not text where text belongs.
      {"raw-byte-in-path", "GET {path}\xff HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"encoded-byte-in-path", "GET {path}%ff HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"encoded-byte-in-query", "GET {path}?q=%C3%28 HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"byte-in-header-value", "GET {path} HTTP/1.1\r\n" + host + "X-Name: \xc3\x28\r\n\r\n", "400"},
      {"nul-in-header-value", std::string("GET {path} HTTP/1.1\r\n") + host + "X-Name: a" + std::string(1, '\0') + "b\r\n\r\n", "400"},
      {"space-in-header-name", "GET {path} HTTP/1.1\r\n" + host + "X Name: a\r\n\r\n", "400"},
      {"absolute-form-target", "GET http://x{path} HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"not-http", "HELLO THERE\r\n\r\n", "400"},
      {"huge-header", "GET {path} HTTP/1.1\r\n" + host + "X-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n", "431"},
  };
}

// How many HTTP/1.x status lines ("HTTP/1.1 200") a raw exchange holds.
inline size_t statusLines(const std::string& received) {
  size_t n = 0;
  for (size_t at = 0; (at = received.find("HTTP/1.", at)) != std::string::npos; ++at) {
    if (at + 12 <= received.size() && received[at + 8] == ' ' && std::isdigit(static_cast<unsigned char>(received[at + 9])) &&
        std::isdigit(static_cast<unsigned char>(received[at + 10])) && std::isdigit(static_cast<unsigned char>(received[at + 11]))) {
      ++n;
    }
  }
  return n;
}

// Sends each request of the corpus to `port` with {path} replaced by `path`
// (a path the server serves): each must get its status, once, with its
// connection closed and nothing smuggled behind it answered; after each,
// `servesAfter` (a normal request on a new connection) must hold.
inline void expectHostileRequestsRefused(uint16_t port, const std::string& path, const std::function<bool()>& servesAfter) {
  for (const auto& h : hostileRequests()) {
    std::string bytes = h.bytes;
    for (size_t at; (at = bytes.find("{path}")) != std::string::npos;) bytes.replace(at, 6, path);
    auto ex = rawHttp(port, bytes);
    EXPECT_EQ(ex.received.rfind("HTTP/1.1 " + h.status, 0), 0u) << h.name << ": " << ex.received.substr(0, 200);
    EXPECT_TRUE(ex.closedByServer) << h.name;
    EXPECT_EQ(ex.received.find("smuggled"), std::string::npos) << h.name << ": a smuggled request was answered";
    EXPECT_EQ(statusLines(ex.received), 1u) << h.name << ": more than one answer";
    EXPECT_TRUE(servesAfter()) << h.name << ": the server did not serve a normal request after it";
  }
}

}  // namespace patchbay::test
