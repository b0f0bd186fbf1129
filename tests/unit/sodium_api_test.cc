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

// One context travels the chain in priority order, across plugins'
// isolates: what a handler adds, changes or removes reaches the next one
// and comes back to the emitter; a chain that only reads returns the
// emitted text itself (nothing was copied back).
TEST_F(SodiumApiTest, HooksShareOneContextAlongTheChainAcrossPlugins) {
  const json hooks = {{"hooks", {"server:beforeCreate"}}};
  ASSERT_TRUE(runtime_->activate(plugin("pricing", hooks, R"js(
export default function (sodium) {
  sodium.hooks.on('server:beforeCreate', (ctx) => { ctx.price = 10; ctx.tags.push('priced'); delete ctx.note; }, 1);
}
)js")).ok());
  ASSERT_TRUE(runtime_->activate(plugin("discount", hooks, R"js(
export default function (sodium) {
  let seen = null;
  sodium.hooks.on('server:beforeCreate', async (ctx) => {
    seen = { price: ctx.price, tags: ctx.tags.slice(), note: 'note' in ctx, denied: ctx._denied, reason: ctx._denyReason, deny: typeof ctx.deny };
    await null;
    ctx.price *= 2;
    ctx.user.tier = 'gold';
  }, 2);
  return { seen: () => seen };
}
)js")).ok());
  ASSERT_TRUE(runtime_->activate(plugin("reader", hooks, R"js(
export default function (sodium) {
  let seen = null;
  sodium.hooks.on('server:beforeCreate', (ctx) => { seen = [ctx.price, ctx.user.tier, Object.keys(ctx)]; }, 3);
  return { seen: () => seen };
}
)js")).ok());
  auto result = runtime_->emit("server:beforeCreate", R"({"user":{"id":1},"note":"x","tags":[]})");
  EXPECT_TRUE(result.allowed);
  EXPECT_TRUE(result.errors.empty()) << result.errors[0];
  EXPECT_EQ(json::parse(result.context), json::parse(R"({"user":{"id":1,"tier":"gold"},"tags":["priced"],"price":20})"));
  EXPECT_EQ(json::parse(*runtime_->call("discount", "seen")),
            json::parse(R"({"price":10,"tags":["priced"],"note":false,"denied":false,"reason":null,"deny":"function"})"));
  EXPECT_EQ(json::parse(*runtime_->call("reader", "seen")),
            json::parse(R"([20,"gold",["user","tags","price","_denied","_denyReason","deny"]])"));

  // Only readers: the emitted text comes back as it was, spaces and all.
  ASSERT_TRUE(runtime_->deactivate("pricing").ok());
  ASSERT_TRUE(runtime_->deactivate("discount").ok());
  const std::string spaced = R"( { "user" : { "id" : 1 , "tier" : "gold" } , "price" : 20 } )";
  EXPECT_EQ(runtime_->emit("server:beforeCreate", spaced).context, spaced);
  EXPECT_EQ(json::parse(*runtime_->call("reader", "seen")), json::parse(R"([20,"gold",["user","price","_denied","_denyReason","deny"]])"));
}

// Whether a handler changed the context is decided exactly: every change a
// handler can make to a JSON value comes back, and rewriting a value with
// itself is no change.
TEST_F(SodiumApiTest, EveryChangeToTheContextComesBackAndNothingElse) {
  ASSERT_TRUE(runtime_->activate(plugin("editor", {{"hooks", {"server:onCreate"}}}, R"js(
export default function (sodium) {
  let edit = () => {};
  sodium.hooks.on('server:onCreate', (ctx) => edit(ctx));
  return { use: (source) => { edit = (0, eval)(source); } };
}
)js")).ok());
  const std::string emitted = R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":true,"empty":{}})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"(ctx) => { ctx.user.id = 1; ctx.flag = true; ctx.list[0] = 1; }", ""},  // the same values: no change
      {"(ctx) => { ctx.user.id = 2; }", R"({"user":{"id":2,"name":"a"},"list":[1,{"k":null}],"flag":true,"empty":{}})"},
      {"(ctx) => { ctx.user.id = '1'; }", R"({"user":{"id":"1","name":"a"},"list":[1,{"k":null}],"flag":true,"empty":{}})"},
      {"(ctx) => { delete ctx.user.name; ctx.user.nick = 'a'; }", R"({"user":{"id":1,"nick":"a"},"list":[1,{"k":null}],"flag":true,"empty":{}})"},
      {"(ctx) => { ctx.list.push(3); }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null},3],"flag":true,"empty":{}})"},
      {"(ctx) => { ctx.list[1].k = 0; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":0}],"flag":true,"empty":{}})"},
      {"(ctx) => { ctx.list = { 0: 1, 1: { k: null }, length: 2 }; }",
       R"({"user":{"id":1,"name":"a"},"list":{"0":1,"1":{"k":null},"length":2},"flag":true,"empty":{}})"},
      {"(ctx) => { ctx.empty.now = 1; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":true,"empty":{"now":1}})"},
      {"(ctx) => { ctx.empty = null; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":true,"empty":null})"},
      {"(ctx) => { ctx.user = {}; }", R"({"user":{},"list":[1,{"k":null}],"flag":true,"empty":{}})"},
      {"(ctx) => { ctx.flag = 1; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":1,"empty":{}})"},
      // Keys added at the top, in the order JSON.stringify writes them
      // (integer-like keys first), with the values it writes.
      {"(ctx) => { ctx.b = 'two'; ctx.a = null; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":true,"empty":{},"b":"two","a":null})"},
      {"(ctx) => { ctx[5] = 1; ctx.z = 2; }", R"({"5":1,"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":true,"empty":{},"z":2})"},
      {"(ctx) => { ctx['a b'] = 1; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":true,"empty":{},"a b":1})"},
      // The same keys and values in another order: no change (JSON's objects have no order).
      {"(ctx) => { delete ctx.flag; ctx.flag = true; }", ""},
      {"(ctx) => { delete ctx.flag; ctx.flag = true; ctx.z = 1; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"empty":{},"flag":true,"z":1})"},
      {"(ctx) => { ctx.flag = NaN; ctx.n = -Infinity; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":null,"empty":{},"n":null})"},
      {R"js((ctx) => { ctx.user.name = 'é"\\\n\u0001\u2028😀'; })js",
       std::string(R"({"user":{"id":1,"name":"é\"\\\n\u0001)") + "\u2028" + R"(😀"},"list":[1,{"k":null}],"flag":true,"empty":{}})"},
      {"(ctx) => { ctx.user.name = String.fromCharCode(0xd800); }", R"({"user":{"id":1,"name":"\ud800"},"list":[1,{"k":null}],"flag":true,"empty":{}})"},
      {"(ctx) => { ctx.user.id = -0; ctx.list[0] = 1e21; ctx.n = 1.5e-7; ctx.m = 0.000001; }",
       R"({"user":{"id":0,"name":"a"},"list":[1e+21,{"k":null}],"flag":true,"empty":{},"n":1.5e-7,"m":0.000001})"},
      // A runtime key removed and another added in its place still comes back.
      {"(ctx) => { delete ctx.deny; ctx.sneaky = 1; }", R"({"user":{"id":1,"name":"a"},"list":[1,{"k":null}],"flag":true,"empty":{},"sneaky":1})"},
  };
  for (const auto& [edit, expected] : cases) {
    ASSERT_TRUE(runtime_->call("editor", "use", json::array({edit}).dump()).ok());
    auto result = runtime_->emit("server:onCreate", emitted);
    EXPECT_TRUE(result.errors.empty()) << edit;
    if (expected.empty()) {
      EXPECT_EQ(result.context, emitted) << edit;
    } else {
      EXPECT_EQ(result.context, expected) << edit;
    }
  }

  // A change that is not JSON is refused, naming why; the context goes on
  // as it came. What a throwing handler changed before it threw stays.
  ASSERT_TRUE(runtime_->call("editor", "use", json::array({"(ctx) => { ctx.big = 10n; }"}).dump()).ok());
  auto bigint = runtime_->emit("server:onCreate", emitted);
  ASSERT_EQ(bigint.errors.size(), 1u);
  EXPECT_NE(bigint.errors[0].find("editor: the context it left is not JSON"), std::string::npos) << bigint.errors[0];
  EXPECT_EQ(bigint.context, emitted);
  ASSERT_TRUE(runtime_->call("editor", "use", json::array({"(ctx) => { ctx.flag = false; throw new Error('late'); }"}).dump()).ok());
  auto thrown = runtime_->emit("server:onCreate", emitted);
  ASSERT_EQ(thrown.errors.size(), 1u);
  EXPECT_EQ(thrown.errors[0], "editor: late");
  EXPECT_EQ(json::parse(thrown.context)["flag"], false);
}

// Values changed and keys added by a synchronous handler go on as a list
// of changes (the shape's delta, runtime/hook_context.h), not as JSON text:
// the next handler, in another isolate, sees them, and the emitter gets the
// JSON that JSON.stringify would have written, numbers as V8 writes them.
TEST_F(SodiumApiTest, ListedChangesGoOnAlongTheChainAndComeBackAsJsonStringifyWritesThem) {
  const json hooks = {{"hooks", {"server:beforeCreate"}}};
  ASSERT_TRUE(runtime_->activate(plugin("first", hooks, R"js(
export default function (sodium) {
  sodium.hooks.on('server:beforeCreate', (ctx) => {
    ctx.count = (ctx.count || 0) + 1;
    ctx.user.balance -= 1;
    ctx.label = 'é"\n😀';
    if (ctx.user.balance < 0) ctx.deny('owes money');
  }, 1);
}
)js")).ok());
  ASSERT_TRUE(runtime_->activate(plugin("second", hooks, R"js(
export default function (sodium) {
  let seen = null;
  sodium.hooks.on('server:beforeCreate', (ctx) => {
    const { deny, ...rest } = ctx;
    seen = rest;
    ctx.count += 1;
  }, 2);
  return { seen: () => seen };
}
)js")).ok());
  auto result = runtime_->emit("server:beforeCreate", R"({"user":{"id":1,"balance":5},"name":"mc"})");
  EXPECT_TRUE(result.allowed);
  EXPECT_TRUE(result.errors.empty()) << result.errors[0];
  EXPECT_EQ(result.context, R"({"user":{"id":1,"balance":4},"name":"mc","count":2,"label":"é\"\n😀"})");
  EXPECT_EQ(json::parse(*runtime_->call("second", "seen")),
            json::parse(R"({"user":{"id":1,"balance":4},"name":"mc","count":1,"label":"é\"\n😀","_denied":false,"_denyReason":null})"));
  // A deny goes with the changes made before it; the chain ends there.
  auto denied = runtime_->emit("server:beforeCreate", R"({"user":{"id":1,"balance":0},"name":"mc"})");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason, "owes money");
  EXPECT_EQ(denied.handlersRun, 1u);
  EXPECT_EQ(denied.context, R"({"user":{"id":1,"balance":-1},"name":"mc","count":1,"label":"é\"\n😀"})");

  // Numbers of every magnitude, written by the runtime, against the text
  // V8's JSON.stringify gives for each.
  ASSERT_TRUE(runtime_->activate(plugin("numbers", {{"hooks", {"server:onCreate"}}}, R"js(
export default function (sodium) {
  const bits = new DataView(new ArrayBuffer(8));
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const special = [0.1, 0.2 + 0.1, 1 / 3, 5e-324, 1.7976931348623157e308, 2 ** 53, 2 ** 53 + 2, 1e15, 1e16 + 2, 123456789012345680000,
                   1e21, 1.5e21, 1e-6, 1e-7, 123e-20, -1.25, 4.35, 0.000001234, 100, 1e300 * 10 / 10];
  let i = 0;
  sodium.hooks.on('server:onCreate', (ctx) => {
    let x;
    if (i < special.length) {
      x = special[i];
    } else {
      do {
        bits.setUint32(0, next());
        bits.setUint32(4, next());
        x = bits.getFloat64(0);
      } while (!Number.isFinite(x));
      if (i % 3 === 0) x = Math.round(x) % 1e6 / 64;  // everyday numbers too
    }
    ++i;
    ctx.n = x;
    ctx.expected = JSON.stringify(x);
  });
}
)js")).ok());
  for (int i = 0; i < 3000; ++i) {
    auto r = runtime_->emit("server:onCreate", R"({"server":{"id":"s1"}})");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    const std::string& text = r.context;  // {"server":{"id":"s1"},"n":N,"expected":"N"}
    const size_t from = text.find("\"n\":") + 4, to = text.find(",\"expected\":");
    ASSERT_NE(to, std::string::npos) << text;
    ASSERT_EQ(text.substr(from, to - from), json::parse(text)["expected"].get<std::string>()) << text;
  }

  // The delta runs in the plugin's isolate: a plugin that replaces
  // Array.prototype.push can hand the runtime any list. Nonsense is refused,
  // naming why, and the context goes on as it came.
  ASSERT_TRUE(runtime_->activate(plugin("liar", {{"hooks", {"server:onDelete"}}}, R"js(
export default function (sodium) {
  const push = Array.prototype.push;
  let lie = 0;
  sodium.hooks.on('server:onDelete', (ctx) => {
    const lies = [[1e12, 1], [-1, 1], [0.5, 1], [NaN, 1], [0, {}], [{}, 1], ['__proto__', 1], ['a b', 1], [2 ** 31, 'x']];
    const [where, value] = lies[lie++ % lies.length];
    Array.prototype.push = function () { Array.prototype.push = push; return push.call(this, where, value); };
    ctx.server.id = 's2';
  });
}
)js")).ok());
  for (int i = 0; i < 9; ++i) {
    auto r = runtime_->emit("server:onDelete", R"({"server":{"id":"s1"}})");
    ASSERT_EQ(r.errors.size(), 1u) << i << " " << r.context;
    const bool badKey = i == 6 || i == 7;
    EXPECT_NE(r.errors[0].find(badKey ? "liar: a change adds a key the shape cannot hold" : "liar: the list of changes it left is not one the runtime reads"),
              std::string::npos) << i << " " << r.errors[0];
    EXPECT_EQ(r.context, R"({"server":{"id":"s1"}})") << i;
  }

  // Changes that would make the context larger than the runtime allows are
  // refused, naming the size, listed or not; the context goes on as it came.
  RuntimeOptions options;
  options.dataDir = (dir_ / "small").string();
  options.cronScheduler = false;
  options.limits.maxHookContextBytes = 100;
  auto small = Runtime::create(options);
  ASSERT_TRUE(small.ok()) << small.error().message;
  ASSERT_TRUE((*small)->activate(plugin("grower", {{"hooks", {"server:onCreate"}}}, R"js(
export default function (sodium) {
  sodium.hooks.on('server:onCreate', (ctx) => {
    if (ctx.how === 'listed') ctx.name = 'x'.repeat(200);
    else ctx.more = { name: 'x'.repeat(200) };
  });
}
)js")).ok());
  for (const std::string how : {"listed", "text"}) {
    const std::string emitted = R"({"how":")" + how + R"(","name":"a"})";
    auto r = (*small)->emit("server:onCreate", emitted);
    ASSERT_EQ(r.errors.size(), 1u) << how;
    EXPECT_NE(r.errors[0].find("grower: the context it left is 2"), std::string::npos) << r.errors[0];
    EXPECT_NE(r.errors[0].find("bytes of JSON, more than the 100 a hook context may hold"), std::string::npos) << r.errors[0];
    EXPECT_EQ(r.context, emitted) << how;
  }
}

// ctx.deny works in every hook, as in Sodium's hooks.js, and ends the
// chain; so does setting ctx._denied. The emitter learns the reason.
TEST_F(SodiumApiTest, DenyEndsTheChainInEveryHook) {
  ASSERT_TRUE(runtime_->activate(plugin("gate", {{"hooks", {"user:onLogin", "server:beforeDelete", "server:onDelete"}}}, R"js(
export default function (sodium) {
  sodium.hooks.on('user:onLogin', (ctx) => { if (ctx.ip === '10.0.0.9') ctx.deny('blocked address'); }, 1);
  sodium.hooks.on('server:beforeDelete', (ctx) => { ctx._denied = true; ctx._denyReason = 'locked'; }, 1);
  sodium.hooks.on('server:onDelete', (ctx) => { ctx.deny(); }, 1);
}
)js")).ok());
  ASSERT_TRUE(runtime_->activate(plugin("after", {{"hooks", {"user:onLogin", "server:beforeDelete"}}}, R"js(
export default function (sodium) {
  let runs = 0;
  sodium.hooks.on('user:onLogin', () => { runs++; }, 2);
  sodium.hooks.on('server:beforeDelete', () => { runs++; }, 2);
  return { runs: () => runs };
}
)js")).ok());
  auto login = runtime_->emit("user:onLogin", R"({"ip":"10.0.0.9"})");
  EXPECT_FALSE(login.allowed);
  EXPECT_EQ(login.reason, "blocked address");
  EXPECT_EQ(login.deniedBy, "gate");
  EXPECT_EQ(login.handlersRun, 1u);
  EXPECT_TRUE(runtime_->emit("user:onLogin", R"({"ip":"10.0.0.1"})").allowed);
  auto locked = runtime_->emit("server:beforeDelete", R"({"server":{"id":"s1"}})");
  EXPECT_FALSE(locked.allowed);
  EXPECT_EQ(locked.reason, "locked");
  EXPECT_EQ(json::parse(locked.context), json::parse(R"({"server":{"id":"s1"}})"));
  auto bare = runtime_->emit("server:onDelete", "{}");
  EXPECT_FALSE(bare.allowed);
  EXPECT_EQ(bare.reason, "");
  EXPECT_EQ(*runtime_->call("after", "runs"), "1");
}

// Subscriptions may be patterns ('*' any run of characters: seed 004's
// global middleware), checked against the manifest's hooks list, whose
// entries are patterns too.
TEST_F(SodiumApiTest, WildcardSubscriptionsAreCheckedAgainstTheManifestsPatterns) {
  ASSERT_TRUE(runtime_->activate(plugin("audit", {{"hooks", {"*"}}}, R"js(
export default function (sodium) {
  const seen = [];
  sodium.hooks.on('*', (ctx) => { seen.push(ctx.event); }, 100);
  return { seen: () => seen };
}
)js")).ok());
  ASSERT_TRUE(runtime_->activate(plugin("guard", {{"hooks", {"*:before*"}}}, R"js(
export default function (sodium) {
  sodium.hooks.on('*:before*', (ctx) => { if (ctx.name === 'forbidden') ctx.deny('no such names'); });
}
)js")).ok());
  ASSERT_TRUE(runtime_->activate(plugin("servers", {{"hooks", {"server:*"}}}, R"js(
export default function (sodium) {
  const subscribed = [sodium.hooks.on('server:*', (ctx) => { ctx.servers = true; }),
                      sodium.hooks.on('server:onCreate', () => {}),
                      sodium.hooks.on('user:onCreate', () => {})];
  return { subscribed: () => subscribed };
}
)js")).ok());
  ASSERT_TRUE(runtime_->activate(plugin("narrow", {{"hooks", {"server:beforeCreate"}}}, R"js(
export default function (sodium) {
  return { subscribed: () => [sodium.hooks.on('server:*', () => {}), sodium.hooks.on('*', () => {})] };
}
)js")).ok());
  EXPECT_EQ(*runtime_->call("servers", "subscribed"), "[true,true,false]");
  EXPECT_EQ(*runtime_->call("narrow", "subscribed"), "[false,false]");
  {
    std::lock_guard lock(logMu_);
    EXPECT_NE(std::find(logs_.begin(), logs_.end(), "servers warn [Plugin:servers] Hook \"user:onCreate\" not declared in manifest, skipping"),
              logs_.end());
    EXPECT_NE(std::find(logs_.begin(), logs_.end(), "narrow warn [Plugin:narrow] Hook \"server:*\" not declared in manifest, skipping"),
              logs_.end());
  }

  auto user = runtime_->emit("user:beforeDelete", R"({"event":"user:beforeDelete","name":"ok"})");
  EXPECT_EQ(user.handlersRun, 2u);  // guard, audit
  EXPECT_TRUE(user.allowed);
  auto server = runtime_->emit("server:beforeCreate", R"({"event":"server:beforeCreate","name":"ok"})");
  EXPECT_EQ(server.handlersRun, 3u);  // guard, servers ("server:*"), audit
  EXPECT_EQ(json::parse(server.context)["servers"], true);
  auto refused = runtime_->emit("server:beforeCreate", R"({"event":"refused","name":"forbidden"})");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.deniedBy, "guard");
  EXPECT_EQ(runtime_->emit("server:onCreate", R"({"event":"server:onCreate"})").handlersRun, 3u);  // servers twice, audit
  EXPECT_EQ(*runtime_->call("audit", "seen"), R"(["user:beforeDelete","server:beforeCreate","server:onCreate"])");
}

// Whether an event would reach anyone (what the panel asks before it
// builds an after-the-fact context): patterns count, an inactive plugin
// does not.
TEST_F(SodiumApiTest, AnEventHasHandlersOnlyWhileAnActivePluginHearsIt) {
  EXPECT_FALSE(runtime_->hasHookHandlers("server:onStatusChange"));
  ASSERT_TRUE(runtime_->activate(plugin("servers", {{"hooks", {"server:*"}}}, R"js(
export default function (sodium) { sodium.hooks.on('server:*', () => {}); }
)js")).ok());
  EXPECT_TRUE(runtime_->hasHookHandlers("server:onStatusChange"));
  EXPECT_TRUE(runtime_->hasHookHandlers("server:resourceUsage"));
  EXPECT_FALSE(runtime_->hasHookHandlers("auth:afterLogin"));
  ASSERT_TRUE(runtime_->deactivate("servers").ok());
  EXPECT_FALSE(runtime_->hasHookHandlers("server:onStatusChange"));
}

// db.* answer what Sodium's answer: insert the record (an id given one when
// it has none, on the caller's object too), update the merged record or
// null, delete true or false, find an array (strict equality per key),
// findOne the first match or null.
TEST_F(SodiumApiTest, DbCallsReturnWhatSodiumsReturn) {
  ASSERT_TRUE(runtime_->activate(plugin("store", json::object(), R"js(
export default function (sodium) {
  const { db } = sodium;
  db.registerCollections(['items']);
  return {
    run() {
      const out = {};
      const record = { name: 'a', n: 1 };
      const inserted = db.insert('items', record);
      out.insertedHasId = typeof inserted.id === 'string' && inserted.id.length === 36;
      out.callerGotId = record.id === inserted.id;
      out.insertedName = inserted.name;
      out.given = db.insert('items', { id: 'b', name: 'b', n: '1' });
      out.updated = db.update('items', 'b', { name: 'B', extra: true });
      out.updateMissing = db.update('items', 'nope', { name: 'x' });
      out.findAll = db.find('items').map((r) => r.name);
      out.findStrict = db.find('items', { n: 1 }).map((r) => r.name);
      out.findNone = db.find('items', { n: 2 });
      out.findOne = db.findOne('items', { id: 'b' });
      out.findOneMissing = db.findOne('items', { id: 'zzz' });
      out.deleted = db.delete('items', 'b');
      out.deletedAgain = db.delete('items', 'b');
      out.count = db.count('items');
      return out;
    },
  };
}
)js")).ok());
  auto out = json::parse(*runtime_->call("store", "run"));
  EXPECT_EQ(out["insertedHasId"], true);
  EXPECT_EQ(out["callerGotId"], true);
  EXPECT_EQ(out["insertedName"], "a");
  EXPECT_EQ(out["given"], json::parse(R"({"id":"b","name":"b","n":"1"})"));
  EXPECT_EQ(out["updated"], json::parse(R"({"id":"b","name":"B","n":"1","extra":true})"));
  EXPECT_TRUE(out["updateMissing"].is_null());
  EXPECT_EQ(out["findAll"], json::parse(R"(["a","B"])"));
  EXPECT_EQ(out["findStrict"], json::parse(R"(["a"])"));
  EXPECT_EQ(out["findNone"], json::array());
  EXPECT_EQ(out["findOne"]["name"], "B");
  EXPECT_TRUE(out["findOneMissing"].is_null());
  EXPECT_EQ(out["deleted"], true);
  EXPECT_EQ(out["deletedAgain"], false);
  EXPECT_EQ(out["count"], 1);
}

}  // namespace
}  // namespace patchbay
