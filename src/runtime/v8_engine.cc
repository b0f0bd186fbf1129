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
    platform = v8::platform::NewDefaultPlatform();
    v8::V8::InitializePlatform(platform.get());
    v8::V8::Initialize();
  });
}

}  // namespace patchbay
