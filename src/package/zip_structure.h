// The parts of the ZIP format (APPNOTE 6.3) that patchbay checks itself:
// end of central directory, central headers, local headers. Internal to
// src/package; the public surface is patchbay/archive.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"

namespace patchbay::zip {

struct CentralEntry {
  std::string name;  // as stored, folders end with "/"
  uint16_t versionMadeBy = 0;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc32 = 0;
  uint64_t compressedSize = 0;
  uint64_t uncompressedSize = 0;
  uint32_t externalAttributes = 0;
  uint64_t localHeaderOffset = 0;
  size_t centralHeaderOffset = 0;  // where this header sits in the file
  // Filled in by checkLocalHeaders: [localHeaderOffset, dataEnd) is all the
  // bytes this entry owns, data descriptor included.
  uint64_t dataOffset = 0;
  uint64_t dataEnd = 0;

  bool isUnix() const { return (versionMadeBy >> 8) == 3; }
  uint32_t unixMode() const { return isUnix() ? externalAttributes >> 16 : 0; }
};

struct Directory {
  std::vector<CentralEntry> entries;
  uint64_t centralDirectoryOffset = 0;
};

// Parses the end record and central directory; checks the local headers
// agree with them and that no two entries' bytes overlap.
Result<Directory> readDirectory(std::string_view bytes, uint64_t maxEntries);

// Sets every DOS time/date field (local and central) to 1980-01-01 00:00.
Status normalizeTimestamps(std::string& bytes);

}  // namespace patchbay::zip
