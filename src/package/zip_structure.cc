#include "package/zip_structure.h"

#include <algorithm>

namespace patchbay::zip {

namespace {

constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kDescriptorSignature = 0x08074b50;
constexpr size_t kEndSize = 22, kCentralSize = 46, kLocalSize = 30;

uint16_t u16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8));
}
uint32_t u32(std::string_view b, size_t at) { return u16(b, at) | (static_cast<uint32_t>(u16(b, at + 2)) << 16); }
void put16(std::string& b, size_t at, uint16_t v) {
  b[at] = static_cast<char>(v & 0xff);
  b[at + 1] = static_cast<char>(v >> 8);
}

Error corrupt(const std::string& why) { return Error::invalid("not a valid ZIP archive: " + why); }

}  // namespace

Result<Directory> readDirectory(std::string_view b, uint64_t maxEntries) {
  if (b.size() < kEndSize) return corrupt("too short to hold an end of central directory record");
  // The end record is the last thing in the file, followed only by its comment.
  size_t end = std::string_view::npos;
  size_t lowest = b.size() >= kEndSize + 0xffff ? b.size() - kEndSize - 0xffff : 0;
  for (size_t at = b.size() - kEndSize + 1; at-- > lowest;) {
    if (u32(b, at) == kEndSignature && at + kEndSize + u16(b, at + 20) == b.size()) {
      end = at;
      break;
    }
  }
  if (end == std::string_view::npos) return corrupt("no end of central directory record at the end of the file");
  if (end >= 20 && u32(b, end - 20) == kZip64LocatorSignature) return Error::unsupported("ZIP64 archives are not supported");
  uint16_t disk = u16(b, end + 4), cdDisk = u16(b, end + 6);
  uint16_t countHere = u16(b, end + 8), count = u16(b, end + 10);
  uint32_t cdSize = u32(b, end + 12), cdOffset = u32(b, end + 16);
  if (count == 0xffff || cdSize == 0xffffffff || cdOffset == 0xffffffff) return Error::unsupported("ZIP64 archives are not supported");
  if (disk != 0 || cdDisk != 0 || countHere != count) return Error::unsupported("multi-disk ZIP archives are not supported");
  if (count > maxEntries) return Error::limit("archive has " + std::to_string(count) + " entries; the limit is " + std::to_string(maxEntries));
  if (uint64_t{cdOffset} + cdSize != end) return corrupt("central directory does not end where the end record begins (extra or missing bytes)");

  Directory dir;
  dir.centralDirectoryOffset = cdOffset;
  size_t at = cdOffset;
  for (uint32_t i = 0; i < count; ++i) {
    if (at + kCentralSize > end || u32(b, at) != kCentralSignature) return corrupt("central directory entry " + std::to_string(i) + " is malformed");
    CentralEntry e;
    e.centralHeaderOffset = at;
    e.versionMadeBy = u16(b, at + 4);
    e.flags = u16(b, at + 8);
    e.method = u16(b, at + 10);
    e.crc32 = u32(b, at + 16);
    e.compressedSize = u32(b, at + 20);
    e.uncompressedSize = u32(b, at + 24);
    uint16_t nameLen = u16(b, at + 28), extraLen = u16(b, at + 30), commentLen = u16(b, at + 32);
    uint16_t startDisk = u16(b, at + 34);
    e.externalAttributes = u32(b, at + 38);
    e.localHeaderOffset = u32(b, at + 42);
    if (at + kCentralSize + nameLen + extraLen + commentLen > end) return corrupt("central directory entry " + std::to_string(i) + " runs past the directory");
    e.name.assign(b.substr(at + kCentralSize, nameLen));
    if (startDisk != 0) return Error::unsupported("entry \"" + e.name + "\": multi-disk archives are not supported");
    if (e.compressedSize == 0xffffffff || e.uncompressedSize == 0xffffffff || e.localHeaderOffset == 0xffffffff) {
      return Error::unsupported("entry \"" + e.name + "\": ZIP64 sizes are not supported");
    }
    at += kCentralSize + nameLen + extraLen + commentLen;
    dir.entries.push_back(std::move(e));
  }
  if (at != end) return corrupt("central directory holds bytes after its last entry");

  // Local headers: present, agreeing with the central directory, and owning
  // disjoint byte ranges before the central directory.
  for (auto& e : dir.entries) {
    const std::string who = "entry \"" + e.name + "\"";
    size_t lh = e.localHeaderOffset;
    if (lh + kLocalSize > cdOffset || u32(b, lh) != kLocalSignature) return corrupt(who + ": no local header at offset " + std::to_string(lh));
    uint16_t lFlags = u16(b, lh + 6), lMethod = u16(b, lh + 8);
    uint16_t lNameLen = u16(b, lh + 26), lExtraLen = u16(b, lh + 28);
    if (lh + kLocalSize + lNameLen + lExtraLen > cdOffset) return corrupt(who + ": local header runs into the central directory");
    if (b.substr(lh + kLocalSize, lNameLen) != e.name) return corrupt(who + ": local header names \"" + std::string(b.substr(lh + kLocalSize, lNameLen)) + "\" instead");
    if (lMethod != e.method || (lFlags & 0x0009) != (e.flags & 0x0009)) return corrupt(who + ": local and central headers disagree on method or flags");
    // With a data descriptor (flag bit 3) the local fields may be zero.
    const bool descriptor = e.flags & 0x0008;
    auto disagree = [&](size_t at, uint64_t central) {
      uint32_t local = u32(b, lh + at);
      return (!descriptor || local != 0) && local != central;
    };
    if (disagree(14, e.crc32) || disagree(18, e.compressedSize) || disagree(22, e.uncompressedSize)) {
      return corrupt(who + ": local and central headers disagree on CRC or sizes");
    }
    e.dataOffset = lh + kLocalSize + lNameLen + lExtraLen;
    e.dataEnd = e.dataOffset + e.compressedSize;
    if (e.flags & 0x0008) {  // data descriptor follows the data
      if (e.dataEnd + 4 <= cdOffset && u32(b, e.dataEnd) == kDescriptorSignature) e.dataEnd += 4;
      e.dataEnd += 12;
    }
    if (e.dataEnd > cdOffset) return corrupt(who + ": data runs into the central directory");
  }
  std::vector<const CentralEntry*> byOffset;
  for (const auto& e : dir.entries) byOffset.push_back(&e);
  std::sort(byOffset.begin(), byOffset.end(), [](auto* x, auto* y) { return x->localHeaderOffset < y->localHeaderOffset; });
  for (size_t i = 1; i < byOffset.size(); ++i) {
    if (byOffset[i]->localHeaderOffset < byOffset[i - 1]->dataEnd) {
      return corrupt("entries \"" + byOffset[i - 1]->name + "\" and \"" + byOffset[i]->name +
                     "\" overlap (a known zip-bomb construction)");
    }
  }
  return dir;
}

Status normalizeTimestamps(std::string& bytes) {
  auto dir = readDirectory(bytes, ~uint64_t{0});
  if (!dir) return dir.error();
  constexpr uint16_t kTime = 0, kDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01 00:00:00
  for (const auto& e : dir->entries) {
    put16(bytes, e.centralHeaderOffset + 12, kTime);
    put16(bytes, e.centralHeaderOffset + 14, kDate);
    put16(bytes, e.localHeaderOffset + 10, kTime);
    put16(bytes, e.localHeaderOffset + 12, kDate);
  }
  return {};
}

}  // namespace patchbay::zip
