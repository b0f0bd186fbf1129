// WebSocket routes over real loopback connections: the handshake and its
// refusals, messages both ways, a client that stops reading is cut off
// without slowing the others, and stopping the server ends every connection.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "patchbay/http.h"
#include "patchbay/http_client.h"
#include "support/websocket_client.h"

namespace patchbay {
namespace {

using test::WebSocketClient;

struct Echo {
  std::mutex mu;
  std::vector<std::shared_ptr<http::WebSocket>> sockets;
  std::atomic<int> closed{0};
};

std::unique_ptr<http::Router> echoRouter(Echo& echo, http::WebSocketOptions options = {}) {
  auto router = std::make_unique<http::Router>();
  router->addWebSocket("/echo/{name}", [&echo](http::Request& request, const std::shared_ptr<http::WebSocket>& socket)
                                            -> std::variant<http::Response, http::WebSocketHandlers> {
    if (request.header("x-let-me-in") != "yes") return http::Response::json(401, R"({"error":"No token provided"})");
    {
      std::lock_guard lock(echo.mu);
      echo.sockets.push_back(socket);
    }
    socket->send("hello " + request.params["name"]);  // before the handshake ends: goes out after it
    std::weak_ptr<http::WebSocket> weak = socket;
    return http::WebSocketHandlers{[weak](const std::string& text) {
                                     if (auto s = weak.lock()) s->send("echo: " + text);
                                   },
                                   [&echo] { ++echo.closed; }};
  }, options);
  return router;
}

TEST(HttpWebSocket, AcceptedConnectionsTalkBothWays) {
  Echo echo;
  auto router = echoRouter(echo);
  http::Server server({}, *router);
  ASSERT_TRUE(server.start().ok());
  auto client = WebSocketClient::connect(server.port(), "/echo/ada", {{"X-Let-Me-In", "yes"}});
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_EQ((*client)->read(), "hello ada");
  ASSERT_TRUE((*client)->write("ping 1").ok());
  EXPECT_EQ((*client)->read(), "echo: ping 1");
  ASSERT_TRUE((*client)->write(std::string(1000, 'x')).ok());
  EXPECT_EQ((*client)->read()->size(), 1006u);
}

TEST(HttpWebSocket, RefusalsAreHttpAnswers) {
  Echo echo;
  auto router = echoRouter(echo);
  http::Server server({}, *router);
  ASSERT_TRUE(server.start().ok());
  auto refused = WebSocketClient::connect(server.port(), "/echo/ada");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("401"), std::string::npos) << refused.error().message;
  auto unknown = WebSocketClient::connect(server.port(), "/nowhere", {{"X-Let-Me-In", "yes"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("404"), std::string::npos) << unknown.error().message;
  // A plain GET on a WebSocket endpoint: 426, saying how to connect.
  auto plain = http::fetch({.method = "GET", .url = "http://127.0.0.1:" + std::to_string(server.port()) + "/echo/ada"});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->status, 426);
  EXPECT_NE(plain->body.find("WebSocket"), std::string::npos);
}

TEST(HttpWebSocket, TooLargeMessagesCloseTheConnection) {
  Echo echo;
  auto router = echoRouter(echo, {.maxQueued = 16, .maxMessageBytes = 1024, .pingInterval = std::chrono::seconds(20)});
  http::Server server({}, *router);
  ASSERT_TRUE(server.start().ok());
  auto client = WebSocketClient::connect(server.port(), "/echo/ada", {{"X-Let-Me-In", "yes"}});
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->read(), "hello ada");
  ASSERT_TRUE((*client)->write(std::string(4096, 'x')).ok());
  EXPECT_TRUE((*client)->closedWithin(std::chrono::seconds(5)));
  for (int i = 0; i < 100 && echo.closed == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(echo.closed, 1) << "onClose once";
}

TEST(HttpWebSocket, AClientThatStopsReadingIsCutOffAndDelaysNobody) {
  Echo echo;
  auto router = echoRouter(echo, {.maxQueued = 64, .maxMessageBytes = 1024, .pingInterval = std::chrono::seconds(20)});
  http::Server server({}, *router);
  ASSERT_TRUE(server.start().ok());
  auto slow = WebSocketClient::connect(server.port(), "/echo/slow", {{"X-Let-Me-In", "yes"}});
  auto fast = WebSocketClient::connect(server.port(), "/echo/fast", {{"X-Let-Me-In", "yes"}});
  ASSERT_TRUE(slow.ok() && fast.ok());
  (*slow)->stopReading();
  EXPECT_EQ((*fast)->read(), "hello fast");
  std::shared_ptr<http::WebSocket> slowSocket, fastSocket;
  {
    std::lock_guard lock(echo.mu);
    ASSERT_EQ(echo.sockets.size(), 2u);
    slowSocket = echo.sockets[0];
    fastSocket = echo.sockets[1];
  }
  // 64 KiB messages: the slow client's buffers fill, then its queue; it is cut off.
  const std::string big(64 << 10, 'b');
  bool cut = false;
  for (int i = 0; i < 2000 && !cut; ++i) {
    cut = !slowSocket->send(big);
    ASSERT_TRUE(fastSocket->send("tick " + std::to_string(i)));
    auto got = (*fast)->read(std::chrono::seconds(2));
    ASSERT_EQ(got, "tick " + std::to_string(i)) << "the fast client hears every message at once";
  }
  EXPECT_TRUE(cut) << "the slow client's queue never filled";
  EXPECT_FALSE(slowSocket->isOpen());
  EXPECT_TRUE(fastSocket->isOpen());
}

// A broadcast: one message to the connections of two servers, in order
// with what each was sent before; a closed one and one whose server stopped
// are skipped, and a WebSocket of another kind is sent to one by one.
TEST(HttpWebSocket, SendToEachReachesEveryOpenConnectionOfEveryServer) {
  struct Recorder final : http::WebSocket {
    using WebSocket::send;
    bool send(std::shared_ptr<const std::string> text) override {
      got.push_back(*text);
      return true;
    }
    void close() override {}
    bool isOpen() const override { return true; }
    std::vector<std::string> got;
  };
  Echo echoA, echoB, echoC;
  auto routerA = echoRouter(echoA), routerB = echoRouter(echoB), routerC = echoRouter(echoC);
  http::Server serverA({}, *routerA), serverB({}, *routerB);
  auto serverC = std::make_unique<http::Server>(http::ServerOptions{}, *routerC);
  ASSERT_TRUE(serverA.start().ok() && serverB.start().ok() && serverC->start().ok());
  std::vector<std::unique_ptr<WebSocketClient>> clients;
  for (int i = 0; i < 3; ++i) {
    auto a = WebSocketClient::connect(serverA.port(), "/echo/a" + std::to_string(i), {{"X-Let-Me-In", "yes"}});
    ASSERT_TRUE(a.ok());
    clients.push_back(std::move(*a));
  }
  auto b = WebSocketClient::connect(serverB.port(), "/echo/b", {{"X-Let-Me-In", "yes"}});
  auto gone = WebSocketClient::connect(serverB.port(), "/echo/gone", {{"X-Let-Me-In", "yes"}});
  auto c = WebSocketClient::connect(serverC->port(), "/echo/c", {{"X-Let-Me-In", "yes"}});
  ASSERT_TRUE(b.ok() && gone.ok() && c.ok());
  EXPECT_EQ((*c)->read(), "hello c");
  std::vector<std::shared_ptr<http::WebSocket>> everyone;
  for (auto* echo : {&echoA, &echoB, &echoC}) {
    std::lock_guard lock(echo->mu);
    everyone.insert(everyone.end(), echo->sockets.begin(), echo->sockets.end());
  }
  ASSERT_EQ(everyone.size(), 6u);
  auto recorder = std::make_shared<Recorder>();
  everyone.push_back(recorder);
  everyone[4]->close();  // "gone"
  EXPECT_TRUE((*gone)->closedWithin(std::chrono::seconds(2)));
  serverC->stop();
  for (const auto& s : everyone) s->send("first");
  http::sendToEach(std::make_shared<const http::WebSocketList>(everyone), std::make_shared<const std::string>("to everyone"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(clients[i]->read(), "hello a" + std::to_string(i));
    EXPECT_EQ(clients[i]->read(), "first");
    EXPECT_EQ(clients[i]->read(), "to everyone");
  }
  EXPECT_EQ((*b)->read(), "hello b");
  EXPECT_EQ((*b)->read(), "first");
  EXPECT_EQ((*b)->read(), "to everyone");
  EXPECT_EQ(recorder->got, (std::vector<std::string>{"first", "to everyone"}));
  EXPECT_FALSE(everyone[4]->isOpen());
  EXPECT_FALSE(everyone[5]->isOpen()) << "its server stopped";
}

TEST(HttpWebSocket, StoppingTheServerEndsEveryConnection) {
  Echo echo;
  auto router = echoRouter(echo);
  auto server = std::make_unique<http::Server>(http::ServerOptions{}, *router);
  ASSERT_TRUE(server->start().ok());
  auto a = WebSocketClient::connect(server->port(), "/echo/a", {{"X-Let-Me-In", "yes"}});
  auto b = WebSocketClient::connect(server->port(), "/echo/b", {{"X-Let-Me-In", "yes"}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->read(), "hello a");
  EXPECT_EQ((*b)->read(), "hello b");
  const auto started = std::chrono::steady_clock::now();
  server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3)) << "open WebSockets do not hold the stop";
  EXPECT_EQ(echo.closed, 2);
  EXPECT_TRUE((*a)->closedWithin(std::chrono::seconds(2)));
}

}  // namespace
}  // namespace patchbay
