// patchbay/http.h — an HTTP/1.1 server (Boost.Beast inside, not in this
// header) and a router with path parameters.
//
//   http::Router router;
//   router.add("GET", "/download/{id}/{version}", [&](http::Request& r) {
//     return http::Response::text(200, r.params["id"]);
//   });
//   http::Server server({.port = 0}, router.handler());
//   server.start();            // binds; server.port() is the real port
//   ...
//   server.stop();             // graceful: in-flight requests finish
//
// Limits against hostile clients: header size, body size (413), read
// timeouts (slow clients are cut off), at most one of Content-Length and
// Transfer-Encoding (both: 400 and the connection is closed).
// Handlers run on the server's threads and must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patchbay/result.h"

namespace patchbay::http {

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // as sent: "/api/plugins?q=chat"
  std::string path;    // without the query: "/api/plugins"
  std::map<std::string, std::string> query;   // percent-decoded
  std::map<std::string, std::string> params;  // from the route pattern, decoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remoteAddress;

  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  // A query parameter, or `fallback`.
  std::string queryOr(const std::string& name, std::string fallback = "") const;
};

// Part of a file to send as the body, with sendfile(2).
struct FileBody {
  std::string path;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<FileBody> file;  // when set, sent instead of `body`

  Response& set(std::string name, std::string value);
  std::string header(std::string_view name) const;

  static Response text(int status, std::string body, std::string contentType = "text/plain; charset=utf-8");
  static Response json(int status, std::string jsonText);
  // {"error": {"code": "...", "message": "..."}}
  static Response error(int status, std::string_view code, std::string_view message);
};

using Handler = std::function<Response(Request&)>;

// Routes "METHOD /literal/{param}/..." to handlers, first match first. A
// last segment "{rest...}" captures the rest of the path ("/a/b", or "" for
// none); method "*" matches any method. Unknown paths get a JSON 404; a
// known path with another method gets 405 with Allow. HEAD is served by the
// GET handler (the server drops the body).
class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);
  Response dispatch(Request& request) const;
  Handler handler() const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" captures one segment
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct AccessRecord {
  std::string method;
  std::string path;
  std::string route;  // the handler's pattern when its Response named one (header X-Route), else ""
  int status = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  std::string remoteAddress;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  int threads = 2;
  uint64_t maxBodyBytes = 50ull << 20;
  uint32_t maxHeaderBytes = 16 << 10;
  std::chrono::seconds readTimeout{30};   // for one request's headers and body
  std::chrono::seconds idleTimeout{60};   // keep-alive between requests
  std::chrono::seconds drainTimeout{10};  // stop() waits this long for in-flight requests
  std::function<void(const AccessRecord&)> onAccess;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on the option's threads.
  Status start();
  uint16_t port() const;
  // Stops accepting, lets in-flight requests finish (up to drainTimeout),
  // closes idle connections, and joins the threads. Idempotent.
  void stop();

  struct Impl;  // opaque: Beast lives in src/http/server.cc only

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding ("%2e" -> "."; "+" stays "+" in paths).
std::string percentDecode(std::string_view s, bool plusIsSpace = false);
// `s` as a JSON string literal, quotes included; appendJsonQuoted writes
// it onto the end of `out`.
std::string jsonQuote(std::string_view s);
void appendJsonQuoted(std::string& out, std::string_view s);
// gzip of `data` (empty on failure, which only running out of memory causes).
std::string gzipCompress(std::string_view data);
// Brotli of `data` at the highest quality (for content compressed once and
// served many times); empty on failure.
std::string brotliCompress(std::string_view data);
// Whether the request's Accept-Encoding admits `encoding` ("gzip", "br").
bool acceptsEncoding(const Request& request, std::string_view encoding);
// A Range header ("bytes=a-b", "bytes=a-", "bytes=-n") against a body of
// `size` bytes: the first and last byte. nullopt when there is no single
// usable range (serve the whole body); {size, size} when unsatisfiable (416).
std::optional<std::pair<uint64_t, uint64_t>> parseByteRange(std::string_view header, uint64_t size);
// RFC 7231 date ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string httpDate(std::chrono::system_clock::time_point t);

}  // namespace patchbay::http
