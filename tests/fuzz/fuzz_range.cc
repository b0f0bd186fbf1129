// libFuzzer: versions and ranges. Parsing must not crash; a parsed range's
// canonical form must parse again and accept the same versions.
#include <cstdint>
#include <string>
#include <string_view>

#include "patchbay/semver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)patchbay::Version::parse(text);
  auto r = patchbay::Range::parse(text);
  if (!r) return 0;
  auto again = patchbay::Range::parse(r->canonical());
  if (!again) __builtin_trap();
  for (const char* v : {"0.0.0", "1.2.3", "1.2.3-beta.1", "2.0.0-0", "10.20.30", "1.0.0-rc.1"}) {
    auto version = patchbay::Version::parse(v).value();
    if (r->satisfiedBy(version) != again->satisfiedBy(version)) __builtin_trap();
  }
  return 0;
}
