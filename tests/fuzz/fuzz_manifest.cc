// libFuzzer: the manifest parser must never crash, hang or leak on any input.
#include <cstdint>
#include <string_view>

#include "patchbay/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = patchbay::parseManifest(text, {"plugin.json", "fuzz-plugin"});
  auto b = patchbay::parseManifest(text, {"metadata.json", ""});
  // Invariant: a report is either a manifest or at least one error.
  if (a.ok() != a.manifest.has_value() || b.ok() != b.manifest.has_value()) __builtin_trap();
  return 0;
}
