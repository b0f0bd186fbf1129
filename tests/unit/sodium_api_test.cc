// The Sodium panel's plugin API as its api.js has it today, written the way
// Sodium's plugins write it: sodium.data (secrets stripped), auth
// middleware, events between plugins, meta, http.addMiddleware, the Express
// surface plugins use, and ui in both of its forms.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "patchbay/runtime.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A panel with one user, server and node, each with the secrets Sodium
// keeps (which plugins must never see).
class FakePanel : public PanelData {
 public:
  std::string list(Records records) override { return json::array({record(records)}).dump(); }
  std::string find(Records records, const std::string& id) override {
    json r = record(records);
    return r["id"] == id ? r.dump() : "null";
  }

 private:
  static json record(Records records) {
    switch (records) {
      case Records::kUsers:
        return {{"id", "u1"}, {"username", "alice"}, {"password", "$argon2id$x"}, {"twoFactorCode", "123456"}, {"resetToken", "r"},
                {"isAdmin", false}};
      case Records::kServers: return {{"id", "s1"}, {"name", "mc"}, {"user", "u1"}};
      case Records::kNodes: return {{"id", "n1"}, {"name", "eu-1"}, {"daemon_token", "secret"}};
    }
    return nullptr;
  }
};

class SodiumApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions options;
    options.dataDir = (dir_ / "data").string();
    options.cronScheduler = false;
    options.panelData = std::make_shared<FakePanel>();
    options.log = [this](const std::string& id, const std::string& level, const std::string& message) {
      std::lock_guard lock(logMu_);
      logs_.push_back(id + " " + level + " " + message);
    };
    auto rt = Runtime::create(options);
    ASSERT_TRUE(rt.ok()) << rt.error().message;
    runtime_ = std::move(*rt);
  }
  std::string plugin(const std::string& id, json manifest, const std::string& server) {
    fs::path p = dir_ / "plugins" / id;
    manifest["id"] = id;
    if (!manifest.contains("name")) manifest["name"] = id;
    if (!manifest.contains("version")) manifest["version"] = "1.0.0";
    test::writeFile(p / "plugin.json", manifest.dump());
    test::writeFile(p / "server.js", server);
    return p.string();
  }
  PluginResponse request(const std::string& id, PluginRequest r) {
    auto res = runtime_->handleRequest(id, r);
    EXPECT_TRUE(res.ok()) << res.error().message;
    return res.ok() ? *res : PluginResponse{};
  }
  static std::string header(const PluginResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  test::TempDir dir_;
  std::unique_ptr<Runtime> runtime_;
  std::mutex logMu_;
  std::vector<std::string> logs_;
};

TEST_F(SodiumApiTest, DataReadsThePanelsRecordsWithTheirSecretsStripped) {
  ASSERT_TRUE(runtime_->activate(plugin("reader", json::object(), R"js(
export default function (sodium) {
  return {
    all: async () => ({
      users: await sodium.data.getUsers(),
      servers: sodium.data.getServers(),
      nodes: await sodium.data.getNodes(),
      user: await sodium.data.findUser('u1'),
      server: sodium.data.findServer('s1'),
      node: await sodium.data.findNode('n1'),
      nobody: await sodium.data.findUser('zz'),
      usersIsPromise: sodium.data.getUsers() instanceof Promise,
    }),
  };
}
)js")).ok());
  json all = json::parse(*runtime_->call("reader", "all"));
  EXPECT_EQ(all["users"], json::parse(R"([{"id":"u1","username":"alice","isAdmin":false}])"));
  EXPECT_EQ(all["servers"], json::parse(R"([{"id":"s1","name":"mc","user":"u1"}])"));
  EXPECT_EQ(all["nodes"], json::parse(R"([{"id":"n1","name":"eu-1"}])"));
  EXPECT_EQ(all["user"], json::parse(R"({"id":"u1","username":"alice","isAdmin":false})"));
  EXPECT_EQ(all["server"]["name"], "mc");
  EXPECT_EQ(all["node"], json::parse(R"({"id":"n1","name":"eu-1"})"));
  EXPECT_EQ(all["nobody"], nullptr);
  EXPECT_EQ(all["usersIsPromise"], true);  // as Sodium's async getUsers
}

TEST_F(SodiumApiTest, AuthMiddlewareAndTheExpressSurfaceAnswerAsSodiumsDo) {
  ASSERT_TRUE(runtime_->activate(plugin("web", json::object(), R"js(
export default function (sodium) {
  const seen = [];
  sodium.http.addMiddleware((req, res, next) => { seen.push(req.path); res.set('X-Plugin', sodium.meta.id); next(); });
  sodium.http.registerRoutes((router) => {
    router.get('/me', sodium.auth.requireUser, (req, res) => res.json({ user: req.user.username }));
    router.get('/admin', sodium.auth.requireUser, sodium.auth.requireAdmin, (req, res) => res.status(201).json({ ok: true }));
    router.use('/private', (req, res, next) => (req.get('X-Key') === 'k' ? next() : res.sendStatus(403)));
    router.get('/private/data', (req, res) => res.type('text').send('secret'));
    router.route('/item').get((req, res) => res.json({ q: req.query, ip: req.ip })).post((req, res) => res.json({ body: req.body }));
    router.all('/any', (req, res) => res.json({ method: req.method }));
    router.get('/go', (req, res) => res.redirect('/elsewhere'));
    router.get('/seen', (req, res) => res.json(seen));
  });
  return { meta: () => sodium.meta };
}
)js")).ok());
  PluginRequest me{.method = "GET", .path = "/me"};
  PluginResponse anonymous = request("web", me);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.body, R"({"error":"No token provided"})");
  me.userJson = R"({"id":"u1","username":"alice","isAdmin":false})";
  EXPECT_EQ(request("web", me).body, R"({"user":"alice"})");
  EXPECT_EQ(header(request("web", me), "x-plugin"), "web");  // the middleware ran first
  PluginRequest admin{.method = "GET", .path = "/admin", .userJson = me.userJson};
  PluginResponse refused = request("web", admin);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body, R"({"error":"Admin access required"})");
  admin.userJson = R"({"id":"u2","username":"root","isAdmin":true})";
  EXPECT_EQ(request("web", admin).status, 201);

  PluginResponse locked = request("web", {.method = "GET", .path = "/private/data"});
  EXPECT_EQ(locked.status, 403);
  EXPECT_EQ(locked.body, "Forbidden");
  PluginResponse opened = request("web", {.method = "GET", .path = "/private/data", .headers = {{"x-key", "k"}}});
  EXPECT_EQ(opened.body, "secret");
  EXPECT_EQ(header(opened, "content-type"), "text/plain; charset=utf-8");

  PluginResponse item = request("web", {.method = "GET", .path = "/item", .query = {{"tag", "a"}, {"tag", "b"}, {"one", "1"}},
                                        .remoteAddress = "203.0.113.9"});
  EXPECT_EQ(json::parse(item.body), json::parse(R"({"q":{"tag":["a","b"],"one":"1"},"ip":"203.0.113.9"})"));
  PluginResponse form = request("web", {.method = "POST", .path = "/item", .headers = {{"content-type", "application/x-www-form-urlencoded"}},
                                        .body = "name=Gold+plan&tier=1&tier=2&note=%C3%A9"});
  EXPECT_EQ(json::parse(form.body), json::parse(R"({"body":{"name":"Gold plan","tier":["1","2"],"note":"é"}})"));
  PluginResponse text = request("web", {.method = "POST", .path = "/item", .headers = {{"content-type", "text/plain"}}, .body = "hi"});
  EXPECT_EQ(text.body, R"({"body":"hi"})");
  EXPECT_EQ(request("web", {.method = "DELETE", .path = "/any"}).body, R"({"method":"DELETE"})");
  PluginResponse go = request("web", {.method = "GET", .path = "/go"});
  EXPECT_EQ(go.status, 302);
  EXPECT_EQ(header(go, "location"), "/elsewhere");
  PluginResponse none = request("web", {.method = "GET", .path = "/nowhere"});
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.body, R"({"error":"Cannot GET /nowhere"})");
  EXPECT_NE(request("web", {.method = "GET", .path = "/seen"}).body.find("\"/nowhere\""), std::string::npos);  // middleware ran for it
  EXPECT_EQ(*runtime_->call("web", "meta"), R"({"id":"web","name":"web","version":"1.0.0"})");
}

TEST_F(SodiumApiTest, EventsReachEveryActivePluginAsCopiesLater) {
  const char* listener = R"js(
export default function (sodium) {
  const got = [];
  sodium.events.on('invoice:paid', (data) => { data.touched = true; got.push(data); });
  sodium.events.on('boom', () => { throw new Error('handler broke'); });
  return { got: () => got };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("listener-a", json::object(), listener)).ok());
  ASSERT_TRUE(runtime_->activate(plugin("listener-b", json::object(), listener)).ok());
  ASSERT_TRUE(runtime_->activate(plugin("sender", json::object(), R"js(
export default function (sodium) {
  const mine = [];
  sodium.events.on('invoice:paid', (data) => mine.push(data));
  return {
    send: () => { const data = { id: 7 }; sodium.events.emit('invoice:paid', data); sodium.events.emit('boom', null); return { sync: mine.length, data }; },
    mine: () => mine,
  };
}
)js")).ok());
  // Delivered later: nothing ran during the emit, and the sender's object is its own.
  EXPECT_EQ(*runtime_->call("sender", "send"), R"({"sync":0,"data":{"id":7}})");
  auto waitFor = [&](const std::string& id, const std::string& method, const std::string& expected) {
    std::string got;
    for (int i = 0; i < 200 && (got = *runtime_->call(id, method)) != expected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(got, expected) << id;
  };
  waitFor("listener-a", "got", R"([{"id":7,"touched":true}])");
  waitFor("listener-b", "got", R"([{"id":7,"touched":true}])");  // each its own copy
  waitFor("sender", "mine", R"([{"id":7}])");
  // A handler that throws is logged on its own plugin; the others ran.
  bool logged = false;
  for (int i = 0; i < 200 && !logged; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::lock_guard lock(logMu_);
    for (const auto& l : logs_) logged |= l.starts_with("listener-a warn [Plugin:listener-a] Event handler error for \"boom\": Error: handler broke");
  }
  EXPECT_TRUE(logged) << ::testing::PrintToString(logs_);
}

TEST_F(SodiumApiTest, UiTakesBothFormsOfPagesAndSidebarItemsWithoutIds) {
  ASSERT_TRUE(runtime_->activate(plugin("screens", json::object(), R"js(
export default function (sodium) {
  sodium.ui.registerPages([{ id: 'analytics', title: 'Analytics' }, { path: '/plugins/stats', title: 'Stats' }]);
  sodium.ui.registerPages({ '/billing': { title: 'Billing' } });
  sodium.ui.addPage({ path: '/plugins/help', title: 'Help' });
  sodium.ui.addAdminPage({ id: 'billing-admin', title: 'Billing settings' });
  sodium.ui.addSidebarItem({ label: 'Billing', icon: 'credit-card', href: '/billing', position: 'after:servers' });
  sodium.ui.addSidebarItem({ label: 'Billing', href: '/billing' });
}
)js")).ok());
  json ui = json::parse(runtime_->uiJson("screens"));
  EXPECT_EQ(ui["pages"]["analytics"]["title"], "Analytics");
  EXPECT_EQ(ui["pages"]["/plugins/stats"]["title"], "Stats");
  EXPECT_EQ(ui["pages"]["/billing"]["title"], "Billing");
  EXPECT_EQ(ui["pages"]["/plugins/help"]["title"], "Help");
  EXPECT_EQ(ui["adminPages"][0]["id"], "billing-admin");
  EXPECT_EQ(ui["sidebarItems"][0]["id"], "billing");
  EXPECT_EQ(ui["sidebarItems"][1]["id"], "billing-2");
}

}  // namespace
}  // namespace patchbay
