// The HTTP server: Boost.Beast sessions on an Asio thread pool. The only
// translation unit that includes Beast (it is slow to compile).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/sendfile.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "patchbay/http.h"
#include "patchbay/text.h"
#include "http/responder_state.h"
#include "http/websocket_connection.h"

namespace patchbay::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Session;

namespace {

thread_local const Session* tlServing = nullptr;  // the session whose handler runs on this thread

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9112 §6.3: a request's Transfer-Encoding must end in `chunked`, once;
// anything else leaves its length unknowable, and a server that guesses
// reads the body as the next request (smuggling).
bool chunkedIsLastAndOnly(const std::vector<std::string_view>& values) {
  std::vector<std::string_view> codings;
  for (std::string_view v : values) {
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      std::string_view item = v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      item = trimOws(item.substr(0, item.find(';')));
      if (!item.empty()) codings.push_back(item);
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  if (codings.empty() || !asciiEqualsIgnoringCase(codings.back(), "chunked")) return false;
  return std::count_if(codings.begin(), codings.end(), [](std::string_view c) { return asciiEqualsIgnoringCase(c, "chunked"); }) == 1;
}

// A final response's status and headers as they may go out: 1xx is not a
// final answer, and a header that would break the framing is a bug.
std::optional<std::string> responseProblem(const Response& res) {
  if (res.status < 200 || res.status > 599) return "status " + std::to_string(res.status) + " is not a final HTTP status (200-599)";
  for (const auto& [name, value] : res.headers) {
    if (!isToken(name)) return "header name " + jsonQuote(name) + " is not an HTTP token";
    if (!isFieldValue(value)) return "header " + name + " holds a control character (CR, LF, NUL) in its value";
  }
  return std::nullopt;
}

// Responses that never carry a body (RFC 9110 §6.4.1).
bool statusForbidsBody(int status) { return status == 204 || status == 304; }

// Serves one synchronous handler for every request (Server(options, Handler)).
class HandlerService final : public Service {
 public:
  explicit HandlerService(Handler handler) : handler_(std::move(handler)) {}
  uint64_t bodyLimit(Request&) const override { return 0; }
  void serve(Request& request, Responder responder) const override { responder.send(handler_(request)); }

 private:
  Handler handler_;
};

}  // namespace

struct Server::Impl {
  // First what sessions touch as they are destroyed: the io_context below
  // is destroyed before these, and the handlers it still holds may hold the
  // last reference to a session.
  std::mutex mutex;
  std::condition_variable drained;
  std::set<Session*> sessions;  // guarded by mutex
  WebSocketSet webSockets;      // connections upgraded out of sessions
  size_t busy = 0;              // sessions handling a request; guarded by mutex
  std::atomic<bool> stopping{false};
  // Set by stop() before it takes back every waiting responder: a request
  // read after that is not served (its responder would hold the session
  // past the IO threads' end), it gets a 503.
  std::atomic<bool> detaching{false};
  // Every responder handed to the service that may still be waiting (weak:
  // answered ones expire). stop() takes each back before the IO objects go,
  // so a late answer from another thread finds nobody to deliver to, and
  // no Session outlives the io_context.
  std::mutex respondersMu;
  std::vector<std::weak_ptr<Responder::State>> responders;  // guarded by respondersMu
  size_t respondersAfterPrune = 0;                          // guarded by respondersMu
  void track(const std::shared_ptr<Responder::State>& state) {
    std::lock_guard lock(respondersMu);
    if (responders.size() >= 64 && responders.size() >= 2 * respondersAfterPrune) {
      std::erase_if(responders, [](const std::weak_ptr<Responder::State>& w) { return w.expired(); });
      respondersAfterPrune = responders.size();
    }
    responders.push_back(state);
  }
  // Takes back every waiting responder; what they held (their sessions) is
  // released here, on the caller's thread, while the io_context lives.
  void detachResponders() {
    std::vector<std::weak_ptr<Responder::State>> all;
    {
      std::lock_guard lock(respondersMu);
      all.swap(responders);
      respondersAfterPrune = 0;
    }
    for (auto& weak : all) {
      if (auto state = weak.lock()) state->take();
    }
  }
  ServerOptions options;
  std::unique_ptr<Service> ownedService;
  const Service* service = nullptr;

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  asio::steady_timer acceptRetry{ioc};
  std::vector<std::thread> threads;
  // WebSockets live on one thread of their own, as a Node server's do: a
  // broadcast to a thousand of them is a thousand sends in one loop, with
  // no strand and no other thread to wake per message.
  asio::io_context webSocketIoc{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> webSocketWork;
  std::thread webSocketThread;
  uint16_t port = 0;
  bool stopped = false;
  std::chrono::steady_clock::time_point lastAcceptProblem{};

  Impl(ServerOptions o, const Service* s) : options(std::move(o)), service(s) {}
  void accept();
  void problem(const std::string& what) {
    if (options.onProblem) options.onProblem(what);
  }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server) : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    // Responses go out in as few writes as we can make them; Nagle's
    // algorithm would only hold them back (and meet the client's delayed ACK).
    stream_.socket().set_option(tcp::no_delay(true), ec);
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }

  void start() {
    {
      std::lock_guard lock(server_.mutex);
      server_.sessions.insert(this);
    }
    readHeader(true);
  }

  ~Session() {
    if (fd_ >= 0) ::close(fd_);
    std::lock_guard lock(server_.mutex);
    if (busy_) --server_.busy;
    server_.sessions.erase(this);
    server_.drained.notify_all();
  }

  // Called by stop(): an idle connection is closed now; a busy one after
  // its response.
  void shutdownIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.socket().close(ec);
      }
    });
  }

  // The handler's answer, from any thread.
  void answer(Response res) {
    if (tlServing == this) {  // answered during serve(), on this strand: sent when it returns
      syncAnswer_ = std::move(res);
      return;
    }
    asio::post(stream_.get_executor(), [self = shared_from_this(), res = std::move(res)]() mutable { self->send(std::move(res)); });
  }

 private:
  void readHeader(bool first) {
    parser_.emplace();
    parser_->header_limit(server_.options.maxHeaderBytes);
    parser_->body_limit(boost::none);  // decided once the head is known
    stream_.expires_after(first ? server_.options.readTimeout : server_.options.idleTimeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  // A parse failure that deserves an answer (not a client that went away).
  static bool malformed(beast::error_code ec) {
    return ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
  }

  // The request's head as a Request, or why it is refused (400).
  std::optional<std::string> readHead(Request& req) {
    const auto& msg = parser_->get();
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.remoteAddress = remote_;
    if (req.target.empty() || req.target[0] != '/') return "the request target must start with /";
    if (!isUtf8(req.target)) return "the request target is not UTF-8";
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    auto path = percentDecoded(req.path);
    if (!path) return "the request path has a malformed percent-encoding (a '%' not followed by two hex digits)";
    if (!isUtf8(*path)) return "the request path is not UTF-8 once percent-decoded";
    if (q != std::string::npos) {
      auto query = parseQueryString(std::string_view(req.target).substr(q + 1));
      if (!query) return query.error().message;
      for (auto& [key, value] : *query) req.query.emplace(std::move(key), std::move(value));  // the first of a repeated key
    }
    size_t hosts = 0;
    bool contentLength = false;
    std::vector<std::string_view> transferEncodings;
    for (const auto& f : msg) {
      std::string_view name = f.name_string(), value = f.value();
      if (!isUtf8(value)) return "header " + std::string(name) + " is not UTF-8";
      if (f.name() == bhttp::field::host) {
        ++hosts;
        if (value.find_first_of(" \t/\\@") != std::string_view::npos) return "the Host header is not a host name";
      }
      if (f.name() == bhttp::field::content_length) contentLength = true;
      if (f.name() == bhttp::field::transfer_encoding) transferEncodings.push_back(value);
      req.headers.emplace_back(std::string(name), std::string(value));
    }
    // RFC 9112 §3.2: HTTP/1.1 requests carry exactly one Host; no request two.
    if (hosts > 1) return "a request may carry one Host header, not " + std::to_string(hosts);
    if (hosts == 0 && msg.version() >= 11) return "an HTTP/1.1 request must carry a Host header";
    if (contentLength && !transferEncodings.empty()) return "a request may not carry both Content-Length and Transfer-Encoding";
    if (!transferEncodings.empty() && !chunkedIsLastAndOnly(transferEncodings)) {
      return "Transfer-Encoding must end with chunked, given once (RFC 9112 6.3)";
    }
    return std::nullopt;
  }

  void onHeader(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return sendError(431, "headers_too_large", "the request headers are larger than " + std::to_string(server_.options.maxHeaderBytes) + " bytes", true);
    }
    if (malformed(ec)) {
      // Includes Content-Length together with Transfer-Encoding, which
      // Beast refuses while parsing: answer, then close (no smuggling).
      return sendError(400, "bad_request", "malformed HTTP request: " + ec.message(), true);
    }
    if (ec) return close(ec);
    setBusy(true);
    request_ = Request{};
    if (auto refused = readHead(request_)) return sendError(400, "bad_request", *refused, true);
    if (boost::beast::websocket::is_upgrade(parser_->get())) {
      if (const WebSocketRoute* route = server_.service->webSocket(request_)) return upgrade(*route);
    }
    uint64_t limit = 0;
    try {
      limit = server_.service->bodyLimit(request_);
    } catch (const std::exception& e) {
      return sendError(500, "internal", std::string("internal error: ") + e.what(), true);
    }
    if (limit == 0) limit = server_.options.maxBodyBytes;
    if (parser_->content_length() && *parser_->content_length() > limit) {
      return sendError(413, "payload_too_large", "the body is larger than " + std::to_string(limit) + " bytes", true);
    }
    limit_ = limit;
    parser_->body_limit(limit);
    stream_.expires_after(server_.options.readTimeout);
    // A client that asked to be told before it sends the body (curl does
    // for large uploads) is told now, so a refusal above came at once.
    const auto& msg = parser_->get();
    if (msg.version() >= 11 && asciiEqualsIgnoringCase(msg[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue), [self = shared_from_this()](beast::error_code ec2, size_t) {
        if (ec2) return self->close(ec2);
        self->readBody();
      });
      return;
    }
    readBody();
  }

  // A WebSocket route's upgrade: its accept decides; accepted, the
  // connection leaves this session for a WebSocketConnection.
  void upgrade(const WebSocketRoute& route) {
    started_ = std::chrono::steady_clock::now();
    method_ = request_.method;
    path_ = request_.path;
    version_ = 11;
    head_ = false;
    keepAlive_ = false;
    if (!parser_->is_done()) return sendError(400, "bad_request", "a WebSocket upgrade request carries no body", true);
    if (server_.stopping) return sendError(503, "unavailable", "the server is stopping", true);
    auto socket = std::make_shared<WebSocketConnection>(route.options, server_.webSockets);
    std::variant<Response, WebSocketHandlers> decision;
    try {
      decision = route.accept(request_, std::make_shared<WebSocketHandle>(socket, server_.webSockets.gate()));
    } catch (const std::exception& e) {
      decision = Response::error(500, "internal", std::string("internal error: ") + e.what(), server_.service->errorShape());
    }
    if (auto* refusal = std::get_if<Response>(&decision)) return send(std::move(*refusal));
    status_ = 101;
    bytes_ = 0;
    logAccess();
    setBusy(false);
    // The connection moves to the WebSocket thread's io_context.
    beast::error_code ec;
    tcp::socket& from = stream_.socket();
    const auto protocol = from.local_endpoint(ec).protocol();
    const auto handle = ec ? -1 : from.release(ec);
    if (ec || handle < 0) return close(ec);
    beast::tcp_stream moved(tcp::socket(server_.webSocketIoc, protocol, handle));
    socket->start(std::move(moved), parser_->release(), std::move(std::get<WebSocketHandlers>(decision)));
  }

  void readBody() {
    // What came with the head is parsed here: a request without a body, or
    // with a small one in the same packet (most API calls), goes to its
    // handler with no asynchronous round, whose completion could wake
    // another IO thread to run it.
    beast::error_code ec;
    parser_->eager(true);
    while (!parser_->is_done() && buffer_.size() > 0) {
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec || used == 0) break;
    }
    if (ec || parser_->is_done()) return onBody(ec);
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec2, size_t) { self->onBody(ec2); });
  }

  void onBody(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return sendError(413, "payload_too_large", "the body is larger than " + std::to_string(limit_) + " bytes", true);
    }
    if (malformed(ec)) {
      return sendError(400, "bad_request", "malformed HTTP request body: " + ec.message(), true);
    }
    if (ec) return close(ec);
    started_ = std::chrono::steady_clock::now();
    auto msg = parser_->release();
    request_.body = std::move(msg.body());
    keepAlive_ = msg.keep_alive() && !server_.stopping;
    head_ = msg.method() == bhttp::verb::head;
    version_ = msg.version();
    method_ = request_.method;
    path_ = request_.path;

    // The responder holds the session (it waits with no IO of its own);
    // stop() takes that hold back from every waiting responder before the
    // IO threads end, and a delivery in progress finishes first (State::
    // send), so no connection outlives its server's IO objects.
    Responder responder = Responder::to([self = shared_from_this()](Response res) { self->answer(std::move(res)); });
    responder.state()->errorShape = server_.service->errorShape();
    server_.track(responder.state());
    // (After it is tracked: either stop() sees this responder and takes it
    // back, or this sees stop() and answers itself.)
    if (server_.detaching.load()) {
      responder.state()->take();
      return sendError(503, "unavailable", "the server is stopping", true);
    }
    tlServing = this;
    try {
      server_.service->serve(request_, responder);
    } catch (const std::exception& e) {
      responder.send(Response::error(500, "internal", std::string("internal error: ") + e.what(), server_.service->errorShape()));
    }
    responder = Responder(nullptr);  // a handler that kept no copy and sent nothing: its 500 is sent now
    tlServing = nullptr;
    if (syncAnswer_) {
      Response res = std::move(*syncAnswer_);
      syncAnswer_.reset();
      send(std::move(res));
    }
  }

  void sendError(int status, std::string_view code, std::string_view message, bool closeAfter) {
    setBusy(true);
    keepAlive_ = !closeAfter;
    version_ = 11;
    head_ = false;
    started_ = std::chrono::steady_clock::now();
    method_ = parser_ ? std::string(parser_->get().method_string()) : "";
    path_ = parser_ ? std::string(parser_->get().target()) : "";
    if (!isUtf8(path_)) path_ = "(not UTF-8)";
    send(Response::error(status, code, message, server_.service->errorShape()));
  }

  void send(Response res) {
    if (auto problem = responseProblem(res)) {
      server_.problem("an invalid response to " + method_ + " " + path_ + " was replaced by a 500: " + *problem);
      res = Response::error(500, "internal", "the server produced an invalid response: " + *problem, server_.service->errorShape());
    }
    status_ = res.status;
    route_ = res.header("X-Route");
    const bool noBody = head_ || statusForbidsBody(res.status);
    auto fill = [&](auto& out) {
      out.version(version_);
      out.result(static_cast<unsigned>(res.status));
      for (auto& [k, v] : res.headers) {
        if (k != "X-Route") out.insert(k, v);  // a header given twice goes twice (Set-Cookie); Response::set replaces
      }
      out.set(bhttp::field::server, "patchbay");
      out.keep_alive(keepAlive_);
    };
    stream_.expires_after(server_.options.readTimeout);
    if (res.file && !statusForbidsBody(res.status)) {
      // Header, then the file with sendfile(2). The socket is corked in
      // between so that the header and the first bytes share packets.
      file_ = std::move(res.file);
      response_.emplace();
      fill(*response_);
      response_->content_length(file_->length);
      bytes_ = head_ ? 0 : file_->length;
      serializer_.emplace(*response_);
      setCork(true);
      bhttp::async_write_header(stream_, *serializer_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->close(ec);
        if (self->head_ || self->file_->length == 0) {
          self->setCork(false);
          return self->finish();
        }
        self->sendFile();
      });
      return;
    }
    // Header and body in one gathered write.
    textResponse_.emplace();
    fill(*textResponse_);
    bytes_ = noBody ? 0 : res.body.size();
    if (res.status == 204) {
      textResponse_->erase(bhttp::field::content_length);  // RFC 9110 §8.6: never on a 204
    } else if (res.status != 304) {
      textResponse_->content_length(res.body.size());
    }
    if (!noBody) textResponse_->body() = std::move(res.body);
    if (noBody) {
      textSerializerHead_.emplace(*textResponse_);
      bhttp::async_write_header(stream_, *textSerializerHead_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->close(ec);
        self->finish();
      });
      return;
    }
    bhttp::async_write(stream_, *textResponse_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close(ec);
      self->finish();
    });
  }
  void setCork(bool on) {
    int value = on ? 1 : 0;
    ::setsockopt(stream_.socket().native_handle(), IPPROTO_TCP, TCP_CORK, &value, sizeof value);
  }

  // Sends the file part with sendfile(2), waiting for the socket when the
  // kernel's buffer is full.
  void sendFile() {
    if (fd_ < 0) {
      fd_ = ::open(file_->path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) return close(beast::error_code(errno, boost::system::system_category()));
      offset_ = static_cast<off_t>(file_->offset);
      remaining_ = file_->length;
      stream_.socket().native_non_blocking(true);
    }
    while (remaining_ > 0) {
      ssize_t n = ::sendfile(stream_.socket().native_handle(), fd_, &offset_, std::min<uint64_t>(remaining_, 1 << 20));
      if (n > 0) {
        remaining_ -= static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        stream_.expires_after(server_.options.readTimeout);
        stream_.socket().async_wait(tcp::socket::wait_write, [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->close(ec);
          self->sendFile();
        });
        return;
      }
      return close(beast::error_code(n < 0 ? errno : EIO, boost::system::system_category()));  // file shrank or socket died
    }
    ::close(fd_);
    fd_ = -1;
    setCork(false);
    finish();
  }

  void finish() {
    logAccess();
    serializer_.reset();
    response_.reset();
    textSerializerHead_.reset();
    textResponse_.reset();
    file_.reset();
    setBusy(false);
    if (!keepAlive_ || server_.stopping) return lingeringClose();
    readHeader(false);
  }

  // Closing a socket that still holds unread request bytes makes the kernel
  // send a reset, and the client may lose the response it was just sent
  // (a 413, say). So: stop sending, read and discard for a moment (2 s at
  // most, and at most kMaxDrainBytes: a body refused at 16 MiB may still be
  // on its way in full), close.
  static constexpr size_t kMaxDrainBytes = size_t{64} << 20;
  void lingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close(ec);
    drained_ = 0;
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kMaxDrainBytes) return self->close(ec);
      self->drain();
    });
  }

  void logAccess() {
    if (!server_.options.onAccess) return;
    AccessRecord r;
    r.method = method_;
    r.path = path_;
    r.route = route_;
    r.status = status_;
    r.bytes = bytes_;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    r.remoteAddress = remote_;
    server_.options.onAccess(r);
  }

  void setBusy(bool busy) {
    if (busy == busy_) return;
    busy_ = busy;
    std::lock_guard lock(server_.mutex);
    if (busy) ++server_.busy;
    else --server_.busy;
    server_.drained.notify_all();
  }

  void close(beast::error_code) {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    setBusy(false);
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::array<char, 16384> scratch_;
  size_t drained_ = 0;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;     // the one being read or served
  uint64_t limit_ = 0;  // its body limit
  std::optional<Response> syncAnswer_;  // an answer given during serve()
  std::optional<bhttp::response<bhttp::empty_body>> response_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer_;
  std::optional<bhttp::response<bhttp::string_body>> textResponse_;
  std::optional<bhttp::response_serializer<bhttp::string_body>> textSerializerHead_;
  std::optional<FileBody> file_;
  int fd_ = -1;
  off_t offset_ = 0;
  uint64_t remaining_ = 0;
  std::string remote_, method_, path_, route_;
  int status_ = 0;
  uint64_t bytes_ = 0;
  unsigned version_ = 11;
  bool keepAlive_ = true, head_ = false, busy_ = false;
  std::chrono::steady_clock::time_point started_;
};

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (!ec) {
      std::make_shared<Session>(std::move(socket), *this)->start();
      return accept();
    }
    if (ec == asio::error::operation_aborted) return;
    // Out of file descriptors (or memory for sockets): the pending
    // connection stays queued, so accepting again at once fails again at
    // once, a busy loop. Wait a moment (connections closing free
    // descriptors) and say so, at most once a second.
    auto now = std::chrono::steady_clock::now();
    if (now - lastAcceptProblem > std::chrono::seconds(1)) {
      lastAcceptProblem = now;
      problem("cannot accept connections: " + ec.message() + "; retrying in 100 ms");
    }
    acceptRetry.expires_after(std::chrono::milliseconds(100));
    acceptRetry.async_wait([this](beast::error_code waitEc) {
      if (!waitEc && !stopping) accept();
    });
  });
}

Server::Server(ServerOptions options, const Service& service) : impl_(std::make_unique<Impl>(std::move(options), &service)) {}

Server::Server(ServerOptions options, Handler handler) : impl_(std::make_unique<Impl>(std::move(options), nullptr)) {
  impl_->ownedService = std::make_unique<HandlerService>(std::move(handler));
  impl_->service = impl_->ownedService.get();
}

Server::~Server() { stop(); }

Status Server::start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) return Error::invalid("\"" + impl_->options.address + "\" is not an IP address");
  tcp::endpoint ep(address, impl_->options.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error::io("cannot listen on " + impl_->options.address + ":" + std::to_string(impl_->options.port) + ": " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->accept();
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) impl_->threads.emplace_back([this] {
      pthread_setname_np(pthread_self(), "pb-http");  // as top -H and perf show it
      impl_->ioc.run();
    });
  impl_->webSocketWork.emplace(impl_->webSocketIoc.get_executor());
  impl_->webSockets.gate()->thread = impl_->webSocketIoc.get_executor();
  impl_->webSocketThread = std::thread([this] {
    pthread_setname_np(pthread_self(), "pb-websockets");
    impl_->webSocketIoc.run();
  });
  return {};
}

uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping = true;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->acceptRetry.cancel();
  });
  // Take references under the lock (a session may be mid-destruction: its
  // weak pointer is then empty), act on them outside it (dropping the last
  // reference runs the destructor, which takes the lock).
  auto liveSessions = [this] {
    std::vector<std::shared_ptr<Session>> live;
    std::lock_guard lock(impl_->mutex);
    for (Session* s : impl_->sessions) {
      if (auto sp = s->weak_from_this().lock()) live.push_back(std::move(sp));
    }
    return live;
  };
  for (auto& s : liveSessions()) s->shutdownIfIdle();
  impl_->webSockets.closeAll(std::chrono::duration_cast<std::chrono::milliseconds>(impl_->options.drainTimeout));
  impl_->webSocketWork.reset();
  impl_->webSocketIoc.stop();
  if (impl_->webSocketThread.joinable()) impl_->webSocketThread.join();
  {
    std::unique_lock lock(impl_->mutex);
    impl_->drained.wait_for(lock, impl_->options.drainTimeout, [this] { return impl_->sessions.empty(); });
  }
  // Requests still waiting for an answer will not get one from us.
  impl_->detaching = true;
  impl_->detachResponders();
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->detachResponders();  // any the IO threads made while they ended
}

}  // namespace patchbay::http
