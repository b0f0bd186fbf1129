// The floor under an isolated hook handler in this V8 (Debian's libnode):
// what entering an isolate and calling one function costs before any of
// patchbay's work, for N = 1 and 10 isolates visited in turn. Prints JSON,
// ns per isolate visit:
//   lock_ns         v8::Locker taken and let go (top level, as a caller's
//                   thread must: the isolate is shared by threads)
//   scopes_ns       + Isolate::Scope, HandleScope, Context::Scope
//   call_ns         + TryCatch, a string argument, Function::Call of a
//                   function that builds a small object literal and returns
//                   '', and the microtask checkpoint
//   v8_floor_bench [N]
#include <libplatform/libplatform.h>
#include <v8.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Plugin {
  v8::Isolate* isolate = nullptr;
  v8::Global<v8::Context> context;
  v8::Global<v8::Function> handler;
};

enum class Depth { kLock, kScopes, kCall };

double nsPerVisit(std::vector<Plugin>& plugins, Depth depth) {
  const int rounds = 200000 / static_cast<int>(plugins.size());
  auto visit = [&](Plugin& p) {
    v8::Locker locker(p.isolate);
    if (depth == Depth::kLock) return;
    v8::Isolate::Scope isolateScope(p.isolate);
    v8::HandleScope handles(p.isolate);
    v8::Local<v8::Context> ctx = p.context.Get(p.isolate);
    v8::Context::Scope contextScope(ctx);
    if (depth == Depth::kScopes) return;
    v8::TryCatch tryCatch(p.isolate);
    v8::Local<v8::Value> args[] = {v8::String::NewFromUtf8Literal(p.isolate, "mc")};
    v8::Local<v8::Value> result;
    if (!p.handler.Get(p.isolate)->Call(ctx, v8::Undefined(p.isolate), 1, args).ToLocal(&result)) std::abort();
    p.isolate->PerformMicrotaskCheckpoint();
  };
  for (int i = 0; i < rounds / 10; ++i) {
    for (auto& p : plugins) visit(p);  // warm up (and let the handler be optimized)
  }
  const auto start = Clock::now();
  for (int i = 0; i < rounds; ++i) {
    for (auto& p : plugins) visit(p);
  }
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / (static_cast<double>(rounds) * static_cast<double>(plugins.size()));
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1;
  v8::V8::SetFlagsFromString("--no-concurrent-recompilation");  // as the runtime runs (v8_engine.cc)
  std::unique_ptr<v8::Platform> platform = v8::platform::NewDefaultPlatform();
  v8::V8::InitializePlatform(platform.get());
  v8::V8::Initialize();
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator(v8::ArrayBuffer::Allocator::NewDefaultAllocator());
  std::vector<Plugin> plugins(static_cast<size_t>(n));
  for (auto& p : plugins) {
    v8::Isolate::CreateParams params;
    params.array_buffer_allocator = allocator.get();
    p.isolate = v8::Isolate::New(params);
    v8::Locker locker(p.isolate);
    v8::Isolate::Scope isolateScope(p.isolate);
    v8::HandleScope handles(p.isolate);
    v8::Local<v8::Context> ctx = v8::Context::New(p.isolate);
    v8::Context::Scope contextScope(ctx);
    p.isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
    auto source = v8::String::NewFromUtf8Literal(
        p.isolate, "(function (name) { const ctx = { user: { id: 1, balance: 5 }, name, node: 'n1' }; return ctx.user.balance < 0 ? 'D' : ''; })");
    p.context.Reset(p.isolate, ctx);
    p.handler.Reset(p.isolate, v8::Script::Compile(ctx, source).ToLocalChecked()->Run(ctx).ToLocalChecked().As<v8::Function>());
  }
  const double lock = nsPerVisit(plugins, Depth::kLock);
  const double scopes = nsPerVisit(plugins, Depth::kScopes);
  const double call = nsPerVisit(plugins, Depth::kCall);
  std::printf("{\"n\":%d,\"lock_ns\":%.0f,\"scopes_ns\":%.0f,\"call_ns\":%.0f}\n", n, lock, scopes, call);
  for (auto& p : plugins) {
    {
      v8::Locker locker(p.isolate);
      v8::Isolate::Scope isolateScope(p.isolate);
      p.handler.Reset();
      p.context.Reset();
    }
    p.isolate->Dispose();
  }
  v8::V8::Dispose();
  v8::V8::DisposePlatform();
  return 0;
}
