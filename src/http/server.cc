// The HTTP server: Boost.Beast sessions on an Asio thread pool. The only
// translation unit that includes Beast (it is slow to compile).
#include <netinet/in.h>
#include <netinet/tcp.h>
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

namespace patchbay::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

void parseQuery(std::string_view q, std::map<std::string, std::string>& out) {
  size_t pos = 0;
  while (pos <= q.size() && !q.empty()) {
    size_t amp = q.find('&', pos);
    std::string_view pair = q.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key = percentDecode(pair.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1), true);
      out.emplace(std::move(key), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
}

}  // namespace

class Session;

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  bool stopped = false;
  std::mutex mutex;
  std::condition_variable drained;
  std::set<Session*> sessions;  // guarded by mutex
  size_t busy = 0;              // sessions handling a request; guarded by mutex

  Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}
  void accept();
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
    std::lock_guard lock(server_.mutex);
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

 private:
  void readHeader(bool first) {
    parser_.emplace();
    parser_->header_limit(server_.options.maxHeaderBytes);
    parser_->body_limit(server_.options.maxBodyBytes);
    stream_.expires_after(first ? server_.options.readTimeout : server_.options.idleTimeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  // A parse failure that deserves an answer (not a client that went away).
  static bool malformed(beast::error_code ec) {
    return ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
  }

  void onHeader(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {  // Content-Length above the limit
      return sendError(413, "payload_too_large", "the body is larger than " + std::to_string(server_.options.maxBodyBytes) + " bytes", true);
    }
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
    const auto& req = parser_->get();
    if (req.find(bhttp::field::content_length) != req.end() && req.find(bhttp::field::transfer_encoding) != req.end()) {
      return sendError(400, "bad_request", "a request may not carry both Content-Length and Transfer-Encoding", true);
    }
    if (parser_->content_length() && *parser_->content_length() > server_.options.maxBodyBytes) {
      return sendError(413, "payload_too_large", "the body is larger than " + std::to_string(server_.options.maxBodyBytes) + " bytes", true);
    }
    stream_.expires_after(server_.options.readTimeout);
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec2, size_t) { self->onBody(ec2); });
  }

  void onBody(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return sendError(413, "payload_too_large", "the body is larger than " + std::to_string(server_.options.maxBodyBytes) + " bytes", true);
    }
    if (malformed(ec)) {
      return sendError(400, "bad_request", "malformed HTTP request body: " + ec.message(), true);
    }
    if (ec) return close(ec);
    started_ = std::chrono::steady_clock::now();
    auto msg = parser_->release();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) parseQuery(std::string_view(req.target).substr(q + 1), req.query);
    for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    req.remoteAddress = remote_;
    keepAlive_ = msg.keep_alive() && !server_.stopping;
    head_ = msg.method() == bhttp::verb::head;
    version_ = msg.version();
    method_ = req.method;
    path_ = req.path;
    Response res;
    if (req.target.empty() || req.target[0] != '/') {
      res = Response::error(400, "bad_request", "the request target must start with /");
    } else {
      try {
        res = server_.handler(req);
      } catch (const std::exception& e) {
        res = Response::error(500, "internal", std::string("internal error: ") + e.what());
      }
    }
    send(std::move(res));
  }

  void sendError(int status, std::string_view code, std::string_view message, bool closeAfter) {
    keepAlive_ = !closeAfter;
    version_ = 11;
    started_ = std::chrono::steady_clock::now();
    method_ = parser_ ? std::string(parser_->get().method_string()) : "";
    path_ = parser_ ? std::string(parser_->get().target()) : "";
    send(Response::error(status, code, message));
  }

  void send(Response res) {
    status_ = res.status;
    route_ = res.header("X-Route");
    auto fill = [&](auto& out) {
      out.version(version_);
      out.result(static_cast<unsigned>(res.status));
      for (auto& [k, v] : res.headers) {
        if (k != "X-Route") out.set(k, v);
      }
      out.set(bhttp::field::server, "patchbay");
      out.keep_alive(keepAlive_);
    };
    stream_.expires_after(server_.options.readTimeout);
    if (res.file) {
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
    bytes_ = head_ ? 0 : res.body.size();
    textResponse_->content_length(res.body.size());
    if (!head_) textResponse_->body() = std::move(res.body);
    if (head_) {
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
  // (a 413, say). So: stop sending, read and discard for a moment, close.
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
      if (ec || self->drained_ > (1u << 20)) return self->close(ec);
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
    if (!ec) std::make_shared<Session>(std::move(socket), *this)->start();
    accept();
  });
}

Server::Server(ServerOptions options, Handler handler) : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

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
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
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
  });
  // Take references under the lock (a session may be mid-destruction: its
  // weak pointer is then empty), act on them outside it (dropping the last
  // reference runs the destructor, which takes the lock).
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(impl_->mutex);
    for (Session* s : impl_->sessions) {
      if (auto sp = s->weak_from_this().lock()) live.push_back(std::move(sp));
    }
  }
  for (auto& s : live) s->shutdownIfIdle();
  live.clear();
  {
    std::unique_lock lock(impl_->mutex);
    impl_->drained.wait_for(lock, impl_->options.drainTimeout, [this] { return impl_->sessions.empty(); });
  }
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace patchbay::http
