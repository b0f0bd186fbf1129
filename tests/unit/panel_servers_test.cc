// The panel's servers and nodes over real HTTP: Sodium's /api/servers
// shapes and texts, the simulated state machine and usage reports, who may
// see and act on what, and the hook points each action sets off (recorded
// by the harness; the example plugins' own run in the host tests).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/panel_harness.h"

namespace patchbay {
namespace {

using nlohmann::json;

class PanelServersTest : public test::PanelHarness {
 protected:
  void SetUp() override {
    start({}, {.startDelay = std::chrono::milliseconds(150), .stopDelay = std::chrono::milliseconds(100), .usageInterval = std::chrono::milliseconds(100)});
    admin_ = registered("admin_user");  // the first user administers
    alice_ = registered("alice");
    bob_ = registered("bob");
  }
  json created(const std::string& token, const std::string& name) {
    auto r = as(token, "POST", "/api/servers", json{{"name", name}, {"memory", 1024}, {"disk", 2048}, {"cpu", 100}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r)["server"];
  }
  // Polls the server's status until it is `status` (up to 5 s).
  bool reaches(const std::string& token, const std::string& id, const std::string& status) {
    for (int i = 0; i < 500; ++i) {
      if (body(as(token, "GET", "/api/servers/" + id))["server"]["status"] == status) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  std::string admin_, alice_, bob_;
};

TEST_F(PanelServersTest, CreateListAndReadInSodiumsShapes) {
  json server = created(alice_, "Survival");
  EXPECT_EQ(server["name"], "Survival");
  EXPECT_EQ(server["status"], "offline");
  EXPECT_EQ(server["limits"], json::parse(R"({"memory":1024,"disk":2048,"cpu":100})"));
  EXPECT_EQ(server["node_name"], "Local node") << "the first node, made at first start";
  EXPECT_EQ(server["id"], server["uuid"]);
  EXPECT_EQ(server["suspended"], false);

  auto list = as(alice_, "GET", "/api/servers");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(body(list)["servers"].size(), 1u);
  EXPECT_EQ(body(list)["servers"][0]["is_owner"], true);
  EXPECT_EQ(body(as(bob_, "GET", "/api/servers"))["servers"].size(), 0u) << "bob sees his own servers only";

  auto one = as(alice_, "GET", "/api/servers/" + server["id"].get<std::string>());
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_TRUE(body(one)["usage"].is_null()) << "an offline server reports nothing";
  EXPECT_EQ(body(one)["log"][0]["text"], "Server created on node Local node");

  // Defaults as Sodium's; numbers from a form's strings.
  auto defaults = as(alice_, "POST", "/api/servers", R"({"name":"Creative","memory":"768"})");
  ASSERT_EQ(defaults.status, 200) << defaults.body;
  EXPECT_EQ(body(defaults)["server"]["limits"], json::parse(R"({"memory":768,"disk":1024,"cpu":100})"));
}

TEST_F(PanelServersTest, BadRequestsSayWhatIsWrong) {
  struct Case {
    std::string body;
    int status;
    std::string error;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"memory":512})", 400, "Server name required"},
           {R"({"name":"   "})", 400, "Server name is required"},
           {R"({"name":"x","memory":"lots"})", 400, "memory must be a whole number"},
           {R"({"name":"x","memory":64})", 400, "memory must be at least 128 (MiB)"},
           {R"({"name":"x","cpu":0})", 400, "cpu must be between 1 and 1000 (%)"},
           {R"({"name":")" + std::string(51, 'a') + R"("})", 400, "Server name must be 50 characters or less"},
           {R"({"name":"a\u0007b"})", 400, "Server name must not contain control characters"},
           {R"({"name":"x","node_id":"nope"})", 400, "Invalid node"},
           {R"({"name":"x","memory":1000000})", 400, "No available nodes with enough resources"},
           {R"([1,2])", 400, "The body must be a JSON object: {\"name\": \"...\", \"memory\": 512, \"disk\": 1024, \"cpu\": 100}"},
       }) {
    auto r = as(alice_, "POST", "/api/servers", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(body(r)["error"], c.error) << c.body;
  }
  EXPECT_EQ(body(as(alice_, "GET", "/api/servers"))["servers"].size(), 0u) << "nothing was made";
  EXPECT_EQ(call("GET", "/api/servers").status, 401);
  auto power = as(alice_, "POST", "/api/servers/" + created(alice_, "s")["id"].get<std::string>() + "/power", R"({"action":"explode"})");
  EXPECT_EQ(power.status, 400);
  EXPECT_EQ(body(power)["error"], "Invalid action");
}

TEST_F(PanelServersTest, AnotherUsersServerAnswersAsAMissingOne) {
  const std::string id = created(alice_, "Private")["id"];
  for (auto [method, path, payload] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/api/servers/" + id, ""},
           {"PUT", "/api/servers/" + id + "/details", R"({"name":"mine now"})"},
           {"POST", "/api/servers/" + id + "/power", R"({"action":"start"})"},
           {"DELETE", "/api/servers/" + id, ""}}) {
    auto r = as(bob_, method, path, payload);
    EXPECT_EQ(r.status, 404) << method << " " << path;
    EXPECT_EQ(body(r)["error"], "Server not found");
  }
  // Untouched.
  auto mine = body(as(alice_, "GET", "/api/servers/" + id));
  EXPECT_EQ(mine["server"]["name"], "Private");
  EXPECT_EQ(mine["server"]["status"], "offline");
  // Administrators see and act on all.
  auto all = as(admin_, "GET", "/api/admin/servers");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(body(all)["servers"][0]["owner_username"], "alice");
  EXPECT_EQ(body(all)["meta"]["total"], 1);
  EXPECT_EQ(as(admin_, "GET", "/api/servers/" + id).status, 200);
  EXPECT_EQ(as(alice_, "GET", "/api/admin/servers").status, 403);
  auto renamed = as(alice_, "PUT", "/api/servers/" + id + "/details", R"({"name":"Public","description":"for all"})");
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(body(renamed)["server"]["description"], "for all");
}

TEST_F(PanelServersTest, PowerActionsRunTheStateMachineAndRunningServersReportUsage) {
  const std::string id = created(alice_, "Survival")["id"];
  auto start = as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"start"})");
  ASSERT_EQ(start.status, 200) << start.body;
  EXPECT_EQ(body(start)["server"]["status"], "starting");
  auto again = as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"start"})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(body(again)["error"], "Server is already running");
  ASSERT_TRUE(reaches(alice_, id, "running"));
  // Usage comes every interval while running.
  json usage;
  for (int i = 0; i < 200 && usage.is_null(); ++i) {
    usage = body(as(alice_, "GET", "/api/servers/" + id))["usage"];
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(usage.is_null());
  EXPECT_GE(usage["cpu"].get<double>(), 0.0);
  EXPECT_LE(usage["cpu"].get<double>(), 100.0);
  EXPECT_EQ(usage["memoryLimit"], int64_t{1024} << 20);
  EXPECT_LT(usage["memory"].get<int64_t>(), usage["memoryLimit"].get<int64_t>());
  ASSERT_TRUE(waitForHook("server:resourceUsage", [&](const json& c) { return c["server"]["id"] == id; }));

  // Restart goes through stopping and starting back to running.
  ASSERT_EQ(as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"restart"})").status, 200);
  EXPECT_EQ(body(as(alice_, "GET", "/api/servers/" + id))["server"]["status"], "stopping");
  ASSERT_TRUE(reaches(alice_, id, "running"));
  ASSERT_EQ(as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"stop"})").status, 200);
  ASSERT_TRUE(reaches(alice_, id, "offline"));
  auto stopAgain = as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"stop"})");
  EXPECT_EQ(body(stopAgain)["error"], "Server is already offline");
  // Kill: offline at once.
  ASSERT_EQ(as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"start"})").status, 200);
  auto kill = as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"kill"})");
  ASSERT_EQ(kill.status, 200);
  EXPECT_EQ(body(kill)["server"]["status"], "offline");

  std::vector<std::string> log;
  const json detail = body(as(alice_, "GET", "/api/servers/" + id));
  for (const auto& line : detail["log"]) log.push_back(line["text"]);
  EXPECT_EQ(log, (std::vector<std::string>{"Server created on node Local node", "Starting the server", "Server is running",
                                           "Restarting the server", "Server is offline", "Starting the server", "Server is running",
                                           "Stopping the server", "Server is offline", "Starting the server", "Server killed"}));
}

TEST_F(PanelServersTest, EveryServerHookPointFiresWithSodiumsContext) {
  json server = created(alice_, "Hooked");
  const std::string id = server["id"];
  auto before = waitForHook("server:beforeCreate");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->context["user"]["username"], "alice");
  EXPECT_EQ(before->context["name"], "Hooked");
  EXPECT_EQ(before->context["node"], server["node_id"]);
  auto onCreate = waitForHook("server:onCreate");
  ASSERT_TRUE(onCreate);
  EXPECT_EQ(onCreate->context["server"], server);
  EXPECT_EQ(onCreate->context["user"]["username"], "alice");
  auto saved = waitForHook("db:afterSave", [&](const json& c) { return c["collection"] == "servers"; });
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->context["change"], "insert");
  EXPECT_EQ(saved->context["record"]["id"], id);

  ASSERT_EQ(as(alice_, "POST", "/api/servers/" + id + "/power", R"({"action":"start"})").status, 200);
  auto status = waitForHook("server:onStatusChange");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->context["action"], "start");
  EXPECT_EQ(status->context["server"]["id"], id);
  EXPECT_EQ(status->context["user"]["username"], "alice");

  ASSERT_EQ(as(alice_, "DELETE", "/api/servers/" + id).status, 200);
  auto deleted = waitForHook("server:onDelete");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->context["server"]["name"], "Hooked");
  EXPECT_EQ(as(alice_, "GET", "/api/servers/" + id).status, 404);

  // Sign-in hooks: afterRegister (with the address) and afterLogin.
  auto registeredHook = waitForHook("auth:afterRegister", [](const json& c) { return c["user"]["username"] == "bob"; });
  ASSERT_TRUE(registeredHook);
  EXPECT_EQ(registeredHook->context["ip"], "127.0.0.1");
  EXPECT_FALSE(registeredHook->context["user"].contains("password"));
  ASSERT_EQ(call("POST", "/api/auth/login", R"({"username":"bob","password":"password1"})").status, 200);
  auto login = waitForHook("auth:afterLogin");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->context["method"], "password");
  EXPECT_EQ(login->context["user"]["username"], "bob");
  EXPECT_TRUE(waitForHook("db:afterSave", [](const json& c) { return c["collection"] == "users" && c["record"]["username"] == "bob"; }));
}

TEST_F(PanelServersTest, APluginsDenyRefusesTheServerWithItsReason) {
  denyWith([](const std::string& event, const json& context) -> std::optional<std::string> {
    if (event == "server:beforeCreate" && context["user"]["username"] == "alice") return "Insufficient balance.";
    return std::nullopt;
  });
  auto refused = as(alice_, "POST", "/api/servers", R"({"name":"Denied"})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(body(refused)["error"], "Insufficient balance.");
  EXPECT_EQ(body(as(alice_, "GET", "/api/servers"))["servers"].size(), 0u) << "nothing was created";
  EXPECT_EQ(as(bob_, "POST", "/api/servers", R"({"name":"Allowed"})").status, 200) << "bob owes nothing";
  for (const auto& h : hooks()) EXPECT_FALSE(h.event == "server:onCreate" && h.context["server"]["name"] == "Denied");
}

TEST_F(PanelServersTest, NodesAreAdministeredAndHoldTheirServers) {
  auto list = as(admin_, "GET", "/api/admin/nodes");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(body(list)["nodes"].size(), 1u);
  const std::string local = body(list)["nodes"][0]["id"];
  EXPECT_EQ(as(alice_, "GET", "/api/admin/nodes").status, 403);

  auto made = as(admin_, "POST", "/api/admin/nodes", R"({"node":{"name":"Frankfurt 1","location":"de-fra","memory":4096,"disk":20480}})");
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string frankfurt = body(made)["node"]["id"];
  auto tooSmall = as(admin_, "POST", "/api/admin/nodes", R"({"node":{"name":"tiny","memory":64,"disk":20480}})");
  EXPECT_EQ(tooSmall.status, 400);
  EXPECT_EQ(body(tooSmall)["error"], "Node memory must be at least 128 (MiB)");

  // A server placed on a named node; the node cannot shrink below it nor go while it holds it.
  auto placed = as(alice_, "POST", "/api/servers", json{{"name", "Placed"}, {"memory", 2048}, {"node_id", frankfurt}}.dump());
  ASSERT_EQ(placed.status, 200) << placed.body;
  EXPECT_EQ(body(placed)["server"]["node_name"], "Frankfurt 1");
  auto shrink = as(admin_, "PUT", "/api/admin/nodes/" + frankfurt, R"({"node":{"memory":1024}})");
  EXPECT_EQ(shrink.status, 400);
  auto busy = as(admin_, "DELETE", "/api/admin/nodes/" + frankfurt);
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(body(busy)["error"], "Node has servers: delete or move them first");
  auto counted = body(as(admin_, "GET", "/api/admin/nodes"))["nodes"];
  EXPECT_EQ(counted[1]["servers"], 1);
  EXPECT_EQ(counted[1]["allocated_memory"], 2048);

  // Deleting a user deletes their servers (Sodium's admin answer).
  const std::string aliceId = body(as(alice_, "GET", "/api/auth/me"))["user"]["id"];
  auto gone = as(admin_, "DELETE", "/api/admin/users/" + aliceId);
  ASSERT_EQ(gone.status, 200) << gone.body;
  EXPECT_EQ(body(gone)["deletedServers"], 1);
  EXPECT_EQ(as(admin_, "DELETE", "/api/admin/nodes/" + frankfurt).status, 200);
  EXPECT_EQ(as(admin_, "DELETE", "/api/admin/nodes/" + local).status, 200);
  auto nowhere = as(bob_, "POST", "/api/servers", R"({"name":"Homeless"})");
  EXPECT_EQ(body(nowhere)["error"], "No available nodes with enough resources");
}

TEST_F(PanelServersTest, ARestartedPanelFindsItsServersAsTheyWere) {
  const std::string running = created(alice_, "Runs")["id"];
  const std::string idle = created(alice_, "Idles")["id"];
  ASSERT_EQ(as(alice_, "POST", "/api/servers/" + running + "/power", R"({"action":"start"})").status, 200);
  ASSERT_TRUE(reaches(alice_, running, "running"));
  start({});  // a new panel over the same database
  const std::string token = body(call("POST", "/api/auth/login", R"({"username":"alice","password":"password1"})"))["token"];
  EXPECT_EQ(body(as(token, "GET", "/api/servers/" + running))["server"]["status"], "running");
  EXPECT_EQ(body(as(token, "GET", "/api/servers/" + idle))["server"]["status"], "offline");
  EXPECT_EQ(body(as(token, "GET", "/api/servers"))["servers"].size(), 2u);
  EXPECT_EQ(body(as(admin_, "GET", "/api/admin/nodes"))["nodes"].size(), 1u) << "no second first node";
}

}  // namespace
}  // namespace patchbay
