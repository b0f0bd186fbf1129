// The HTTP server against clients good and bad, over real loopback sockets.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <atomic>
#include <thread>

#include "patchbay/http.h"
#include "patchbay/http_client.h"
#include "support/hostile_requests.h"
#include "support/raw_http.h"

namespace patchbay {
namespace {

using namespace std::chrono_literals;

// What a server reports through onProblem, collected.
struct ProblemLog {
  std::mutex mutex;
  std::vector<std::string> lines;
  void attach(http::ServerOptions& options) {
    options.onProblem = [this](const std::string& p) {
      std::lock_guard lock(mutex);
      lines.push_back(p);
    };
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

// Responders kept by a handler that answers later, when the test says so.
struct Parked {
  std::mutex mutex;
  std::vector<http::Responder> waiting;
  http::AsyncHandler handler() {
    return [this](http::Request&, http::Responder done) {
      std::lock_guard lock(mutex);
      waiting.push_back(std::move(done));
    };
  }
  size_t count() {
    std::lock_guard lock(mutex);
    return waiting.size();
  }
  // Waits (up to a second) until `n` requests are parked.
  void waitFor(size_t n) {
    for (int i = 0; i < 200 && count() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void answerAll(const http::Response& response) {
    std::lock_guard lock(mutex);
    for (auto& done : waiting) {
      done.send(response);
      done.send(http::Response::text(500, "ignored"));  // the first answer counts
    }
    waiting.clear();
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/hello/{name}", [](http::Request& r) { return http::Response::text(200, "hello " + r.params["name"]); });
    router_.add("POST", "/echo", [](http::Request& r) { return http::Response::text(200, r.body); });
    router_.add("GET", "/slow", [](http::Request&) {
      std::this_thread::sleep_for(400ms);
      return http::Response::text(200, "finished");
    });
    router_.add("GET", "/boom", [](http::Request&) -> http::Response { throw std::runtime_error("kaput"); });
  }
  void start(http::ServerOptions options = {}) {
    options.maxBodyBytes = options.maxBodyBytes == (1u << 20) ? 1024 : options.maxBodyBytes;
    server_ = std::make_unique<http::Server>(options, router_);
    ASSERT_TRUE(server_->start().ok());
  }
  std::string url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(HttpServerTest, RoutesParamsAndErrors) {
  start();
  auto r = http::fetch({.url = url("/hello/w%6Frld")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  auto missing = http::fetch({.url = url("/nothing/here")});
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"error":{"code":"not_found","message":"no such endpoint: /nothing/here"}})");
  auto wrongMethod = http::fetch({.method = "DELETE", .url = url("/hello/x")});
  EXPECT_EQ(wrongMethod->status, 405);
  EXPECT_EQ(wrongMethod->header("allow"), "GET");
  auto boom = http::fetch({.url = url("/boom")});
  EXPECT_EQ(boom->status, 500);
  EXPECT_NE(boom->body.find("kaput"), std::string::npos);
  auto head = http::fetch({.method = "HEAD", .url = url("/hello/x")});
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "7");
  EXPECT_EQ(head->body, "");
}

// A page fallback (a single-page app's shell) answers GET and HEAD of
// paths no route knows; other methods still get 404, and a known path with
// another method still gets 405.
TEST_F(HttpServerTest, ThePageFallbackAnswersOnlyUnknownGets) {
  router_.setPageFallback([](http::Request& request) { return http::Response::text(200, "shell for " + request.path); });
  start();
  auto page = http::fetch({.url = url("/billing/invoices")});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, "shell for /billing/invoices");
  auto head = http::fetch({.method = "HEAD", .url = url("/billing")});
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(http::fetch({.method = "POST", .url = url("/billing")})->status, 404);
  auto wrongMethod = http::fetch({.method = "DELETE", .url = url("/hello/x")});
  EXPECT_EQ(wrongMethod->status, 405);
  EXPECT_EQ(http::fetch({.url = url("/hello/there")})->body, "hello there") << "routes first";
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  auto ex = test::rawHttp(server_->port(),
                          "GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ex.received.find("hello a"), std::string::npos);
  EXPECT_NE(ex.received.find("hello b"), std::string::npos);
  EXPECT_TRUE(ex.closedByServer);
}

TEST_F(HttpServerTest, OversizedBodiesGet413) {
  start();
  auto big = http::fetch({.method = "POST", .url = url("/echo"), .body = std::string(2000, 'x')});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(big->body.find("payload_too_large"), std::string::npos);
  auto small = http::fetch({.method = "POST", .url = url("/echo"), .body = "ok"});
  EXPECT_EQ(small->body, "ok");
  // Chunked, with no length announced: the limit still holds.
  std::string chunk(1500, 'y');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  auto chunked = test::rawHttp(server_->port(), "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                                    std::string(size) + "\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_NE(chunked.received.find("413"), std::string::npos) << chunked.received;
}

// Requests that arrive together (pipelined: one packet with several heads
// and bodies, read with the first head) are answered in order, each with
// its own body, whether sized or chunked.
TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrderWithTheirOwnBodies) {
  start();
  auto ex = test::rawHttp(server_->port(),
                          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                          "GET /hello/second HTTP/1.1\r\nHost: x\r\n\r\n"
                          "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nthi\r\n2\r\nrd\r\n0\r\n\r\n"
                          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\nfourth");
  const std::string& got = ex.received;
  size_t answers = 0;
  for (size_t at = got.find("HTTP/1.1 200"); at != std::string::npos; at = got.find("HTTP/1.1 200", at + 1)) ++answers;
  EXPECT_EQ(answers, 4u) << got;
  const size_t first = got.find("\r\n\r\nfirst"), second = got.find("hello second"), third = got.find("\r\n\r\nthird"),
               fourth = got.find("\r\n\r\nfourth");
  ASSERT_NE(first, std::string::npos) << got;
  ASSERT_NE(second, std::string::npos) << got;
  ASSERT_NE(third, std::string::npos) << got;
  ASSERT_NE(fourth, std::string::npos) << got;
  EXPECT_TRUE(first < second && second < third && third < fourth) << got;
  EXPECT_TRUE(ex.closedByServer);
}

TEST_F(HttpServerTest, ContentLengthWithTransferEncodingIsRefusedAndClosed) {
  start();
  auto ex = test::rawHttp(server_->port(),
                          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ex.received.rfind("HTTP/1.1 400", 0), 0u) << ex.received;
  EXPECT_EQ(ex.received.find("smuggled"), std::string::npos) << "a smuggled request was answered";
  EXPECT_TRUE(ex.closedByServer);
}

TEST_F(HttpServerTest, MalformedRequestsAndHugeHeaders) {
  start();
  auto garbage = test::rawHttp(server_->port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_TRUE(garbage.closedByServer);
  EXPECT_EQ(garbage.received.find("200"), std::string::npos);
  auto huge = test::rawHttp(server_->port(), "GET /hello/a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n");
  EXPECT_TRUE(huge.closedByServer);
  EXPECT_EQ(huge.received.find("hello a"), std::string::npos);
  // The server is still fine.
  EXPECT_EQ(http::fetch({.url = url("/hello/after")})->body, "hello after");
}

TEST_F(HttpServerTest, SlowClientsAreCutOff) {
  http::ServerOptions options;
  options.readTimeout = 1s;
  options.idleTimeout = 1s;
  start(options);
  auto start = std::chrono::steady_clock::now();
  auto ex = test::rawHttp(server_->port(), "GET /hello/a HTTP/1.1\r\nHost: x\r\n", 5000ms);  // never finishes its headers
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ex.closedByServer);
  EXPECT_LT(waited, 4s);
}

TEST_F(HttpServerTest, StopLetsInFlightRequestsFinish) {
  start();
  std::atomic<int> status{0};
  std::string body;
  std::thread client([&] {
    auto r = http::fetch({.url = url("/slow")});
    if (r) {
      status = r->status;
      body = r->body;
    }
  });
  std::this_thread::sleep_for(150ms);
  server_->stop();
  client.join();
  EXPECT_EQ(status.load(), 200);
  EXPECT_EQ(body, "finished");
  auto after = http::fetch({.url = url("/hello/x"), .timeout = 2000ms});
  EXPECT_FALSE(after.ok());  // no longer listening
}

TEST_F(HttpServerTest, AccessLogRecordsEachRequest) {
  std::mutex mutex;
  std::vector<http::AccessRecord> records;
  http::ServerOptions options;
  options.onAccess = [&](const http::AccessRecord& r) {
    std::lock_guard lock(mutex);
    records.push_back(r);
  };
  start(options);
  (void)http::fetch({.url = url("/hello/x")});
  (void)http::fetch({.url = url("/missing")});
  server_->stop();
  ASSERT_EQ(records.size(), 2u);
  // Two threads serve: the records may come in either order.
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  EXPECT_EQ(records[0].status, 200);
  EXPECT_EQ(records[0].path, "/hello/x");
  EXPECT_EQ(records[0].bytes, 7u);
  EXPECT_EQ(records[1].status, 404);
}

// Every hostile request of the shared corpus is refused with its status and
// the connection closed; nothing smuggled behind it is served; a normal
// request on a new connection is served right after.
TEST_F(HttpServerTest, HostileRequestsAreRefusedAndCostNothingAfter) {
  start();
  test::expectHostileRequestsRefused(server_->port(), "/hello/a", [&] {
    auto after = http::fetch({.url = url("/hello/after")});
    return after.ok() && after->body == "hello after";
  });
}

TEST_F(HttpServerTest, HttpOneZeroNeedsNoHostAndUtf8TextIsServed) {
  start();
  auto old = test::rawHttp(server_->port(), "GET /hello/a HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.received.rfind("HTTP/1.0 200", 0), 0u) << old.received;
  auto text = http::fetch({.url = url("/hello/%C3%A9t%C3%A9?x=%E2%82%AC"), .headers = {{"X-Name", "\xc3\xa9t\xc3\xa9"}}});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->body, "hello \xc3\xa9t\xc3\xa9");
}

TEST_F(HttpServerTest, BinaryBodiesReachHandlersAsTheyAre) {
  start();
  std::string bytes = std::string("\x00\xff\xfe binary \x80", 12);
  auto r = http::fetch({.method = "POST", .url = url("/echo"), .body = bytes});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, bytes);
}

TEST_F(HttpServerTest, EachRouteDecidesItsBodyLimitBeforeTheBodyIsRead) {
  router_.add("POST", "/big", [](http::Request& r) { return http::Response::text(200, std::to_string(r.body.size())); },
              {.maxBodyBytes = 4096});
  router_.add("POST", "/by/{size}", [](http::Request& r) { return http::Response::text(200, std::to_string(r.body.size())); },
              {.decide = [](const http::Request& head) { return std::stoull(head.params.at("size")); }});
  start();  // the server's default: 1024 bytes (see start())
  EXPECT_EQ(http::fetch({.method = "POST", .url = url("/echo"), .body = std::string(2000, 'x')})->status, 413);
  EXPECT_EQ(http::fetch({.method = "POST", .url = url("/big"), .body = std::string(2000, 'x')})->body, "2000");
  EXPECT_EQ(http::fetch({.method = "POST", .url = url("/big"), .body = std::string(5000, 'x')})->status, 413);
  EXPECT_EQ(http::fetch({.method = "POST", .url = url("/by/10"), .body = std::string(11, 'x')})->status, 413);
  EXPECT_EQ(http::fetch({.method = "POST", .url = url("/by/10"), .body = std::string(10, 'x')})->body, "10");
  // A client that waits for 100 Continue hears the refusal before it sends.
  auto refused = test::rawHttp(server_->port(), "POST /by/10 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(refused.received.rfind("HTTP/1.1 413", 0), 0u) << refused.received;
  auto accepted = test::rawHttp(server_->port(), "POST /by/10 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", 1000ms);
  EXPECT_EQ(accepted.received.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << accepted.received;
}

// A handler that waits answers later through its Responder, from another
// thread; the IO thread serves other connections meanwhile.
TEST_F(HttpServerTest, AsyncHandlersHoldNoIoThreadWhileTheyWait) {
  Parked parked;
  router_.addAsync("GET", "/later", parked.handler());
  router_.addAsync("GET", "/now", [](http::Request&, http::Responder done) { done.send(http::Response::text(200, "now")); });
  router_.addAsync("GET", "/dropped", [](http::Request&, http::Responder) {});
  http::ServerOptions options;
  options.threads = 1;
  start(options);
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      auto r = http::fetch({.url = url("/later")});
      if (r && r->status == 200 && r->body == "later") ++answered;
    });
  }
  parked.waitFor(8);
  const auto before = std::chrono::steady_clock::now();
  auto now = http::fetch({.url = url("/now")});
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s) << "the one IO thread was held by waiting requests";
  EXPECT_EQ(now->body, "now");
  EXPECT_EQ(http::fetch({.url = url("/hello/x")})->body, "hello x");
  std::thread answerer([&] { parked.answerAll(http::Response::text(200, "later")); });  // from another thread
  answerer.join();
  for (auto& c : clients) c.join();
  EXPECT_EQ(answered.load(), 8);
  // A handler that dropped its Responder without answering: a 500, not a hang.
  auto dropped = http::fetch({.url = url("/dropped"), .timeout = 2000ms});
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->status, 500);
}

TEST_F(HttpServerTest, StopDetachesRequestsStillWaitingAndLateAnswersGoNowhere) {
  Parked parked;
  router_.addAsync("GET", "/never", parked.handler());
  http::ServerOptions options;
  options.drainTimeout = 1s;
  start(options);
  std::thread client([&] { (void)http::fetch({.url = url("/never"), .timeout = 3000ms}); });
  parked.waitFor(1);
  const auto before = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  server_.reset();  // the server is gone; its waiting request must not reach into it
  parked.answerAll(http::Response::text(200, "too late"));
  client.join();
}

// What a handler answers goes out only as valid HTTP: no CR/LF smuggled into
// headers, no 1xx as a final answer, no body where the status forbids one.
TEST_F(HttpServerTest, InvalidResponsesBecome500AndBodilessStatusesSendNoBody) {
  router_.add("GET", "/crlf", [](http::Request&) {
    return http::Response::text(200, "x").set("Location", "/x\r\nSet-Cookie: s=1");
  });
  router_.add("GET", "/badname", [](http::Request&) { return http::Response::text(200, "x").set("Bad Name", "v"); });
  router_.add("GET", "/status/{code}", [](http::Request& r) { return http::Response::text(std::stoi(r.params["code"]), "a body"); });
  ProblemLog problems;
  http::ServerOptions options;
  problems.attach(options);
  start(options);
  auto crlf = test::rawHttp(server_->port(), "GET /crlf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(crlf.received.rfind("HTTP/1.1 500", 0), 0u) << crlf.received;
  EXPECT_EQ(crlf.received.find("Set-Cookie"), std::string::npos) << crlf.received;
  EXPECT_EQ(http::fetch({.url = url("/badname")})->status, 500);
  for (const char* code : {"101", "100", "99", "600"}) {
    EXPECT_EQ(http::fetch({.url = url(std::string("/status/") + code)})->status, 500) << code;
  }
  for (const char* code : {"204", "304"}) {
    auto ex = test::rawHttp(server_->port(), std::string("GET /status/") + code + " HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(ex.received.rfind(std::string("HTTP/1.1 ") + code, 0), 0u) << ex.received;
    EXPECT_EQ(ex.received.find("a body"), std::string::npos) << code << ": " << ex.received;
    EXPECT_NE(ex.received.find("hello next"), std::string::npos) << code << ": the next response was lost";
    if (std::string(code) == "204") {
      EXPECT_EQ(ex.received.substr(0, ex.received.find("hello next")).find("Content-Length: 10\r\n\r\nhello"), std::string::npos);
      EXPECT_EQ(ex.received.substr(0, ex.received.find("HTTP/1.1 200")).find("Content-Length"), std::string::npos) << ex.received;
    }
  }
  EXPECT_GE(problems.all().size(), 3u);
}

// Out of file descriptors, accept() fails at once for as long as the
// connection waits: the server backs off and says so instead of spinning.
TEST_F(HttpServerTest, RunningOutOfFileDescriptorsBacksOffAndRecovers) {
  ProblemLog problems;
  http::ServerOptions options;
  problems.attach(options);
  start(options);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);  // made before the descriptors run out
  ASSERT_GE(client, 0);
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  rlimit low = original;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> held;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) held.push_back(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(1s);
  ::getrusage(RUSAGE_SELF, &after);
  auto cpu = [](const rusage& u) { return std::chrono::seconds(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + std::chrono::microseconds(u.ru_utime.tv_usec + u.ru_stime.tv_usec); };
  EXPECT_LT(cpu(after) - cpu(before), 200ms) << "the accept loop spins while out of descriptors";
  const auto reported = problems.all();
  ASSERT_FALSE(reported.empty());
  EXPECT_NE(reported.front().find("cannot accept"), std::string::npos) << reported.front();
  // Descriptors come back: the queued connection is served.
  for (int fd : held) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &original), 0);
  const std::string request = "GET /hello/back HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(client, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string received;
  char buf[4096];
  pollfd p{client, POLLIN, 0};
  while (::poll(&p, 1, 3000) > 0) {
    ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) break;
    received.append(buf, static_cast<size_t>(n));
  }
  ::close(client);
  EXPECT_NE(received.find("hello back"), std::string::npos) << received;
}

}  // namespace
}  // namespace patchbay
