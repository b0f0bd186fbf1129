// patchbay/archive.h — reading untrusted ZIP packages safely, and writing
// deterministic ones.
//
// Every package is checked whole before a byte is written: its central
// directory is parsed by patchbay itself and each entry is held to the rules
// below; only then does libarchive inflate the data, while patchbay counts
// the real bytes against the declared sizes and limits.
//
// Refused, with the entry's name and the rule in the error:
//   absolute paths, "..", ".", empty components, backslashes, drive letters,
//   control characters; symlinks, hard links, devices, FIFOs, sockets;
//   duplicate names; names that collide when letter case is ignored; an
//   entry that is both a file and a folder ("a" and "a/b"); entries whose
//   data overlap (the overlapping-file zip bomb) or whose local and central
//   headers disagree; encrypted entries, methods other than stored/deflate,
//   zip64 and multi-disk archives; more entries, more bytes or a higher
//   compression ratio than ArchiveLimits allow; data longer or shorter than
//   declared, and CRC mismatches.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

struct ArchiveLimits {
  uint64_t maxArchiveBytes = 128ull << 20;  // the .zip file itself
  uint64_t maxEntries = 10'000;
  uint64_t maxTotalBytes = 512ull << 20;    // sum of uncompressed sizes
  uint64_t maxEntryBytes = 256ull << 20;
  // Entries larger than ratioFloorBytes may not inflate more than maxRatio
  // times their compressed size (text compresses ~10x; bombs ~1000x).
  double maxRatio = 200.0;
  uint64_t ratioFloorBytes = 1ull << 20;
  size_t maxPathBytes = 512;
  size_t maxPathDepth = 32;
};

struct ArchiveEntry {
  std::string path;  // relative, "/"-separated; folders end without "/"
  bool isDirectory = false;
  uint64_t size = 0;            // uncompressed, as declared
  uint64_t compressedSize = 0;
  uint32_t crc32 = 0;
};

struct ArchiveListing {
  std::vector<ArchiveEntry> entries;  // in central-directory order
  uint64_t totalBytes = 0;
  const ArchiveEntry* find(std::string_view path) const;
};

// Checks the structure and every rule without extracting anything.
Result<ArchiveListing> inspectZip(std::string_view zipBytes, const ArchiveLimits& limits = {});

// Extracts into `destDir`, which must exist and be empty (a staging folder).
// Files get mode 0644 and folders 0755 whatever the archive says. Nothing is
// ever created outside destDir, and no existing file is overwritten. On
// error destDir may hold part of the archive: the caller removes it.
Result<ArchiveListing> extractZip(std::string_view zipBytes, const std::string& destDir,
                                  const ArchiveLimits& limits = {});

// Reads one file entry into memory (manifest, README), at most maxBytes.
Result<std::string> readZipEntry(std::string_view zipBytes, std::string_view path, uint64_t maxBytes,
                                 const ArchiveLimits& limits = {});

// A file to put in an archive: its path inside the archive and its bytes.
struct ZipInput {
  std::string path;
  std::string content;
};

// Writes a ZIP whose bytes depend only on the inputs: entries sorted by
// path, deflated, with fixed timestamps (1980-01-01), owner 0 and mode 0644,
// whatever the clock, time zone or file system says.
Result<std::string> writeDeterministicZip(std::vector<ZipInput> files);

}  // namespace patchbay
