// patchbay's side of bench/runtime: hook emission to N isolated handlers,
// and activation time and memory at 100 idle plugins. Prints one JSON object.
//   patchbay_bench_runtime WORK_DIR [hooks]
// Hooks with handlers that only read the context and with handlers that
// change it, measured in rounds that take turns (the median of each). For profiling: BENCH_N=1|10 and BENCH_KIND=reading|changing
// (one hook case), BENCH_SCALE=k (k times the
// iterations), BENCH_CTX='{"...":...}' (another hook context), BENCH_GAP_MS=m
// (a pause before each activation: activation once the isolate pool has
// caught up).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "patchbay/runtime.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The same handlers as bench/runtime/peers.js: one that only reads the
// context, one that changes it (then the change goes on to the next
// handler and back to the emitter).
const char* kReadingHandler = "(ctx) => { if (ctx.user.balance < 0) ctx.deny('owes money'); }";
const char* kChangingHandler = "(ctx) => { ctx.count = (ctx.count || 0) + 1; if (ctx.user.balance < 0) ctx.deny('owes money'); }";

std::string makePlugin(const fs::path& root, const std::string& id, const char* handler = kReadingHandler) {
  fs::path dir = root / id;
  fs::create_directories(dir);
  std::ofstream(dir / "plugin.json") << R"({"id":")" << id << R"(","name":")" << id
                                     << R"(","version":"1.0.0","hooks":["server:beforeCreate"]})";
  std::ofstream(dir / "server.js") << "export default function (sodium) { sodium.hooks.on('server:beforeCreate', " << handler << "); }\n";
  return dir.string();
}

double rssMb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " WORK_DIR [hooks]\n";
    return 2;
  }
  const bool hooksOnly = argc > 2 && std::string(argv[2]) == "hooks";
  fs::path work = argv[1];
  nlohmann::ordered_json out;
  const std::string context = getenv("BENCH_CTX") ? getenv("BENCH_CTX") : R"({"user":{"id":1,"balance":5},"name":"mc","node":"n1"})";
  // Every case is set up first, then measured in rounds that take turns
  // (reading 1, reading 10, changing 1, changing 10, again): this machine
  // has slow phases of seconds, and a case measured alone in one of them
  // would make the ratios between cases say nothing. Each case's figure is
  // the median of its rounds.
  struct Case {
    std::string name;
    bool changing;
    int n;
    std::unique_ptr<patchbay::Runtime> runtime;
    std::vector<double> nsPerEmit;
  };
  std::vector<Case> cases;
  for (const char* kind : {"reading", "changing"}) {
    for (int n : {1, 10}) {
      if (getenv("BENCH_N") && atoi(getenv("BENCH_N")) != n) continue;
      if (getenv("BENCH_KIND") && std::string(getenv("BENCH_KIND")) != kind) continue;
      const bool changing = std::string(kind) == "changing";
      const std::string name = std::string(kind) + "-" + std::to_string(n);
      patchbay::RuntimeOptions options;
      options.dataDir = (work / ("data-hooks-" + name)).string();
      options.log = [](const std::string&, const std::string&, const std::string&) {};
      auto rt = patchbay::Runtime::create(options);
      if (!rt) return 1;
      for (int i = 0; i < n; ++i) {
        if (auto s = (*rt)->activate(makePlugin(work / ("hooks-" + name), "p" + std::to_string(i), changing ? kChangingHandler : kReadingHandler)); !s) {
          std::cerr << s.error().message << "\n";
          return 1;
        }
      }
      // Warm up until every handler's code is optimized (each isolate sees
      // 5,000 calls; with 500 the N = 10 figure still held the tiering-up).
      for (int i = 0; i < 5000; ++i) (*rt)->emit("server:beforeCreate", context);
      cases.push_back({std::string(kind) + "_" + std::to_string(n), changing, n, std::move(*rt), {}});
    }
  }
  const int rounds = 7;
  const int scale = getenv("BENCH_SCALE") ? atoi(getenv("BENCH_SCALE")) : 1;
  for (int round = 0; round < rounds; ++round) {
    for (Case& c : cases) {
      const int iterations = (c.n == 1 ? 50000 : 10000) * scale / rounds;
      auto start = Clock::now();
      for (int i = 0; i < iterations; ++i) {
        auto r = c.runtime->emit("server:beforeCreate", context);
        if (r.handlersRun != static_cast<size_t>(c.n)) return 1;
      }
      c.nsPerEmit.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() / iterations);
    }
  }
  for (Case& c : cases) {
    // The chain really carried the changes: every handler counted once.
    auto last = c.runtime->emit("server:beforeCreate", context);
    if (c.changing && nlohmann::json::parse(last.context).value("count", 0) != c.n) return 1;
    if (!c.changing && last.context != context) return 1;
    std::sort(c.nsPerEmit.begin(), c.nsPerEmit.end());
    out["patchbay_" + c.name + "_ns_per_emit"] = c.nsPerEmit[c.nsPerEmit.size() / 2];
  }
  cases.clear();

  if (hooksOnly) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  // 100 idle plugins: activation time each (p50) and resident memory each.
  patchbay::RuntimeOptions options;
  options.dataDir = (work / "data-idle").string();
  options.log = [](const std::string&, const std::string&, const std::string&) {};
  auto rt = patchbay::Runtime::create(options);
  if (!rt) return 1;
  // The first isolate pays for V8's one-time start; measure from the second on.
  (void)(*rt)->activate(makePlugin(work / "idle", "warmup"));
  std::vector<double> ms;
  double before = rssMb();
  const int gapMs = getenv("BENCH_GAP_MS") ? atoi(getenv("BENCH_GAP_MS")) : 0;
  for (int i = 0; i < 100; ++i) {
    std::string dir = makePlugin(work / "idle", "idle" + std::to_string(i));
    if (gapMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(gapMs));
    auto start = Clock::now();
    if (auto s = (*rt)->activate(dir); !s) {
      std::cerr << s.error().message << "\n";
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  double after = rssMb();
  std::sort(ms.begin(), ms.end());
  out["patchbay_activation_ms_p50"] = ms[50];
  out["patchbay_mb_per_plugin"] = (after - before) / 100.0;
  std::cout << out.dump() << "\n";
  return 0;
}
