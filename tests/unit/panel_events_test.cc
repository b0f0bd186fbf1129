// The panel's live events over a real WebSocket: who may connect (session
// cookie with the panel's Origin, or Bearer), what each connection hears
// (only servers its user may see), plugins.changed, the ws:message hook,
// and a session that ends closing its connections.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/panel_harness.h"
#include "support/websocket_client.h"

namespace patchbay {
namespace {

using nlohmann::json;
using test::WebSocketClient;

class PanelEventsTest : public test::PanelHarness {
 protected:
  void SetUp() override {
    start({.eventsHeartbeat = std::chrono::milliseconds(300)},
          {.startDelay = std::chrono::milliseconds(100), .stopDelay = std::chrono::milliseconds(100), .usageInterval = std::chrono::milliseconds(100)});
    admin_ = registered("admin_user");
    alice_ = registered("alice");
    bob_ = registered("bob");
  }
  std::unique_ptr<WebSocketClient> events(const std::string& token) {
    auto c = WebSocketClient::connect(server_->port(), "/api/events", {{"Authorization", "Bearer " + token}});
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c.ok()) return nullptr;
    auto hello = (*c)->read();
    EXPECT_TRUE(hello && json::parse(*hello)["type"] == "hello") << hello.value_or("(nothing)");
    return std::move(*c);
  }
  // The next message of `type` within 5 s (others are skipped).
  static std::optional<json> next(WebSocketClient& c, const std::string& type, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto text = c.read(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!text) return std::nullopt;
      json m = json::parse(*text);
      if (m["type"] == type) return m;
    }
    return std::nullopt;
  }
  std::string admin_, alice_, bob_;
};

TEST_F(PanelEventsTest, StatusAndUsageReachTheOwnerAndAdministratorsOnly) {
  auto alice = events(alice_);
  auto bob = events(bob_);
  auto admin = events(admin_);
  ASSERT_TRUE(alice && bob && admin);
  auto made = as(alice_, "POST", "/api/servers", R"({"name":"Live"})");
  const std::string id = body(made)["server"]["id"];
  // Alice's tab shows the server: it gets its usage and log lines too; the admin's shows a list.
  ASSERT_TRUE(alice->write(json{{"type", "subscribe"}, {"path", "/servers/" + id + "/console"}}.dump()).ok());
  ASSERT_TRUE(admin->write(R"({"type":"subscribe","path":"/admin/servers"})").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"start"})").status, 200);
  auto starting = next(*alice, "server.status");
  ASSERT_TRUE(starting);
  EXPECT_EQ((*starting)["server"]["status"], "starting");
  EXPECT_EQ((*starting)["server"]["id"], id);
  auto line = next(*alice, "server.log");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["serverId"], id);
  EXPECT_EQ((*line)["line"]["text"], "Starting the server");
  auto running = next(*alice, "server.status");
  ASSERT_TRUE(running);
  EXPECT_EQ((*running)["server"]["status"], "running");
  auto usage = next(*alice, "server.usage");
  ASSERT_TRUE(usage);
  EXPECT_EQ((*usage)["serverId"], id);
  EXPECT_TRUE((*usage)["usage"].contains("cpu"));
  // The admin's list gets status changes, not every usage report.
  bool adminStatus = false, adminUsage = false;
  for (int i = 0; i < 20; ++i) {
    auto m = admin->read(std::chrono::milliseconds(200));
    if (!m) break;
    const std::string type = json::parse(*m)["type"];
    adminStatus = adminStatus || type == "server.status";
    adminUsage = adminUsage || type == "server.usage" || type == "server.log";
  }
  EXPECT_TRUE(adminStatus) << "administrators see every server's status";
  EXPECT_FALSE(adminUsage) << "usage and log lines go to tabs showing the server only";
  // Bob hears heartbeats, never Alice's server.
  for (int i = 0; i < 3; ++i) {
    auto m = bob->read(std::chrono::seconds(2));
    ASSERT_TRUE(m);
    EXPECT_EQ(json::parse(*m)["type"], "heartbeat") << *m;
  }
  // Alice's tab moves to the list: the reports stop; back on the server, they come again.
  ASSERT_TRUE(alice->write(R"({"type":"subscribe","path":"/servers"})").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  panel_->pluginsChanged("marker", "before");  // what alice reads after this was sent after she left
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // five usage reports
  panel_->pluginsChanged("marker", "after");
  int usageAway = 0;
  bool before = false;
  for (;;) {
    auto text = alice->read();
    ASSERT_TRUE(text);
    const json m = json::parse(*text);
    if (m["type"] == "plugins.changed") {
      if (m["change"] == "after") break;
      before = true;
    }
    if (before && m["type"] == "server.usage") ++usageAway;
  }
  EXPECT_EQ(usageAway, 0) << "a tab that left the server's page";
  ASSERT_TRUE(alice->write(json{{"type", "subscribe"}, {"path", "/servers/" + id}}.dump()).ok());
  EXPECT_TRUE(next(*alice, "server.usage")) << "a tab back on the server's page";
}

TEST_F(PanelEventsTest, OnlyThePanelsOwnPagesMayConnectWithTheCookie) {
  auto login = call("POST", "/api/auth/login", R"({"username":"alice","password":"password1"})");
  const std::string cookies = cookiesOf(login);
  auto none = WebSocketClient::connect(server_->port(), "/api/events");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("401"), std::string::npos) << none.error().message;
  auto wrongToken = WebSocketClient::connect(server_->port(), "/api/events", {{"Authorization", "Bearer pbs_nope"}});
  EXPECT_NE(wrongToken.error().message.find("401"), std::string::npos);
  // Cross-site WebSocket hijacking: another site's page, the user's cookie.
  auto elsewhere = WebSocketClient::connect(server_->port(), "/api/events", {{"Cookie", cookies}, {"Origin", "https://evil.example"}});
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_NE(elsewhere.error().message.find("403"), std::string::npos) << elsewhere.error().message;
  auto noOrigin = WebSocketClient::connect(server_->port(), "/api/events", {{"Cookie", cookies}});
  ASSERT_FALSE(noOrigin.ok());
  auto own = WebSocketClient::connect(server_->port(), "/api/events", {{"Cookie", cookies}, {"Origin", origin()}});
  ASSERT_TRUE(own.ok()) << own.error().message;
  auto hello = json::parse((*own)->read().value_or("{}"));
  EXPECT_EQ(hello["user"]["username"], "alice");
  EXPECT_EQ(panel_->liveConnections(), 1u);
}

TEST_F(PanelEventsTest, PluginChangesReachEveryTabWithARevision) {
  auto alice = events(alice_);
  auto bob = events(bob_);
  panel_->pluginsChanged("billing", "activated");
  auto a = next(*alice, "plugins.changed");
  auto b = next(*bob, "plugins.changed");
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)["plugin"], "billing");
  EXPECT_EQ((*a)["change"], "activated");
  EXPECT_EQ((*a)["revision"], (*b)["revision"]);
  panel_->pluginsChanged("billing", "settings");
  auto again = next(*alice, "plugins.changed");
  ASSERT_TRUE(again);
  EXPECT_GT((*again)["revision"].get<int>(), (*a)["revision"].get<int>());
}

TEST_F(PanelEventsTest, MessagesFromTheBrowserBecomeWsMessageHooks) {
  auto alice = events(alice_);
  ASSERT_TRUE(alice->write(R"({"type":"subscribe","page":"dashboard"})").ok());
  auto hook = waitForHook("ws:message");
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->context["user"]["username"], "alice");
  EXPECT_EQ(hook->context["message"]["page"], "dashboard");
  ASSERT_TRUE(alice->write("not json").ok());
  auto text = waitForHook("ws:message", [](const json& c) { return c["message"] == "not json"; });
  EXPECT_TRUE(text) << "a message that is not JSON comes as its text";
}

TEST_F(PanelEventsTest, AnEndedSessionClosesItsConnections) {
  auto alice = events(alice_);
  auto bob = events(bob_);
  ASSERT_EQ(as(alice_, "POST", "/api/auth/logout").status, 200);
  EXPECT_TRUE(next(*alice, "session.ended", std::chrono::seconds(3)));
  EXPECT_TRUE(alice->closedWithin(std::chrono::seconds(3)));
  EXPECT_TRUE(next(*bob, "heartbeat")) << "others stay";
}

}  // namespace
}  // namespace patchbay
