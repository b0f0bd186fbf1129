// The V8 that scripts/setup unpacks from Debian's libnode embeds and runs
// JavaScript: the runtime stands on this.
#include <gtest/gtest.h>
#include <libplatform/libplatform.h>
#include <v8.h>

#include <memory>

namespace {

TEST(V8Embedding, RunsAModuleFreeScriptInAFreshIsolate) {
  static std::unique_ptr<v8::Platform> platform = [] {
    auto p = v8::platform::NewDefaultPlatform();
    v8::V8::InitializePlatform(p.get());
    v8::V8::Initialize();
    return p;
  }();
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator(v8::ArrayBuffer::Allocator::NewDefaultAllocator());
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = allocator.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, 64 << 20);
  v8::Isolate* isolate = v8::Isolate::New(params);
  {
    v8::Isolate::Scope isolateScope(isolate);
    v8::HandleScope handles(isolate);
    v8::Local<v8::Context> context = v8::Context::New(isolate);
    v8::Context::Scope contextScope(context);
    auto source = v8::String::NewFromUtf8Literal(isolate, "typeof require + ',' + typeof process + ',' + [1, 2, 3].map(x => x * 2).join('-')");
    auto script = v8::Script::Compile(context, source).ToLocalChecked();
    v8::String::Utf8Value result(isolate, script->Run(context).ToLocalChecked());
    EXPECT_STREQ(*result, "undefined,undefined,2-4-6");
  }
  isolate->Dispose();
}

}  // namespace
