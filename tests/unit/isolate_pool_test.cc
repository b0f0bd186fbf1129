// The pool of ready isolates behind activation (src/runtime/isolate_pool.h):
// isolates are made ahead on its thread, taken ready, usable on any thread,
// and the spares are disposed with the pool.
#include "runtime/isolate_pool.h"

#include <gtest/gtest.h>
#include <v8.h>

#include <chrono>
#include <thread>

namespace patchbay {
namespace {

constexpr size_t kHeap = 16u << 20;

bool waitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// 6 * 7 evaluated in the isolate, under its lock, on this thread.
int evaluate(v8::Isolate* isolate) {
  v8::Locker locker(isolate);
  v8::Isolate::Scope isolateScope(isolate);
  v8::HandleScope handles(isolate);
  v8::Local<v8::Context> ctx = v8::Context::New(isolate);
  v8::Context::Scope contextScope(ctx);
  auto source = v8::String::NewFromUtf8Literal(isolate, "6 * 7");
  return v8::Script::Compile(ctx, source).ToLocalChecked()->Run(ctx).ToLocalChecked()->Int32Value(ctx).FromJust();
}

TEST(IsolatePoolTest, SparesAreMadeAheadAndTakenReady) {
  IsolatePool pool(2, 2);
  EXPECT_EQ(pool.ready(kHeap), 0u);  // nothing is made before a size is asked for
  FreshIsolate first = pool.take(kHeap);  // made on this thread: none was ready
  ASSERT_NE(first.isolate, nullptr);
  EXPECT_FALSE(first.madeAhead);
  ASSERT_TRUE(waitFor([&] { return pool.ready(kHeap) == 2; }));
  FreshIsolate second = pool.take(kHeap);
  EXPECT_TRUE(second.madeAhead);  // taken ready (the pool may have made its replacement already)
  ASSERT_TRUE(waitFor([&] { return pool.ready(kHeap) == 2; }));  // and the pool makes another

  // Each comes with its base context: the web globals and the prelude.
  {
    v8::Locker locker(second.isolate);
    v8::Isolate::Scope isolateScope(second.isolate);
    v8::HandleScope handles(second.isolate);
    ASSERT_FALSE(second.context.IsEmpty()) << second.failure;
    v8::Local<v8::Context> ctx = second.context.Get(second.isolate);
    v8::Context::Scope contextScope(ctx);
    auto source = v8::String::NewFromUtf8Literal(second.isolate, "new URL('https://a.example/x?y=1').searchParams.get('y')");
    v8::String::Utf8Value y(second.isolate, v8::Script::Compile(ctx, source).ToLocalChecked()->Run(ctx).ToLocalChecked());
    EXPECT_STREQ(*y, "1");
    EXPECT_TRUE(second.preludeFactory.Get(second.isolate)->IsFunction());
  }

  // Made on the pool's thread, used here and on another thread.
  EXPECT_EQ(evaluate(second.isolate), 42);
  int onOtherThread = 0;
  std::thread([&] { onOtherThread = evaluate(second.isolate); }).join();
  EXPECT_EQ(onOtherThread, 42);
  EXPECT_EQ(evaluate(first.isolate), 42);
  EXPECT_EQ(pool.ready(2 * kHeap), 0u);  // another size: only once asked for
  first.dispose();
  second.dispose();
}  // the spares are disposed here (LeakSanitizer watches this under ASan)

TEST(IsolatePoolTest, RuntimesShareOnePoolWhileAnyHoldsIt) {
  auto a = IsolatePool::shared();
  auto b = IsolatePool::shared();
  EXPECT_EQ(a.get(), b.get());
  a.reset();
  b.reset();  // the last holder: its thread stopped, its spares disposed
  auto c = IsolatePool::shared();  // a new one, working
  FreshIsolate fresh = c->take(kHeap);
  EXPECT_EQ(evaluate(fresh.isolate), 42);
  fresh.dispose();
}

}  // namespace
}  // namespace patchbay
