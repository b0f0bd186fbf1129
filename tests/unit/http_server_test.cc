// The HTTP server against clients good and bad, over real loopback sockets.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "patchbay/http.h"
#include "patchbay/http_client.h"
#include "support/raw_http.h"

namespace patchbay {
namespace {

using namespace std::chrono_literals;

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
    options.maxBodyBytes = options.maxBodyBytes == (50ull << 20) ? 1024 : options.maxBodyBytes;
    server_ = std::make_unique<http::Server>(options, router_.handler());
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

}  // namespace
}  // namespace patchbay
