// patchbay/http_client.h — HTTP requests with libcurl.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "patchbay/result.h"

namespace patchbay::http {

struct ClientRequest;
struct ClientResponse;
Result<ClientResponse> fetch(const ClientRequest& request);

// Connections (and DNS answers, TLS sessions) kept open between requests
// that name the same pool, from any thread: a client that talks to one
// server many times (an object store) pays its TCP and TLS set-up once.
// Without one, each request opens its own connection.
class ConnectionPool {
 public:
  ConnectionPool();
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

 private:
  struct Impl;
  friend Result<ClientResponse> fetch(const ClientRequest& request);  // hands the pool to libcurl
  std::unique_ptr<Impl> impl_;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
  uint64_t maxResponseBytes = 0;  // 0: no cap; above it the transfer stops (kLimitExceeded)
  // Signs the request with AWS Signature Version 4 (libcurl's) when
  // `provider` is set ("aws:amz:us-east-1:s3"); set x-amz-content-sha256
  // in `headers` too (S3 requires it).
  struct SigV4 {
    std::string provider, accessKeyId, secretKey;
  } sigV4;
  // Called as bytes arrive (downloaded, total or 0 if unknown); for progress bars.
  std::function<void(uint64_t, uint64_t)> onProgress;
  // Connections to reuse (none: a connection of the request's own).
  std::shared_ptr<ConnectionPool> pool;
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string header(std::string_view lowercaseName) const;
};

// Performs the request. Transport failures (refused, timeout, DNS) are kIo
// errors naming the URL; any HTTP status is a successful result.
Result<ClientResponse> fetch(const ClientRequest& request);

// An http:// or https:// URL as libcurl reads it: the same parser that
// fetches it, so a check on its host holds for the request made. The host
// is in lower case, an IPv6 address in brackets ("[::1]"). Other schemes
// and URLs libcurl refuses are kInvalidInput errors naming the URL.
struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;
};
Result<HttpUrl> parseHttpUrl(const std::string& url);

}  // namespace patchbay::http
