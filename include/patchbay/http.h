// patchbay/http.h — an HTTP/1.1 server (Boost.Beast inside, not in this
// header) and a router with path parameters.
//
//   http::Router router;
//   router.add("GET", "/download/{id}/{version}", [&](http::Request& r) {
//     return http::Response::text(200, r.params["id"]);
//   });
//   router.addAsync("POST", "/api/slow", [&](http::Request& r, http::Responder done) {
//     worker.post([done, body = r.body] { done.send(http::Response::text(200, work(body))); });
//   }, {.maxBodyBytes = 8 << 20});
//   http::Server server({.port = 0}, router);   // the router outlives the server
//   server.start();            // binds; server.port() is the real port
//   ...
//   server.stop();             // graceful: in-flight requests finish
//
// Limits against hostile clients: header size (431), a body limit per route
// decided from the request's head before the body is read (413), read
// timeouts (slow clients are cut off). Refused with 400 and the connection
// closed (RFC 9112): both Content-Length and Transfer-Encoding, a
// Transfer-Encoding whose last coding is not a single `chunked`, an HTTP/1.1
// request without Host or any request with two, bytes that are not UTF-8 in
// the target (also once percent-decoded) or in a header. A body is bytes:
// handlers decide whether it is text.
// Handlers run on the server's IO threads and must be thread-safe; one that
// waits (for a plugin, a worker pool) answers later through its Responder so
// that no IO thread waits with it.
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
#include <variant>
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

// How a service writes its errors: the registry's
// {"error": {"code": "...", "message": "..."}} or the panel's, Sodium's
// {"error": "..."}. One service, one shape, the server's own refusals
// (400, 413, 503, ...) included.
enum class ErrorShape { kCodeAndMessage, kMessage };

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<FileBody> file;  // when set, sent instead of `body`

  Response& set(std::string name, std::string value);
  std::string header(std::string_view name) const;

  static Response text(int status, std::string body, std::string contentType = "text/plain; charset=utf-8");
  static Response json(int status, std::string jsonText);
  // An error in `shape`: {"error": {"code": "...", "message": "..."}} or
  // {"error": "..."} (the code then only in the status).
  static Response error(int status, std::string_view code, std::string_view message,
                        ErrorShape shape = ErrorShape::kCodeAndMessage);
};

using Handler = std::function<Response(Request&)>;

// Answers one request, from any thread, now or later: a handler that waits
// for something (a plugin, a worker pool) keeps its Responder and returns;
// the IO thread serves other connections meanwhile. The first send() counts,
// later ones are ignored. When the last copy is dropped without an answer,
// the client gets a 500 (a handler bug costs one request, never a hung
// connection). Cheap to copy (one shared state).
class Responder {
 public:
  // A Responder whose answer goes to `deliver` (called at most once, from
  // the thread that answers). Servers make these; so may tests and tools.
  static Responder to(std::function<void(Response)> deliver);
  void send(Response response) const;

  struct State;  // src/http/responder_state.h
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  const std::shared_ptr<State>& state() const { return state_; }

 private:
  std::shared_ptr<State> state_;
};

using AsyncHandler = std::function<void(Request&, Responder)>;

// A WebSocket connection (RFC 6455) a route accepted. Thread-safe; the
// server holds it while it is open.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // Queues a text message. False when the connection is closed, or when
  // its queue already holds WebSocketOptions::maxQueued messages: then it
  // is closed at once, so that a client that stops reading costs only
  // itself and never delays anyone sending to others.
  bool send(std::string text) { return send(std::make_shared<const std::string>(std::move(text))); }
  // The same message to many: one copy of the text, shared by their queues.
  virtual bool send(std::shared_ptr<const std::string> text) = 0;
  // Closes it (a normal close, 1000).
  virtual void close() = 0;
  virtual bool isOpen() const = 0;
};

// WebSocket::send to each of `sockets`, one message shared by all: a
// broadcast. The connections one server holds get it in one hand-over to
// its WebSocket thread rather than one each, and are looked up there: the
// caller's cost does not grow with their number beyond a pointer check
// each. A list kept for many broadcasts (a room's members) is shared, not
// copied.
using WebSocketList = std::vector<std::shared_ptr<WebSocket>>;
void sendToEach(std::shared_ptr<const WebSocketList> sockets, std::shared_ptr<const std::string> text);

struct WebSocketOptions {
  size_t maxQueued = 256;                 // messages waiting to go out
  size_t maxMessageBytes = 64 << 10;      // a larger one from the client closes the connection (1009)
  std::chrono::seconds pingInterval{20};  // a ping after this long quiet; no answer within as long again: closed
};

// What an accepted connection hears, on the server's WebSocket thread (one
// for all its WebSockets: a handler must not block), one call at a time.
// onClose comes once, however it ended (also when the server stops).
struct WebSocketHandlers {
  std::function<void(const std::string& text)> onMessage;
  std::function<void()> onClose;
};

// Decides an upgrade request (its head: method, path, params, query,
// headers): a Response refuses it (401, 403, ...); handlers accept it, for
// the connection `socket` will be (messages sent on it before the
// handshake completes go out after it).
using WebSocketAccept = std::function<std::variant<Response, WebSocketHandlers>(Request& request, const std::shared_ptr<WebSocket>& socket)>;
struct WebSocketRoute {
  WebSocketAccept accept;
  WebSocketOptions options;
};

// How large a route's request body may be (413 above it), decided after the
// headers and before the body is read: `maxBodyBytes`, or when `decide` is
// set, what it returns for the request's head (method, path, params, query,
// headers; body still empty). 0 means the server's default
// (ServerOptions::maxBodyBytes).
struct RouteOptions {
  uint64_t maxBodyBytes = 0;
  std::function<uint64_t(const Request& head)> decide;
};

// What a Server serves. Router is one; a test or a proxy may be another.
class Service {
 public:
  virtual ~Service() = default;
  // The body limit for `head` (no body yet), or 0 for the server's default.
  virtual uint64_t bodyLimit(Request& head) const = 0;
  // Answers `request` through `responder`, at once or later.
  virtual void serve(Request& request, Responder responder) const = 0;
  // The shape of its errors, which the server's own refusals take too.
  virtual ErrorShape errorShape() const { return ErrorShape::kCodeAndMessage; }
  // The WebSocket route for an upgrade request's head (its params set), or none.
  virtual const WebSocketRoute* webSocket(Request& head) const {
    (void)head;
    return nullptr;
  }
};

// Routes "METHOD /literal/{param}/..." to handlers, first match first. A
// last segment "{rest...}" captures the rest of the path ("/a/b", or "" for
// none); method "*" matches any method. Unknown paths get a JSON 404; a
// known path with another method gets 405 with Allow. HEAD is served by the
// GET handler (the server drops the body).
class Router final : public Service {
 public:
  void add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  void addAsync(std::string method, std::string pattern, AsyncHandler handler, RouteOptions options = {});
  // A WebSocket endpoint at `pattern`; a plain GET there gets 426 Upgrade Required.
  void addWebSocket(std::string pattern, WebSocketAccept accept, WebSocketOptions options = {});
  const WebSocketRoute* webSocket(Request& head) const override;
  // Runs the matching handler; an async one is waited for (tests, tools).
  Response dispatch(Request& request) const;
  Handler handler() const;

  uint64_t bodyLimit(Request& head) const override;
  void serve(Request& request, Responder responder) const override;
  // GET (and HEAD) of a path no route knows (not even with another method):
  // answered by `handler` instead of a 404. A single-page app's shell, so
  // that pages whose paths only the app knows (plugins' pages) load.
  void setPageFallback(Handler handler);
  // The shape of its 404 and 405 and of the server's refusals (default: the registry's).
  void setErrorShape(ErrorShape shape) { errorShape_ = shape; }
  ErrorShape errorShape() const override { return errorShape_; }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" captures one segment
    Handler handler;                    // one of the two
    AsyncHandler asyncHandler;
    RouteOptions options;
    std::shared_ptr<WebSocketRoute> webSocket;  // set for a WebSocket endpoint
  };
  // The route for `request` with its params set, or the 404/405 answer.
  const Route* match(Request& request, Response& refusal) const;
  std::vector<Route> routes_;
  std::optional<Route> pageFallback_;
  ErrorShape errorShape_ = ErrorShape::kCodeAndMessage;
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
  uint64_t maxBodyBytes = 1u << 20;  // for routes that set no limit of their own
  uint32_t maxHeaderBytes = 16 << 10;
  std::chrono::seconds readTimeout{30};   // for one request's headers and body
  std::chrono::seconds idleTimeout{60};   // keep-alive between requests
  std::chrono::seconds drainTimeout{10};  // stop() waits this long for in-flight requests
  std::function<void(const AccessRecord&)> onAccess;
  // Problems no single request caused (out of file descriptors, a handler
  // that produced an invalid response), for the server's log.
  std::function<void(const std::string&)> onProblem;
};

class Server {
 public:
  // Serves `service`, which must outlive the server.
  Server(ServerOptions options, const Service& service);
  // Serves one synchronous handler for every request (bodies up to
  // options.maxBodyBytes).
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

// Percent-decoding ("%2e" -> "."; "+" stays "+" in paths, is a space in
// queries), by Boost.URL: nullopt for a malformed escape ("%zz", "%4").
std::optional<std::string> percentDecoded(std::string_view s, bool plusIsSpace = false);
// The same for text the server has checked (a request's path and query):
// a malformed escape stays as it is.
std::string percentDecode(std::string_view s, bool plusIsSpace = false);
// Percent-encoding by Boost.URL: RFC 3986's unreserved characters (A-Z
// a-z 0-9 - . _ ~) stay, every other byte is %XX (upper-case hex), as URL
// paths and query values and AWS's signatures want them; with
// `keepSlash`, '/' stays too (a path of several segments).
std::string percentEncoded(std::string_view s, bool keepSlash = false);
// A query string's parameters in order, decoded; an error for a malformed
// escape or a parameter that is not UTF-8 once decoded.
Result<std::vector<std::pair<std::string, std::string>>> parseQueryString(std::string_view query);
// Whether `s` is an HTTP token (RFC 9110 5.6.2): what a method or a header
// name must be.
bool isToken(std::string_view s);
// Whether `s` may be a header's value: no control characters but tab (a CR
// or LF would end the header, and the message, early).
bool isFieldValue(std::string_view s);
// `s` as a JSON string literal, quotes included, escaped as JSON.stringify
// escapes it; appendJsonQuoted writes it onto the end of `out`, and
// jsonQuotedSize is its length.
std::string jsonQuote(std::string_view s);
void appendJsonQuoted(std::string& out, std::string_view s);
size_t jsonQuotedSize(std::string_view s);
// gzip of `data` (empty on failure, which only running out of memory causes).
std::string gzipCompress(std::string_view data);
// Brotli of `data` for content compressed once and served many times: the
// highest quality up to 256 KiB, lower ones above so that compressing stays
// near a second (11 runs at ~0.4 MB/s); empty on failure.
std::string brotliCompress(std::string_view data);
// The Content-Type of a web asset by its name's ending (.html, .js, .css,
// .svg, .png, .json), else application/octet-stream.
const char* assetContentType(std::string_view path);
// Whether the request's Accept-Encoding admits `encoding` ("gzip", "br").
bool acceptsEncoding(const Request& request, std::string_view encoding);
// A Range header ("bytes=a-b", "bytes=a-", "bytes=-n") against a body of
// `size` bytes: the first and last byte. nullopt when there is no single
// usable range (serve the whole body); {size, size} when unsatisfiable (416).
std::optional<std::pair<uint64_t, uint64_t>> parseByteRange(std::string_view header, uint64_t size);
// RFC 7231 date ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string httpDate(std::chrono::system_clock::time_point t);

}  // namespace patchbay::http
