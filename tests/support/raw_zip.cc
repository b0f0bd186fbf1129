#include "support/raw_zip.h"

namespace patchbay::test {

namespace {
void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>(v >> 8);
}
void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v & 0xffff));
  put16(s, static_cast<uint16_t>(v >> 16));
}
}  // namespace

uint32_t crc32Of(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string buildRawZip(const std::vector<RawEntry>& entries) {
  std::string out, central;
  std::vector<uint32_t> offsets;
  for (const auto& e : entries) {
    offsets.push_back(static_cast<uint32_t>(out.size()));
    const std::string& lname = e.localName ? *e.localName : e.name;
    uint32_t crc = e.crc ? *e.crc : crc32Of(e.data);
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, e.flags);
    put16(out, e.method);
    put16(out, 0);
    put16(out, 0x21);
    put32(out, crc);
    put32(out, e.compressedSize ? *e.compressedSize : static_cast<uint32_t>(e.data.size()));
    put32(out, e.uncompressedSize ? *e.uncompressedSize : static_cast<uint32_t>(e.data.size()));
    put16(out, static_cast<uint16_t>(lname.size()));
    put16(out, 0);
    out += lname;
    out += e.data;
  }
  uint32_t cdOffset = static_cast<uint32_t>(out.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    put32(central, 0x02014b50);
    put16(central, (3 << 8) | 20);
    put16(central, 20);
    put16(central, e.flags);
    put16(central, e.method);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, e.crc ? *e.crc : crc32Of(e.data));
    put32(central, e.compressedSize ? *e.compressedSize : static_cast<uint32_t>(e.data.size()));
    put32(central, e.uncompressedSize ? *e.uncompressedSize : static_cast<uint32_t>(e.data.size()));
    put16(central, static_cast<uint16_t>(e.name.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, e.unixMode << 16);
    put32(central, e.offsetOverride ? *e.offsetOverride : offsets[i]);
    central += e.name;
  }
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint16_t>(entries.size()));
  put16(out, static_cast<uint16_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cdOffset);
  put16(out, 0);
  return out;
}

}  // namespace patchbay::test
