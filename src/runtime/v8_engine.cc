#include "runtime/v8_engine.h"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <memory>
#include <mutex>

namespace patchbay {

void ensureV8() {
  static std::once_flag once;
  static std::unique_ptr<v8::Platform> platform;
  std::call_once(once, [] {
    // No WebAssembly: a wasm memory is reserved and committed outside the
    // JS heap and the capped ArrayBuffer allocator, so it would slip past a
    // plugin's memory limit (a probe filled 1 GiB). Plugins are JavaScript.
    v8::V8::SetFlagsFromString("--no-expose-wasm");
    // Optimized code is made on the thread that runs the plugin, not on a
    // background thread: a background job asks for its code to be installed
    // through the isolate's interrupt flags, and each top-level v8::Locker
    // (one per request, hook or call here) resets those flags. An isolate
    // idle between calls lost the request, and its hot functions ran
    // unoptimized for good (seen with --trace-opt: 20 jobs compiled, none
    // installed, across 10 plugins emitting hooks in turn).
    v8::V8::SetFlagsFromString("--no-concurrent-recompilation");
    // No pretenuring: V8 decided that hook contexts (short-lived objects
    // made for each handler) survive, allocated them in the old generation,
    // and each plugin's heap grew to its limit between full collections
    // (bench/runtime: 20 MB per 20,000 emits, emits 1.6x slower). Plugins'
    // objects are mostly per request or per hook; the young generation is
    // where they belong.
    v8::V8::SetFlagsFromString("--no-allocation-site-pretenuring");
    platform = v8::platform::NewDefaultPlatform();
    v8::V8::InitializePlatform(platform.get());
    v8::V8::Initialize();
  });
}

}  // namespace patchbay
