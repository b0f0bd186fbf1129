// libFuzzer: untrusted ZIPs. Inspection and extraction must not crash, and
// extraction must never create anything outside its staging folder.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "patchbay/archive.h"
#include "patchbay/package.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path root = fs::temp_directory_path() / ("patchbay-fuzz-" + std::to_string(::getpid()));
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  patchbay::ArchiveLimits limits;
  limits.maxTotalBytes = 4 << 20;
  limits.maxEntryBytes = 4 << 20;
  auto listing = patchbay::inspectZip(bytes, limits);
  (void)patchbay::openPackage(bytes, "fuzz_v1.0.0.zip", limits);
  if (!listing) return 0;
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(root / "staging");
  (void)patchbay::extractZip(bytes, (root / "staging").string(), limits);
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.path().filename() != "staging") __builtin_trap();  // escaped the staging folder
  }
  fs::remove_all(root, ec);
  return 0;
}
