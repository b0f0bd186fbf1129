// Builds ZIP files byte by byte, including ones no honest tool would write:
// links, devices, lying sizes, overlapping entries, mismatched headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace patchbay::test {

struct RawEntry {
  std::string name;
  std::string data;                       // stored as-is (method 0)
  uint32_t unixMode = 0100644;            // S_IFREG | 0644
  uint16_t method = 0;
  uint16_t flags = 0x0800;                // UTF-8 names
  std::optional<std::string> localName;   // name in the local header, if different
  std::optional<uint32_t> crc;            // CRC to claim, if not the real one
  std::optional<uint32_t> compressedSize;  // sizes to claim (in both headers)
  std::optional<uint32_t> uncompressedSize;
  std::optional<uint32_t> offsetOverride;  // local header offset to claim
};

std::string buildRawZip(const std::vector<RawEntry>& entries);
uint32_t crc32Of(const std::string& data);

}  // namespace patchbay::test
