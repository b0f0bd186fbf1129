// libFuzzer: .patchbayignore patterns (the glob matcher must not hang).
#include <cstdint>
#include <string>
#include <string_view>

#include "patchbay/package.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t split = text.find('\n');
  auto rules = patchbay::IgnoreRules::fromText(text, "fuzz");
  std::string path(split == std::string_view::npos ? text : text.substr(0, split));
  (void)rules.ignored(path, false);
  (void)rules.ignored("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z.txt", false);
  return 0;
}
