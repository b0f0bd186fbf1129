// The runtime with real plugins in real V8 isolates: the Sodium API shapes,
// hooks across plugins, confinement, and the limits.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "patchbay/http.h"
#include "patchbay/runtime.h"
#include "patchbay/store.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions options;
    options.dataDir = (dir_ / "data").string();
    options.limits.callTimeout = std::chrono::milliseconds(300);
    options.limits.heapBytes = 32u << 20;
    options.limits.requestsPerSecond = 0;  // the load tests here go faster than any sane limit; limits are tested on their own
    options.cronScheduler = false;         // the cron test starts minutes itself; the wall clock must not add one
    options.log = [this](const std::string& id, const std::string& level, const std::string& message) {
      std::lock_guard lock(logMu_);
      logs_.push_back(id + " " + level + " " + message);
    };
    auto rt = Runtime::create(options);
    ASSERT_TRUE(rt.ok()) << rt.error().message;
    runtime_ = std::move(*rt);
  }

  // Writes a plugin folder: plugin.json from `manifest` (+ id) and files.
  std::string plugin(const std::string& id, json manifest, const std::map<std::string, std::string>& files) {
    fs::path p = dir_ / "plugins" / id;
    manifest["id"] = id;
    if (!manifest.contains("name")) manifest["name"] = id;
    if (!manifest.contains("version")) manifest["version"] = "1.0.0";
    test::writeFile(p / "plugin.json", manifest.dump());
    for (const auto& [name, content] : files) test::writeFile(p / name, content);
    return p.string();
  }
  PluginResponse request(const std::string& id, const std::string& method, const std::string& path, const std::string& body = "",
                         std::vector<std::pair<std::string, std::string>> query = {}) {
    PluginRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.query = std::move(query);
    if (!body.empty()) r.headers = {{"content-type", "application/json"}};
    auto res = runtime_->handleRequest(id, r);
    EXPECT_TRUE(res.ok()) << res.error().message;
    return res.ok() ? *res : PluginResponse{};
  }
  bool logged(const std::string& text) {
    std::lock_guard lock(logMu_);
    for (const auto& l : logs_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }

  test::TempDir dir_;
  std::unique_ptr<Runtime> runtime_;
  std::mutex logMu_;
  std::vector<std::string> logs_;
};

constexpr const char* kNotes = R"js(
import { slug } from './lib/slug.js';
export default function (sodium) {
  sodium.db.registerCollections(['notes', 'empty']);
  sodium.http.registerRoutes((router) => {
    router.get('/notes', (req, res) => res.json(sodium.db.find('notes', req.query.tag ? { tag: req.query.tag } : undefined)));
    router.get('/notes/:id', (req, res) => {
      const note = sodium.db.findOne('notes', { id: req.params.id });
      if (!note) return res.status(404).json({ error: 'no such note' });
      res.json(note);
    });
    router.post('/notes', (req, res) => res.status(201).json(sodium.db.insert('notes', { ...req.body, slug: slug(req.body.title) })));
    router.patch('/notes/:id', (req) => sodium.db.update('notes', req.params.id, req.body));
    router.delete('/notes/:id', (req) => ({ deleted: sodium.db.delete('notes', req.params.id) }));
    router.get('/count', () => ({ all: sodium.db.count('notes'), big: sodium.db.count('notes', { size: { $gte: 10 } }) }));
    router.get('/later', async () => { await new Promise((r) => setTimeout(r, 20)); return { waited: true }; });
    router.get('/boom', () => { throw new Error('kaboom'); });
    router.get('/whoami', (req) => ({ user: req.user, header: req.headers['x-test'] ?? null }));
    router.get('/text', (req, res) => res.set('X-Kind', 'plain').send('hello "wörld" ✓\\n'));
    router.get('/first', () => ({ first: sodium.db.findOne('notes'), none: sodium.db.findOne('empty'), empty: sodium.db.find('empty') }));
    router.get('/unregistered', () => sodium.db.find('secrets'));
  });
  console.log('notes loaded');
  return { add: (a, b) => a + b, slow: async (x) => { await null; return x * 2; } };
}
)js";

TEST_F(RuntimeTest, SodiumStylePluginServesRoutesOverItsOwnCollections) {
  ASSERT_TRUE(runtime_->activate(plugin("notes", json::object(),
                                        {{"server.js", kNotes}, {"lib/slug.js", "export const slug = (s) => String(s).toLowerCase().replace(/\\s+/g, '-');\n"}}))
                  .ok());
  EXPECT_TRUE(logged("notes info [Plugin:notes] notes loaded"));
  auto created = request("notes", "POST", "/notes", R"({"title":"Hello World","tag":"a","size":12})");
  ASSERT_EQ(created.status, 201) << created.body;
  json note = json::parse(created.body);
  EXPECT_EQ(note["slug"], "hello-world");
  EXPECT_EQ(note["id"].get<std::string>().size(), 36u);  // a UUID
  EXPECT_FALSE(note.contains("created_at"));  // as Sodium's: the record as stored, nothing added but the id
  ASSERT_EQ(request("notes", "POST", "/notes", R"({"id":"fixed","title":"Two","tag":"b","size":3})").status, 201);

  EXPECT_EQ(json::parse(request("notes", "GET", "/notes").body).size(), 2u);
  EXPECT_EQ(json::parse(request("notes", "GET", "/notes", "", {{"tag", "b"}}).body)[0]["id"], "fixed");
  EXPECT_EQ(json::parse(request("notes", "GET", "/notes/fixed").body)["title"], "Two");
  EXPECT_EQ(request("notes", "GET", "/notes/nope").status, 404);
  auto patched = json::parse(request("notes", "PATCH", "/notes/fixed", R"({"title":"Changed"})").body);
  EXPECT_EQ(patched["title"], "Changed");
  EXPECT_EQ(patched["tag"], "b");  // only the given fields change
  EXPECT_EQ(json::parse(request("notes", "GET", "/count").body), json::parse(R"({"all":2,"big":1})"));
  json first = json::parse(request("notes", "GET", "/first").body);
  EXPECT_EQ(first["first"]["id"], note["id"]);  // the oldest record
  EXPECT_TRUE(first["none"].is_null());
  EXPECT_EQ(first["empty"], json::array());
  EXPECT_EQ(json::parse(request("notes", "DELETE", "/notes/fixed").body)["deleted"], true);
  EXPECT_EQ(json::parse(request("notes", "DELETE", "/notes/fixed").body)["deleted"], false);

  EXPECT_EQ(json::parse(request("notes", "GET", "/later").body)["waited"], true);
  auto boom = request("notes", "GET", "/boom");
  EXPECT_EQ(boom.status, 500);
  EXPECT_NE(boom.body.find("kaboom"), std::string::npos);
  EXPECT_TRUE(logged("notes error [Plugin:notes] GET /boom:"));
  auto text = request("notes", "GET", "/text");
  EXPECT_EQ(text.body, "hello \"wörld\" ✓\\n");  // the body passes through unchanged
  EXPECT_NE(std::find(text.headers.begin(), text.headers.end(), std::pair<std::string, std::string>{"x-kind", "plain"}), text.headers.end());
  EXPECT_EQ(request("notes", "GET", "/nowhere").status, 404);
  auto unregistered = request("notes", "GET", "/unregistered");
  EXPECT_EQ(unregistered.status, 500);
  EXPECT_NE(unregistered.body.find("collection \\\"secrets\\\" is not registered"), std::string::npos) << unregistered.body;
  EXPECT_EQ(request("notes", "POST", "/notes", "{not json").status, 400);

  EXPECT_EQ(*runtime_->call("notes", "add", "[2, 3]"), "5");
  EXPECT_EQ(*runtime_->call("notes", "slow", "[21]"), "42");
  EXPECT_FALSE(runtime_->call("notes", "missing", "[]").ok());

  // Deactivation removes the routes; the data stays for the next activation.
  ASSERT_TRUE(runtime_->deactivate("notes").ok());
  EXPECT_EQ(runtime_->handleRequest("notes", {}).error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(runtime_->activate((dir_ / "plugins/notes").string()).ok());
  EXPECT_EQ(json::parse(request("notes", "GET", "/notes").body).size(), 1u);
}

TEST_F(RuntimeTest, HooksRunByPriorityAcrossPluginsAndBeforeHooksCanDeny) {
  const char* recorder = R"js(
export default function (sodium) {
  const seen = [];
  sodium.hooks.on('server:onCreate', () => { seen.push('late'); }, 20);
  sodium.hooks.on('server:onCreate', async () => { await null; seen.push('first'); }, { priority: 1 });
  sodium.hooks.on('server:onCreate', () => { seen.push('default-a'); });
  sodium.hooks.on('server:onCreate', () => { throw new Error('handler broke'); });
  sodium.hooks.on('server:onCreate', () => { seen.push('default-b'); });
  sodium.hooks.on('auth:afterLogin', () => {});
  return { seen: () => seen };
}
)js";
  const char* billing = R"js(
export default function (sodium) {
  sodium.hooks.on('server:beforeCreate', async (ctx) => {
    if (ctx.user.balance < 5) ctx.deny('Insufficient balance');
  }, 5);
  sodium.hooks.on('server:onCreate', (ctx) => { if (ctx.server.name !== 'mc') throw new Error('wrong context'); }, 15);
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("recorder", {{"hooks", {"server:onCreate"}}}, {{"server.js", recorder}})).ok());
  ASSERT_TRUE(runtime_->activate(plugin("billing", {{"hooks", {"server:beforeCreate", "server:onCreate"}}}, {{"server.js", billing}})).ok());
  EXPECT_TRUE(logged("recorder warn [Plugin:recorder] Hook \"auth:afterLogin\" not declared in manifest, skipping"));

  auto created = runtime_->emit("server:onCreate", R"({"server":{"name":"mc"},"user":{"id":1}})");
  EXPECT_TRUE(created.allowed);
  EXPECT_EQ(created.handlersRun, 6u);
  ASSERT_EQ(created.errors.size(), 1u);
  EXPECT_NE(created.errors[0].find("recorder: handler broke"), std::string::npos);
  EXPECT_EQ(*runtime_->call("recorder", "seen"), R"(["first","default-a","default-b","late"])");

  auto denied = runtime_->emit("server:beforeCreate", R"({"user":{"id":1,"balance":2},"name":"mc","node":"n1"})");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason, "Insufficient balance");
  EXPECT_EQ(denied.deniedBy, "billing");
  EXPECT_TRUE(runtime_->emit("server:beforeCreate", R"({"user":{"id":1,"balance":9},"name":"mc","node":"n1"})").allowed);
  EXPECT_EQ(runtime_->emit("server:onDelete", "{}").handlersRun, 0u);

  ASSERT_TRUE(runtime_->deactivate("billing").ok());
  EXPECT_TRUE(runtime_->emit("server:beforeCreate", R"({"user":{"balance":0}})").allowed);
}

// Contexts reach handlers built from their shape (hook_context.h) or, for
// the ones the reader leaves, parsed in the isolate: either way exactly what
// JSON.parse of the emitted text gives, down to key order, -0 and __proto__.
TEST_F(RuntimeTest, HookContextsArriveExactlyAsJsonParseGivesThem) {
  const char* mirror = R"js(
function describe(v, top) {
  if (v === null || typeof v !== 'object') return Object.is(v, -0) ? 'number:-0' : typeof v + ':' + String(v);
  const kind = Array.isArray(v) ? 'A' : Object.getPrototypeOf(v) === Object.prototype ? 'O' : '?';
  const keys = Reflect.ownKeys(v).filter((k) => !(top && (k === 'deny' || k === '_denied' || k === '_denyReason')));
  return kind + '{' + keys.map((k) => JSON.stringify(k) + '=' + (k === 'length' && Array.isArray(v) ? v.length : describe(v[k], false))).join(',') + '}';
}
export default function (sodium) {
  let last = '';
  sodium.hooks.on('server:onCreate', (ctx) => { last = describe(ctx, true); });
  return {
    matches: (text) => last === describe(JSON.parse(text), true) ? 'same' : last + '  <>  ' + describe(JSON.parse(text), true),
  };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("mirror", {{"hooks", {"server:onCreate"}}}, {{"server.js", mirror}})).ok());
  std::string many = "{";
  for (int i = 0; i < 80; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  many += "}";
  const std::vector<std::string> contexts = {
      R"({"user":{"id":1,"balance":5},"name":"mc","node":"n1"})",
      R"({"user":{"id":2,"balance":-3.25},"name":"other","node":"n2"})",  // the same shape, other values
      R"( { "a" : [ 1 , [ ] , { } , [ "x" , null ] ] , "t" : true , "f" : false } )",
      R"({"s":"quote \" backslash \\ slash \/ \b\f\n\r\t","u":"\u00e9\ud83d\ude00 café  "})",
      R"({"__proto__":{"polluted":true},"2":"two","1":"one","b":"bee","":"empty"})",
      R"({"a":1,"b":2,"a":3})",
      R"({"n":[-0,0,1e300,-1.5e-7,9007199254740993,123456789012345678901234567890]})",
      R"({"esc\u0061ped key":1,"__pro\u0074o__":{"x":1}})",  // escaped keys: parsed in the isolate
      R"({"lone":"\ud800"})",
      "{\"deep\":" + std::string(20, '[') + "1" + std::string(20, ']') + "}",  // deeper than the reader goes
      many,
  };
  for (const auto& text : contexts) {
    auto result = runtime_->emit("server:onCreate", text);
    EXPECT_TRUE(result.errors.empty()) << text << ": " << result.errors[0];
    EXPECT_EQ(*runtime_->call("mirror", "matches", json::array({text}).dump()), "\"same\"") << text;
  }

  // Not JSON: each handler fails at once, naming why; the emit does not wait.
  auto broken = runtime_->emit("server:onCreate", R"({"user": )");
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_NE(broken.errors[0].find("mirror: the hook context is not JSON"), std::string::npos) << broken.errors[0];
  auto scalar = runtime_->emit("server:onCreate", "5");
  ASSERT_EQ(scalar.errors.size(), 1u);
  EXPECT_NE(scalar.errors[0].find("mirror: the hook context is not a JSON object"), std::string::npos) << scalar.errors[0];
}

// Every plugin's context comes from one startup snapshot (base_context.h):
// each still gets its own globals and its own random numbers.
TEST_F(RuntimeTest, PluginsStartFromOneSnapshotYetShareNothing) {
  const char* probe = R"js(
export default function (sodium) {
  const before = typeof globalThis.marker + ' ' + typeof URL.prototype.extra;
  globalThis.marker = 1;
  URL.prototype.extra = () => 'changed';
  return {
    before: () => before,
    randoms: () => [Math.random(), Math.random()].join(','),
    uuid: () => crypto.randomUUID(),
  };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("one", json::object(), {{"server.js", probe}})).ok());
  ASSERT_TRUE(runtime_->activate(plugin("two", json::object(), {{"server.js", probe}})).ok());
  EXPECT_EQ(*runtime_->call("one", "before"), "\"undefined undefined\"");
  EXPECT_EQ(*runtime_->call("two", "before"), "\"undefined undefined\"");  // not what one set
  EXPECT_NE(*runtime_->call("one", "randoms"), *runtime_->call("two", "randoms"));
  EXPECT_NE(*runtime_->call("one", "uuid"), *runtime_->call("two", "uuid"));
}

TEST_F(RuntimeTest, PluginsCannotReachOutsideTheirIsolateAndFolder) {
  test::writeFile(dir_ / "plugins" / "outside.js", "export default 1;\n");
  const char* probe = R"js(
export default function (sodium) {
  const globalOf = (function () {}).constructor('return this')();
  return {
    globals: () => [typeof require, typeof process, typeof Buffer, typeof globalOf.require, typeof globalOf.process, typeof module],
    dynamicImport: async () => { try { await import('fs'); return 'imported'; } catch (e) { return String(e.message); } },
    tamper: () => { Object.prototype.polluted = 'yes'; Array.prototype.map = null; try { sodium.db.find = null; } catch {} return Object.isFrozen(sodium.db) && typeof sodium.db.find === 'function'; },
  };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("probe", json::object(), {{"server.js", probe}})).ok());
  auto globals = runtime_->call("probe", "globals");
  ASSERT_TRUE(globals.ok()) << globals.error().message;
  EXPECT_EQ(*globals, R"(["undefined","undefined","undefined","undefined","undefined","undefined"])");
  auto dynamic = runtime_->call("probe", "dynamicImport");
  ASSERT_TRUE(dynamic.ok()) << dynamic.error().message;
  EXPECT_NE(dynamic->find("is not available to plugins"), std::string::npos) << *dynamic;

  for (const auto& [name, source, expected] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"fs-import", "import fs from 'fs';\nexport default () => {};\n", "Cannot import \"fs\""},
           {"node-import", "import fs from 'node:fs';\nexport default () => {};\n", "Cannot import \"node:fs\""},
           {"escape-import", "import x from '../outside.js';\nexport default () => {};\n", "outside the plugin's folder"},
           {"absolute-import", "import x from '/etc/passwd';\nexport default () => {};\n", "Cannot import \"/etc/passwd\""},
           {"uses-require", "const fs = require('fs');\nexport default () => {};\n", "require is not defined"},
           {"no-default", "export const x = 1;\n", "must `export default function"},
           {"throws", "export default () => { throw new Error('refusing to start'); };\n", "refusing to start"},
           {"syntax", "export default () => {\n", "server.js:"}}) {
    Status s = runtime_->activate(plugin(name, json::object(), {{"server.js", source}}));
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_NE(s.error().message.find(expected), std::string::npos) << name << ": " << s.error().message;
  }
  // Tampering with built-ins changes only the plugin's own isolate.
  auto tampered = runtime_->call("probe", "tamper");
  ASSERT_TRUE(tampered.ok()) << tampered.error().message;
  EXPECT_EQ(*tampered, "true");
  ASSERT_TRUE(runtime_->activate(plugin("neighbour", json::object(), {{"server.js", R"js(
export default () => ({ check: () => [({}).polluted ?? null, typeof [].map] });
)js"}})).ok());
  auto neighbour = runtime_->call("neighbour", "check");
  ASSERT_TRUE(neighbour.ok()) << neighbour.error().message;
  EXPECT_EQ(*neighbour, R"([null,"function"])");
}

TEST_F(RuntimeTest, RunawayCodeIsStoppedAndOtherPluginsKeepServing) {
  const char* runaway = R"js(
export default function (sodium) {
  sodium.http.registerRoutes((r) => {
    r.get('/spin', () => { for (;;) {} });
    r.get('/ok', () => ({ ok: true }));
    r.get('/hog', () => { const keep = []; for (;;) keep.push(new Array(1000000).fill(keep.length + 0.5)); });
  });
}
)js";
  const char* healthy = R"js(
export default function (sodium) { sodium.http.registerRoutes((r) => r.get('/ping', () => ({ pong: true }))); }
)js";
  ASSERT_TRUE(runtime_->activate(plugin("runaway", json::object(), {{"server.js", runaway}})).ok());
  ASSERT_TRUE(runtime_->activate(plugin("healthy", json::object(), {{"server.js", healthy}})).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, failed{0};
  std::thread load([&] {
    while (!stop) {
      auto r = runtime_->handleRequest("healthy", {.method = "GET", .path = "/ping"});
      (r.ok() && r->status == 200 ? served : failed)++;
    }
  });
  auto spin = request("runaway", "GET", "/spin");
  EXPECT_EQ(spin.status, 500);
  EXPECT_NE(spin.body.find("ran longer than 300 ms"), std::string::npos) << spin.body;
  EXPECT_EQ(request("runaway", "GET", "/ok").status, 200);  // the termination was cleared

  // The heap limit, in a runtime whose CPU limit is far away (under the
  // sanitizers a full heap takes a while to reach): that plugin is stopped.
  RuntimeOptions roomy;
  roomy.dataDir = (dir_ / "data2").string();
  roomy.limits.heapBytes = 32u << 20;
  roomy.limits.callTimeout = std::chrono::seconds(20);
  roomy.limits.maxRestarts = 0;  // restarts are tested on their own
  roomy.log = [](const std::string&, const std::string&, const std::string&) {};
  auto second = Runtime::create(roomy);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE((*second)->activate((dir_ / "plugins/runaway").string()).ok());
  auto hog = (*second)->handleRequest("runaway", {.method = "GET", .path = "/hog"});
  EXPECT_TRUE(!hog.ok() || hog->status == 500);
  auto states = (*second)->plugins();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].state, PluginRunState::kFailed);
  EXPECT_NE(states[0].error.find("heap limit"), std::string::npos) << states[0].error;
  EXPECT_FALSE((*second)->handleRequest("runaway", {.method = "GET", .path = "/ok"}).ok());
  EXPECT_EQ(request("runaway", "GET", "/ok").status, 200);  // the same plugin in the other runtime is untouched
  stop = true;
  load.join();
  EXPECT_GT(served.load(), 10);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(request("healthy", "GET", "/ping").status, 200);
}

// How often this process's threads named `name` were woken so far.
long wakeUpsOf(const std::string& name) {
  long total = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string threadName;
    std::getline(comm, threadName);
    if (threadName != name) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("voluntary_ctxt_switches:")) total += std::stol(line.substr(line.find(':') + 1));
    }
  }
  return total;
}

// The watchdog and the supervisor sleep while there is nothing to time or
// to restart (FailingPluginsRestartWithBackoffThenStayFailed: a failure
// wakes the supervisor).
TEST_F(RuntimeTest, AnIdleRuntimesWatchdogSleepsAndWakesForRunawayCode) {
  ASSERT_TRUE(runtime_->activate(plugin("runaway", json::object(), {{"server.js", R"js(
export default function (sodium) {
  sodium.http.registerRoutes((r) => { r.get('/spin', () => { for (;;) {} }); r.get('/ok', () => ({ ok: true })); });
}
)js"}})).ok());
  EXPECT_EQ(request("runaway", "GET", "/ok").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const long before = wakeUpsOf("pb-watchdog"), supervisorBefore = wakeUpsOf("pb-supervisor");
  ASSERT_GT(before, 0);  // the threads are there, under their names
  ASSERT_GT(supervisorBefore, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_LE(wakeUpsOf("pb-watchdog") - before, 2);             // it looked every 5 ms before: ~100
  EXPECT_LE(wakeUpsOf("pb-supervisor") - supervisorBefore, 2);  // every 50 ms before: ~10
  auto spin = request("runaway", "GET", "/spin");  // after the sleep: the request wakes it
  EXPECT_EQ(spin.status, 500);
  EXPECT_NE(spin.body.find("ran longer than 300 ms"), std::string::npos) << spin.body;
  EXPECT_EQ(request("runaway", "GET", "/ok").status, 200);
}

// Every way out we know of, tried while a neighbour serves a steady load:
// each must fail, and every one of the neighbour's requests must succeed.
TEST_F(RuntimeTest, EscapeAttemptsFailWhileOtherPluginsServeUnderLoad) {
  const char* attacker = R"js(
export default function (sodium) {
  const tryIt = (f) => { try { return f(); } catch (e) { return 'refused: ' + (e && e.message || e); } };
  return {
    // Host objects through Function and constructor chains: only this isolate's own global.
    constructors: () => [
      typeof sodium.db.find.constructor('return this')().native,
      (() => {}).constructor.constructor('return typeof native')(),
      typeof Object.getPrototypeOf(sodium.hooks.on).constructor('return this')().require,
      Object.getOwnPropertyNames(globalThis).filter((n) => /native|require|process|binding/i.test(n)).length,
    ],
    // The stack-trace API and caller chains do not hand out the runtime's functions.
    stackFrames: () => {
      const saved = Error.prepareStackTrace;
      let leaked = [];
      Error.prepareStackTrace = (e, frames) => frames.map((f) => typeof f.getFunction());
      try {
        sodium.hooks.on('server:onCreate', () => {});  // a call into the runtime, then back out
        leaked = new Error('probe').stack.filter((t) => t === 'function');
      } finally { Error.prepareStackTrace = saved; }
      return leaked.length;
    },
    caller: () => new Function('return arguments.callee.caller === null')(),
    // Memory outside the JS heap: wasm memories and shared buffers are not available or capped.
    wasm: () => tryIt(() => { const m = new WebAssembly.Memory({ initial: 16384 }); new Uint8Array(m.buffer).fill(1, 0, 1 << 20); return 'allocated ' + m.buffer.byteLength; }),
    bigBuffer: () => tryIt(() => { const b = new ArrayBuffer(512 * 1024 * 1024); return 'allocated ' + b.byteLength; }),
    // Blocking without spinning is still stopped by the watchdog.
    atomicsWait: () => tryIt(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000)),
    // The API object and the built-ins are frozen or private to this isolate.
    tamper: () => {
      Object.prototype.evil = 1; JSON.parse = () => 'evil'; Promise.prototype.then = () => 'evil';
      return [tryIt(() => { sodium.db = null; return 'replaced'; }), Object.isFrozen(sodium), Object.isFrozen(sodium.http)];
    },
  };
}
)js";
  const char* victim = R"js(
export default function (sodium) {
  sodium.db.registerCollections(['rows']);
  sodium.http.registerRoutes((r) => r.get('/check', async () => {
    await null;
    return { evil: ({}).evil ?? null, parse: JSON.parse('[1]'), rows: sodium.db.count('rows') };
  }));
  return { echo: (x) => x };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("victim", json::object(), {{"server.js", victim}})).ok());
  ASSERT_TRUE(runtime_->activate(plugin("attacker", {{"hooks", {"server:onCreate"}}}, {{"server.js", attacker}})).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, failed{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 2; ++t) {
    load.emplace_back([&] {
      while (!stop) {
        auto r = runtime_->handleRequest("victim", {.method = "GET", .path = "/check"});
        bool ok = r.ok() && r->status == 200 && json::parse(r->body) == json::parse(R"({"evil":null,"parse":[1],"rows":0})");
        (ok ? served : failed)++;
      }
    });
  }
  auto call = [&](const std::string& method) {
    auto r = runtime_->call("attacker", method);
    EXPECT_TRUE(r.ok()) << method << ": " << r.error().message;
    return r.ok() ? json::parse(*r) : json();
  };
  EXPECT_EQ(call("constructors"), json::parse(R"(["undefined","undefined","undefined",0])"));
  EXPECT_EQ(call("stackFrames"), 0);
  EXPECT_EQ(call("caller"), true);
  json wasm = call("wasm");
  EXPECT_TRUE(wasm.is_string() && wasm.get<std::string>().starts_with("refused")) << wasm;
  json big = call("bigBuffer");
  EXPECT_TRUE(big.is_string() && big.get<std::string>().starts_with("refused")) << big;  // above the 32 MiB cap
  auto waited = runtime_->call("attacker", "atomicsWait");
  EXPECT_TRUE(!waited.ok() || waited->find("refused") != std::string::npos) << (waited.ok() ? *waited : waited.error().message);
  EXPECT_EQ(call("tamper"), json::parse(R"(["refused: Cannot assign to read only property 'db' of object '#<Object>'",true,true])"));
  EXPECT_EQ(call("constructors")[3], 0);  // the attacker still works after its own tampering and the watchdog
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_GT(served.load(), 10);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(*runtime_->call("victim", "echo", R"([{"a":1}])"), R"({"a":1})");
}

// replace(): the new code takes over with no gap; its hooks replace the
// old ones (never both); a new version that fails to start leaves the old.
TEST_F(RuntimeTest, ReplaceSwitchesCodeWithNoGap) {
  auto version = [&](const std::string& folder, const std::string& v, const std::string& extra = "") {
    fs::path dir = dir_ / folder / "swap";
    test::writeFile(dir / "plugin.json", json{{"id", "swap"}, {"name", "swap"}, {"version", v}, {"hooks", {"server:onCreate"}}}.dump());
    test::writeFile(dir / "server.js", "export default function (sodium) {\n" + extra +
                                           "  sodium.hooks.on('server:onCreate', (ctx) => { ctx.deny; });\n"
                                           "  sodium.http.registerRoutes((r) => r.get('/v', () => ({ v: '" + v + "' })));\n"
                                           "  return { v: () => '" + v + "' };\n}\n");
    return dir.string();
  };
  ASSERT_TRUE(runtime_->activate(version("one", "1.0.0")).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad{0};
  std::thread load([&] {
    while (!stop) {
      auto r = runtime_->handleRequest("swap", {.method = "GET", .path = "/v"});
      (r.ok() && r->status == 200 ? ok : bad)++;
    }
  });
  ASSERT_TRUE(runtime_->replace(version("two", "2.0.0")).ok());
  EXPECT_EQ(*runtime_->call("swap", "v"), R"("2.0.0")");
  EXPECT_EQ(runtime_->emit("server:onCreate", "{}").handlersRun, 1u);  // the new handler only
  auto broken = runtime_->replace(version("three", "3.0.0", "  throw new Error('3.0.0 cannot start');\n"));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("3.0.0 cannot start"), std::string::npos);
  EXPECT_EQ(*runtime_->call("swap", "v"), R"("2.0.0")");  // the old one serves on
  EXPECT_EQ(runtime_->emit("server:onCreate", "{}").handlersRun, 1u);
  stop = true;
  load.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(bad.load(), 0);
  ASSERT_EQ(runtime_->plugins().size(), 1u);
  EXPECT_EQ(runtime_->plugins()[0].version, "2.0.0");
}

TEST_F(RuntimeTest, ConfigFollowsTheManifestsSettingsSchema) {
  json manifest = {{"settings",
                    {{"currency", {{"type", "select"}, {"options", {"USD", "EUR"}}, {"default", "USD"}}},
                     {"api_key", {{"type", "string"}, {"secret", true}, {"label", "API key"}}},
                     {"threshold", {{"type", "number"}, {"default", 5}}}}}};
  const char* source = R"js(
export default function (sodium) {
  return {
    get: (k) => sodium.config.get(k),
    set: (k, v) => { try { sodium.config.set(k, v); return 'ok'; } catch (e) { return e.message; } },
    all: () => sodium.config.getAll(),
  };
}
)js";
  std::string dir = plugin("configured", manifest, {{"server.js", source}});
  ASSERT_TRUE(runtime_->activate(dir).ok());
  EXPECT_EQ(*runtime_->call("configured", "get", R"(["currency"])"), R"("USD")");
  EXPECT_EQ(*runtime_->call("configured", "get", R"(["threshold"])"), "5");
  EXPECT_EQ(*runtime_->call("configured", "get", R"(["nope"])"), "null");
  EXPECT_EQ(*runtime_->call("configured", "set", R"(["currency", "EUR"])"), R"("ok")");
  EXPECT_NE(runtime_->call("configured", "set", R"(["currency", "JPY"])")->find("must be one of USD, EUR"), std::string::npos);
  EXPECT_NE(runtime_->call("configured", "set", R"(["threshold", "high"])")->find("must be a number"), std::string::npos);
  EXPECT_EQ(*runtime_->call("configured", "set", R"(["api_key", "sk_live_123"])"), R"("ok")");
  // (this test's plugin.json lists the settings alphabetically)
  EXPECT_EQ(*runtime_->call("configured", "all"), R"({"api_key":"sk_live_123","currency":"EUR","threshold":5})");

  // What other interfaces see: the schema and the values, secrets masked.
  const std::string data = (dir_ / "data").string();
  auto shown = json::parse(*readPluginSettings(dir, data, true));
  EXPECT_EQ(shown["values"]["api_key"], "********");
  EXPECT_EQ(shown["values"]["currency"], "EUR");
  EXPECT_EQ(shown["schema"]["currency"]["options"], json({"USD", "EUR"}));
  EXPECT_EQ(shown["schema"]["api_key"]["secret"], true);
  // Writing back the masked secret keeps it; a bad value stores nothing.
  ASSERT_TRUE(writePluginSettings(dir, data, R"({"api_key":"********","threshold":7})").ok());
  EXPECT_EQ(*runtime_->call("configured", "get", R"(["api_key"])"), R"("sk_live_123")");
  EXPECT_EQ(*runtime_->call("configured", "get", R"(["threshold"])"), "7");
  Status bad = writePluginSettings(dir, data, R"({"threshold":9,"currency":"JPY"})");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(*runtime_->call("configured", "get", R"(["threshold"])"), "7");
}

// Sodium's config is free key/values per plugin (its api.js): any key takes
// any JSON value, an unknown key reads undefined, getAll is what is stored;
// declared keys keep their type and default.
TEST_F(RuntimeTest, ConfigKeepsFreeKeysAsSodiumDoes) {
  json manifest = {{"settings", {{"currency", {{"type", "select"}, {"options", {"USD", "EUR"}}, {"default", "USD"}}},
                                 {"note", {{"type", "string"}}}}}};
  const char* source = R"js(
export default function (sodium) {
  const { config } = sodium;
  const before = { note: typeof config.get('note'), nope: typeof config.get('nope'), all: config.getAll() };
  config.set('lastSyncTime', 1700000000000);
  config.set('servers', { list: [1, 2], nested: { ok: true } });
  config.set('flag', null);
  const returned = config.set('gone', 'soon');
  config.set('gone', undefined);
  let tooBig, wrongType;
  try { config.set('blob', 'x'.repeat(70000)); } catch (e) { tooBig = e.message; }
  try { config.set('currency', 42); } catch (e) { wrongType = e.message; }
  return {
    before: () => before,
    after: () => ({ sync: config.get('lastSyncTime'), servers: config.get('servers'), flag: config.get('flag'),
                    gone: typeof config.get('gone'), returned: typeof returned, all: config.getAll(), tooBig, wrongType }),
  };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("free", manifest, {{"server.js", source}})).ok());
  EXPECT_EQ(json::parse(*runtime_->call("free", "before")),
            json::parse(R"({"note":"undefined","nope":"undefined","all":{"currency":"USD"}})"));
  json after = json::parse(*runtime_->call("free", "after"));
  EXPECT_EQ(after["sync"], 1700000000000);
  EXPECT_EQ(after["servers"], json::parse(R"({"list":[1,2],"nested":{"ok":true}})"));
  EXPECT_EQ(after["flag"], nullptr);
  EXPECT_EQ(after["gone"], "undefined");
  EXPECT_EQ(after["returned"], "undefined");
  EXPECT_EQ(after["all"], json::parse(R"({"currency":"USD","flag":null,"lastSyncTime":1700000000000,"servers":{"list":[1,2],"nested":{"ok":true}}})"));
  EXPECT_NE(after["tooBig"].get<std::string>().find("more than the 64 KiB a setting holds"), std::string::npos) << after["tooBig"];
  EXPECT_NE(after["wrongType"].get<std::string>().find("must be one of USD, EUR, got a number"), std::string::npos) << after["wrongType"];

  // A plugin with no settings declared: getAll is {} until it stores one.
  const char* bare = R"js(
export default function (sodium) {
  return { all: () => sodium.config.getAll(), set: (k, v) => sodium.config.set(k, v) };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("bare", json::object(), {{"server.js", bare}})).ok());
  EXPECT_EQ(*runtime_->call("bare", "all"), "{}");
  ASSERT_TRUE(runtime_->call("bare", "set", R"(["k", [1]])").ok());
  EXPECT_EQ(*runtime_->call("bare", "all"), R"({"k":[1]})");
  // Administrators see declared settings first, then the free keys.
  auto shown = json::parse(*readPluginSettings(plugin("free", manifest, {{"server.js", source}}), (dir_ / "data").string(), true));
  EXPECT_EQ(shown["values"]["note"], nullptr);
  EXPECT_EQ(shown["values"]["lastSyncTime"], 1700000000000);
}

TEST_F(RuntimeTest, CronJobsRunWhenDueSkipOverlapsAndKeepErrors) {
  const char* source = R"js(
export default function (sodium) {
  let ticks = 0;
  const minutes = [];
  sodium.cron.register('tick', '* * * * *', (minute) => { ticks++; minutes.push(minute.toISOString()); });
  sodium.cron.register('monthly', '0 0 1 * *', () => { ticks += 100; });
  sodium.cron.register('slow', '* * * * *', () => new Promise((r) => setTimeout(r, 300)));
  sodium.cron.register('broken', '*/5 * * * *', () => { throw new Error('card declined'); });
  sodium.cron.register('asyncBroken', '*/5 * * * *', async () => { throw new Error('awaited, so handled'); });
  Promise.reject(new Error('nobody waits for this one'));
  let badSchedule = '';
  try { sodium.cron.register('bad', '61 * * * *', () => {}); } catch (e) { badSchedule = e.message; }
  return { ticks: () => ticks, minutes: () => minutes, badSchedule: () => badSchedule };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("cronned", json::object(), {{"server.js", source}})).ok());
  EXPECT_NE(runtime_->call("cronned", "badSchedule")->find("minute: \\\"61\\\" is outside 0-59"), std::string::npos)
      << *runtime_->call("cronned", "badSchedule");
  auto at = [](int minute) {
    std::tm tm{};
    tm.tm_year = 126;
    tm.tm_mon = 10;
    tm.tm_mday = 22;
    tm.tm_hour = 13;
    tm.tm_min = minute;
    return std::chrono::system_clock::from_time_t(timegm(&tm));
  };
  auto runsOf = [&](const std::string& id) {
    for (const auto& j : runtime_->cronJobs()) {
      if (j.id == id) return j.runs;
    }
    return uint64_t{0};
  };
  runtime_->runDueCronJobs(at(5));  // tick, slow, broken
  for (int i = 0; i < 200 && runsOf("tick") == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  runtime_->runDueCronJobs(at(6));  // tick; slow is still running: skipped
  auto settled = [&] {
    for (int i = 0; i < 200; ++i) {
      bool running = false;
      for (const auto& j : runtime_->cronJobs()) running = running || j.running;
      if (!running) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(settled());
  EXPECT_EQ(*runtime_->call("cronned", "ticks"), "2");
  // Each run is handed the minute it is for.
  EXPECT_EQ(*runtime_->call("cronned", "minutes"), R"(["2026-11-22T13:05:00.000Z","2026-11-22T13:06:00.000Z"])");
  std::map<std::string, CronJobState> jobs;
  for (const auto& j : runtime_->cronJobs()) jobs[j.id] = j;
  ASSERT_EQ(jobs.size(), 5u);
  EXPECT_EQ(jobs["tick"].runs, 2u);
  EXPECT_EQ(jobs["monthly"].runs, 0u);
  EXPECT_EQ(jobs["slow"].runs, 1u);
  EXPECT_EQ(jobs["slow"].skipped, 1u);
  EXPECT_GE(jobs["slow"].lastDurationMs, 250);
  EXPECT_EQ(jobs["broken"].lastError, "card declined");
  EXPECT_EQ(jobs["tick"].lastError, "");
  EXPECT_FALSE(jobs["tick"].lastRun.empty());
  EXPECT_TRUE(logged("cronned error [Plugin:cronned] cron job \"broken\" failed:"));
  EXPECT_TRUE(logged("cron job \"slow\" is still running; this run is skipped"));
  // A rejection awaited in the same task is the job's failure, not an unhandled one; one nobody awaits is reported.
  EXPECT_EQ(jobs["asyncBroken"].lastError, "awaited, so handled");
  EXPECT_FALSE(logged("unhandled promise rejection: Error: awaited, so handled"));
  EXPECT_TRUE(logged("unhandled promise rejection: Error: nobody waits for this one"));
}

TEST_F(RuntimeTest, PluginsCallEachOtherSynchronouslyAndCyclesAreErrors) {
  ASSERT_TRUE(runtime_->activate(plugin("math", json::object(), {{"server.js", R"js(
export default function (sodium) {
  return {
    add: (a, b) => a + b,
    echo: (value) => value,
    later: async (x) => { await new Promise((r) => setTimeout(r, 10)); return x + 1; },
    askBack: () => sodium.plugins.call('caller', 'ping'),
  };
}
)js"}})).ok());
  ASSERT_TRUE(runtime_->activate(plugin("caller", json::object(), {{"server.js", R"js(
export default function (sodium) {
  const attempt = (fn) => { try { return fn(); } catch (e) { return 'error: ' + e.message; } };
  return {
    sum: () => sodium.plugins.call('math', 'add', 2, 3),
    copy: () => { const o = { nested: [1, { deep: true }] }; const back = sodium.plugins.call('math', 'echo', o); return back !== o && back.nested[1].deep; },
    later: () => sodium.plugins.call('math', 'later', 41),
    inactive: () => attempt(() => sodium.plugins.call('nobody', 'x')),
    missing: () => attempt(() => sodium.plugins.call('math', 'nope')),
    cycle: () => attempt(() => sodium.plugins.call('math', 'askBack')),
    ping: () => 'pong',
  };
}
)js"}})).ok());
  EXPECT_EQ(*runtime_->call("caller", "sum"), "5");
  EXPECT_EQ(*runtime_->call("caller", "copy"), "true");
  EXPECT_EQ(*runtime_->call("caller", "later"), "42");  // the callee's promise is awaited
  // Sodium's texts, exactly (docs/plugins: "Plugin \"x\" is not active").
  EXPECT_EQ(*runtime_->call("caller", "inactive"), R"("error: Plugin \"nobody\" is not active")");
  EXPECT_EQ(*runtime_->call("caller", "missing"), R"("error: Plugin \"math\" has no method \"nope\"")");
  auto cycle = runtime_->call("caller", "cycle");
  ASSERT_TRUE(cycle.ok()) << cycle.error().message;
  EXPECT_NE(cycle->find("call cycle math -> caller -> math (it would wait on itself)"), std::string::npos) << *cycle;
  EXPECT_EQ(*runtime_->call("caller", "sum"), "5");  // nothing is stuck afterwards
}

// What is confined to a plugin is always there; what reaches outside it
// (the panel's data, other plugins, the network) needs its permission once
// a manifest lists any (patchbay/permissions.h).
TEST_F(RuntimeTest, PermissionsGateOnlyWhatReachesOutsideThePlugin) {
  const char* source = R"js(
export default function (sodium) {
  const attempt = async (fn) => { try { await fn(); return 'ok'; } catch (e) { return e.message; } };
  return {
    has: () => ['db', 'http', 'cron', 'ui', 'plugins', 'hooks', 'logger', 'config', 'data', 'auth', 'events', 'meta'].filter((k) => sodium[k] !== undefined),
    fetch: () => attempt(() => fetch('http://127.0.0.1:1/')),
    users: () => attempt(() => sodium.data.getUsers()),
    servers: () => attempt(() => sodium.data.getServers()),
    call: () => attempt(() => sodium.plugins.call('narrow', 'has')),
  };
}
)js";
  ASSERT_TRUE(runtime_->activate(plugin("narrow", {{"permissions", {"db:own", "servers:read"}}}, {{"server.js", source}})).ok());
  EXPECT_EQ(*runtime_->call("narrow", "has"), R"(["db","http","cron","ui","plugins","hooks","logger","config","data","auth","events","meta"])");
  EXPECT_EQ(*runtime_->call("narrow", "servers"), R"("ok")");
  EXPECT_EQ(*runtime_->call("narrow", "users"), R"("data.getUsers: plugin \"narrow\" needs the \"users:read\" permission in its manifest")");
  EXPECT_EQ(*runtime_->call("narrow", "call"), R"("plugins.call: plugin \"narrow\" needs the \"plugins:call\" permission in its manifest")");
  EXPECT_NE(runtime_->call("narrow", "fetch")->find("needs the \\\"webhooks:send\\\" permission"), std::string::npos)
      << *runtime_->call("narrow", "fetch");
  // Sodium's empty list: everything but outbound HTTP.
  ASSERT_TRUE(runtime_->activate(plugin("wide", json::object(), {{"server.js", source}})).ok());
  EXPECT_EQ(*runtime_->call("wide", "users"), R"("ok")");
  EXPECT_EQ(*runtime_->call("wide", "call"), R"("ok")");
  EXPECT_NE(runtime_->call("wide", "fetch")->find("permission"), std::string::npos);
}

// Seed 004's Discord Alerts, unchanged, posting to a local webhook.
TEST_F(RuntimeTest, DiscordAlertsPostsToItsWebhookWithFetch) {
  std::mutex mu;
  std::vector<std::string> received;
  http::Router router;
  router.add("POST", "/webhook", [&](http::Request& req) {
    std::lock_guard lock(mu);
    received.push_back(req.header("Content-Type") + " " + req.body);
    return http::Response::json(204, "");
  });
  router.add("GET", "/big", [](http::Request&) { return http::Response::text(200, std::string(6u << 20, 'x')); });
  http::Server webhook({}, router);
  ASSERT_TRUE(webhook.start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(webhook.port());

  fs::path dir = dir_ / "plugins/discord-alerts";
  fs::create_directories(dir_ / "plugins");
  fs::copy(fs::path(PATCHBAY_SOURCE_DIR) / "examples/plugins/discord-alerts", dir, fs::copy_options::recursive);
  ASSERT_TRUE(writePluginSettings(dir.string(), (dir_ / "data").string(), json{{"webhook_url", base + "/webhook"}}.dump()).ok());
  ASSERT_TRUE(runtime_->activate(dir.string()).ok());
  auto result = runtime_->emit("server:onCreate", R"({"server":{"name":"mc-1"},"user":{"username":"alice"}})");
  EXPECT_TRUE(result.errors.empty()) << result.errors[0];
  std::lock_guard lock(mu);
  ASSERT_EQ(received.size(), 1u);  // the hook awaited the fetch
  const std::string expected = "application/json " + json{{"content", ":new: Server **mc-1** was created by alice."}}.dump();
  EXPECT_EQ(received[0], expected);

  // Grants: limited to listed hosts; responses are capped.
  RuntimeOptions limited;
  limited.dataDir = (dir_ / "data3").string();
  limited.fetchGrants["fetcher"] = {true, {"example.invalid"}};
  limited.fetchGrants["bigfetcher"] = {true, {}};
  limited.log = [](const std::string&, const std::string&, const std::string&) {};
  auto rt = Runtime::create(limited);
  ASSERT_TRUE(rt.ok());
  const std::string fetcher = R"js(
export default () => ({ get: async (url) => { try { const r = await fetch(url); return (await r.text()).length; } catch (e) { return e.message; } } });
)js";
  ASSERT_TRUE((*rt)->activate(plugin("fetcher", json::object(), {{"server.js", fetcher}})).ok());
  ASSERT_TRUE((*rt)->activate(plugin("bigfetcher", json::object(), {{"server.js", fetcher}})).ok());
  EXPECT_NE((*rt)->call("fetcher", "get", json::array({base + "/big"}).dump())->find("is not among the hosts granted"), std::string::npos);
  // The host is libcurl's reading of the URL, the one the request goes to:
  // user info, case and an IPv6 form do not slip past a grant.
  const std::string port = base.substr(base.rfind(':') + 1);
  for (const std::string& url : {"http://example.invalid@127.0.0.1:" + port + "/big", "http://EXAMPLE.invalid:x@127.0.0.1:" + port + "/big",
                                 "http://[::ffff:127.0.0.1]:" + port + "/big"}) {
    EXPECT_NE((*rt)->call("fetcher", "get", json::array({url}).dump())->find("is not among the hosts granted"), std::string::npos) << url;
  }
  EXPECT_NE((*rt)->call("bigfetcher", "get", json::array({base + "/big"}).dump())->find("larger than"), std::string::npos)
      << *(*rt)->call("bigfetcher", "get", json::array({base + "/big"}).dump());
  EXPECT_NE((*rt)->call("bigfetcher", "get", json::array({"file:///etc/passwd"}).dump())->find("only http and https"), std::string::npos);
}

TEST_F(RuntimeTest, LogsArePrefixedAndKeptPerPlugin) {
  ASSERT_TRUE(runtime_->activate(plugin("chatty", json::object(), {{"server.js", R"js(
export default function (sodium) {
  for (let i = 0; i < 250; i++) console.log('line', i, { i });
  sodium.logger.warn('careful');
}
)js"}})).ok());
  auto lines = runtime_->logs("chatty");
  ASSERT_EQ(lines.size(), 200u);  // the last 200
  EXPECT_EQ(lines.front().message, "line 51 {\"i\":51}");
  EXPECT_EQ(lines.back().level, "warn");
  EXPECT_EQ(lines.back().message, "careful");
  EXPECT_TRUE(logged("chatty warn [Plugin:chatty] careful"));
  ASSERT_TRUE(runtime_->deactivate("chatty").ok());
  EXPECT_EQ(runtime_->logs("chatty").size(), 200u);  // still there to read why it stopped
}

// URL, URLSearchParams, TextEncoder/TextDecoder, atob/btoa and
// structuredClone answer a probe exactly as Node does.
TEST_F(RuntimeTest, WebGlobalsAgreeWithNode) {
  const std::string probe = test::readFile(fs::path(PATCHBAY_SOURCE_DIR) / "tests/oracle/web_globals_probe.js");
  auto node = test::run("node '" + std::string(PATCHBAY_SOURCE_DIR) + "/tests/oracle/web_globals_probe.js'");
  ASSERT_EQ(node.exitCode, 0) << node.output;
  ASSERT_TRUE(runtime_->activate(plugin("probe", json::object(), {{"server.js", probe + "\nexport default () => ({ probe });\n"}})).ok());
  auto ours = runtime_->call("probe", "probe");
  ASSERT_TRUE(ours.ok()) << ours.error().message;
  json expected = json::parse(node.output), actual = json::parse(*ours);
  for (const auto& [key, value] : expected.items()) {
    if (value.is_array() && actual[key].is_array() && value.size() == actual[key].size()) {
      for (size_t i = 0; i < value.size(); ++i) EXPECT_EQ(actual[key][i], value[i]) << key << "[" << i << "]";
    } else {
      EXPECT_EQ(actual[key], value) << key;
    }
  }
}

// For the restart tests: a runtime whose plugins fail fast at a 16 MiB heap
// (GET /hog fills it) and are restarted after `backoff`, its log dropped.
RuntimeOptions restartingOptions(const fs::path& dataDir, std::chrono::milliseconds backoff, int maxRestarts) {
  RuntimeOptions options;
  options.dataDir = dataDir.string();
  options.limits.heapBytes = 16u << 20;
  options.limits.callTimeout = std::chrono::seconds(20);
  options.limits.restartBackoff = backoff;
  options.limits.maxRestarts = maxRestarts;
  options.log = [](const std::string&, const std::string&, const std::string&) {};
  return options;
}
constexpr const char* kHeapHogServer = R"js(
export default function (sodium) {
  sodium.http.registerRoutes((r) => {
    r.get('/ok', () => ({ ok: true }));
    r.get('/hog', () => { const keep = []; for (;;) keep.push(new Array(1000000).fill(keep.length + 0.5)); });
  });
}
)js";
// The state of the runtime's only plugin; between stop and start it is
// briefly absent, which reads as failed.
PluginState onlyPlugin(Runtime& rt) {
  auto all = rt.plugins();
  return all.empty() ? PluginState{.state = PluginRunState::kFailed} : all[0];
}

TEST_F(RuntimeTest, FailingPluginsRestartWithBackoffThenStayFailed) {
  auto rt = Runtime::create(restartingOptions(dir_ / "data4", std::chrono::milliseconds(50), 2));
  ASSERT_TRUE(rt.ok());
  ASSERT_TRUE((*rt)->activate(plugin("fragile", json::object(), {{"server.js", kHeapHogServer}})).ok());
  auto state = [&] { return onlyPlugin(**rt); };
  auto waitFor = [&](auto condition) {
    for (int i = 0; i < 400; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  for (int round = 1; round <= 2; ++round) {
    (void)(*rt)->handleRequest("fragile", {.method = "GET", .path = "/hog"});
    EXPECT_NE(state().state, PluginRunState::kActive);  // failed, or already being restarted
    ASSERT_TRUE(waitFor([&] { return state().state == PluginRunState::kActive; })) << "round " << round;
    EXPECT_EQ(state().restarts, round);
    EXPECT_EQ((*rt)->handleRequest("fragile", {.method = "GET", .path = "/ok"})->status, 200);
  }
  (void)(*rt)->handleRequest("fragile", {.method = "GET", .path = "/hog"});
  ASSERT_TRUE(waitFor([&] { return !state().restartPending; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(state().state, PluginRunState::kFailed);  // given up: visible, not restarted
  EXPECT_EQ(state().restarts, 2);
  EXPECT_NE(state().error.find("heap limit"), std::string::npos);
  // An administrator's deactivate and activate start afresh.
  ASSERT_TRUE((*rt)->deactivate("fragile").ok());
  ASSERT_TRUE((*rt)->activate((dir_ / "plugins/fragile").string()).ok());
  EXPECT_EQ(state().restarts, 0);
  EXPECT_EQ((*rt)->handleRequest("fragile", {.method = "GET", .path = "/ok"})->status, 200);
}

// Restarts are counted against a crash loop, not against a plugin's life:
// a failure after it ran restartsForgottenAfter counts as its first.
TEST_F(RuntimeTest, APluginThatRanLongEnoughIsRestartedAfterItsNextFailure) {
  RuntimeOptions options = restartingOptions(dir_ / "data-forgotten", std::chrono::milliseconds(20), 1);
  options.limits.restartsForgottenAfter = std::chrono::milliseconds(1000);
  auto rt = Runtime::create(options);
  ASSERT_TRUE(rt.ok());
  ASSERT_TRUE((*rt)->activate(plugin("weekly", json::object(), {{"server.js", kHeapHogServer}})).ok());
  auto state = [&] { return onlyPlugin(**rt); };
  auto restarted = [&](int times) {
    for (int i = 0; i < 300; ++i) {
      PluginState s = state();
      if (s.state == PluginRunState::kActive && s.restarts == times) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  (void)(*rt)->handleRequest("weekly", {.method = "GET", .path = "/hog"});
  ASSERT_TRUE(restarted(1));
  // It runs past the window: its next failure is a first one, restarted.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  (void)(*rt)->handleRequest("weekly", {.method = "GET", .path = "/hog"});
  ASSERT_TRUE(restarted(1)) << "given up on, though it had run 1200 ms";
  // Failing again at once is a loop: given up on (maxRestarts 1).
  (void)(*rt)->handleRequest("weekly", {.method = "GET", .path = "/hog"});
  for (int i = 0; i < 300 && state().restartPending; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(state().state, PluginRunState::kFailed);
  EXPECT_FALSE(state().restartPending);
}

TEST_F(RuntimeTest, EachPluginsRoutesAreRateLimited) {
  RuntimeOptions options;
  options.dataDir = (dir_ / "data5").string();
  options.limits.requestsPerSecond = 2;
  options.limits.requestBurst = 5;
  options.log = [](const std::string&, const std::string&, const std::string&) {};
  auto rt = Runtime::create(options);
  ASSERT_TRUE(rt.ok());
  const char* source = "export default (s) => s.http.registerRoutes((r) => r.get('/', () => 'hi'));\n";
  ASSERT_TRUE((*rt)->activate(plugin("busy", json::object(), {{"server.js", source}})).ok());
  ASSERT_TRUE((*rt)->activate(plugin("quiet", json::object(), {{"server.js", source}})).ok());
  int ok = 0, limited = 0;
  for (int i = 0; i < 8; ++i) {
    auto r = (*rt)->handleRequest("busy", {});
    ASSERT_TRUE(r.ok());
    if (r->status == 200) ++ok;
    if (r->status == 429) {
      ++limited;
      EXPECT_NE(std::find(r->headers.begin(), r->headers.end(), std::pair<std::string, std::string>{"retry-after", "1"}), r->headers.end());
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(limited, 3);
  EXPECT_EQ((*rt)->handleRequest("quiet", {})->status, 200);  // the limit is per plugin
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ((*rt)->handleRequest("busy", {})->status, 200);  // refilled at 2 per second
}

TEST_F(RuntimeTest, SqlReachesOnlyThePluginsOwnTables) {
  fs::create_directories(dir_ / "data/sqlp");
  {
    auto db = Database::open((dir_ / "data/sqlp/data.db").string());  // as the plugin's migration would
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT, score REAL)").ok());
    ASSERT_TRUE(db->exec("CREATE TABLE _patchbay_migrations (plugin TEXT, step TEXT, applied_at TEXT)").ok());  // the installer's
  }
  ASSERT_TRUE(runtime_->activate(plugin("sqlp", json::object(), {{"server.js", R"js(
export default function (sodium) {
  const attempt = (q, p) => { try { return sodium.db.sql(q, p); } catch (e) { return 'error: ' + e.message; } };
  return { run: attempt };
}
)js"}})).ok());
  auto run = [&](const std::string& query, json params = json::array()) {
    auto r = runtime_->call("sqlp", "run", json::array({query, params}).dump());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? json::parse(*r) : json();
  };
  EXPECT_EQ(run("INSERT INTO notes (text, score) VALUES (?, ?)", {"first", 1.5})["changes"], 1);
  EXPECT_EQ(run("INSERT INTO notes (text, score) VALUES (?, ?)", {"second", nullptr})["lastInsertRowid"], 2);
  auto rows = run("SELECT id, text, score FROM notes WHERE id >= ? ORDER BY id", {1});
  EXPECT_EQ(rows, json::parse(R"([{"id":1,"text":"first","score":1.5},{"id":2,"text":"second","score":null}])"));
  EXPECT_EQ(run("UPDATE notes SET text = ? WHERE id = ?", {"changed", 1})["changes"], 1);
  for (const auto& [query, expected] : std::vector<std::pair<std::string, std::string>>{
           {"ATTACH DATABASE '/tmp/elsewhere.db' AS other", "not allowed"},
           {"PRAGMA writable_schema = 1", "not allowed"},
           {"CREATE TABLE mine (x)", "not allowed"},
           {"DROP TABLE notes", "not allowed"},
           {"SELECT load_extension('/tmp/evil.so')", "not allowed"},
           {"INSERT INTO sqlite_master VALUES ('table','x','x',0,'')", "not allowed"},
           {"DELETE FROM _patchbay_migrations", "not allowed"},
           {"VACUUM INTO '/tmp/copy.db'", "VACUUM is not allowed"},
           {"SELECT 1; SELECT 2", "one statement at a time"},
           {"SELECT * FROM missing", "no such table"},
           {"SELECT ?", "1 parameters, 0 given"}}) {
    json answer = run(query);
    ASSERT_TRUE(answer.is_string()) << query << ": " << answer.dump();
    EXPECT_NE(answer.get<std::string>().find(expected), std::string::npos) << query << ": " << answer;
  }
  EXPECT_FALSE(fs::exists("/tmp/copy.db"));
  EXPECT_EQ(run("SELECT COUNT(*) AS n FROM notes")[0]["n"], 2);  // nothing above changed the table
}

// docs/runtime.md's example plugin runs as written.
TEST_F(RuntimeTest, DocsExamplePluginRuns) {
  std::string doc = test::readFile(fs::path(PATCHBAY_SOURCE_DIR) / "docs/runtime.md");
  size_t start = doc.find("```js\n");
  ASSERT_NE(start, std::string::npos);
  start += 6;
  std::string source = doc.substr(start, doc.find("```", start) - start);
  ASSERT_TRUE(runtime_->activate(plugin("notes", {{"hooks", {"server:beforeCreate"}}},
                                        {{"server.js", source}, {"lib/format.js", "export const title = (s) => s[0].toUpperCase() + s.slice(1);\n"}}))
                  .ok());
  EXPECT_FALSE(runtime_->emit("server:beforeCreate", R"({"user":{"id":1},"name":"mc","node":"n1"})").allowed);
  EXPECT_EQ(request("notes", "POST", "/notes", R"({"text":"buy milk"})").status, 201);
  EXPECT_EQ(json::parse(request("notes", "GET", "/notes").body)[0]["text"], "Buy milk");
  EXPECT_TRUE(runtime_->emit("server:beforeCreate", R"({"user":{"id":1},"name":"mc","node":"n1"})").allowed);
  EXPECT_EQ(*runtime_->call("notes", "count"), "1");
  EXPECT_TRUE(logged("notes info [Plugin:notes] notes loaded"));
}

}  // namespace
}  // namespace patchbay
