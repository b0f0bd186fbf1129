#include "patchbay/integrity.h"

#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace patchbay {

void ensureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no entropy source: nothing can work
  });
}

std::string toHex(const unsigned char* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

std::string toBase64(const unsigned char* data, size_t size) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(size, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, variant);
  out.pop_back();
  return out;
}

Result<std::string> fromBase64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return Error::invalid("not valid base64");
  }
  out.resize(len);
  return out;
}

namespace {

struct Hashers {
  crypto_hash_sha256_state sha256;
  crypto_hash_sha512_state sha512;
  uint64_t size = 0;
  Hashers() {
    ensureSodium();
    crypto_hash_sha256_init(&sha256);
    crypto_hash_sha512_init(&sha512);
  }
  void update(const void* data, size_t n) {
    auto p = static_cast<const unsigned char*>(data);
    crypto_hash_sha256_update(&sha256, p, n);
    crypto_hash_sha512_update(&sha512, p, n);
    size += n;
  }
  Digest finish() {
    unsigned char h256[crypto_hash_sha256_BYTES], h512[crypto_hash_sha512_BYTES];
    crypto_hash_sha256_final(&sha256, h256);
    crypto_hash_sha512_final(&sha512, h512);
    return {size, toHex(h256, sizeof h256), "sha512-" + toBase64(h512, sizeof h512)};
  }
};

}  // namespace

Digest digestBytes(std::string_view bytes) {
  Hashers h;
  h.update(bytes.data(), bytes.size());
  return h.finish();
}

std::string sha256Hex(std::string_view bytes) {
  ensureSodium();
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return toHex(h, sizeof h);
}

Result<Digest> digestFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return Error::io(path + ": cannot open: " + std::strerror(errno));
  Hashers h;
  std::vector<char> buf(1 << 16);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) h.update(buf.data(), n);
  if (std::ferror(f.get())) return Error::io(path + ": read failed");
  return h.finish();
}

Status checkSri(std::string_view bytes, std::string_view sri) {
  ensureSodium();
  // Pick the strongest hash among space-separated entries.
  std::string_view best;
  int bestRank = 0;
  size_t pos = 0;
  while (pos < sri.size()) {
    size_t sp = sri.find(' ', pos);
    std::string_view item = sri.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    pos = sp == std::string_view::npos ? sri.size() : sp + 1;
    int rank = item.starts_with("sha512-") ? 3 : item.starts_with("sha384-") ? 2 : item.starts_with("sha256-") ? 1 : 0;
    if (rank > bestRank) { bestRank = rank; best = item; }
  }
  if (bestRank == 0) return Error::invalid("integrity \"" + std::string(sri) + "\" has no sha256-, sha384- or sha512- hash");
  size_t dash = best.find('-');
  auto expected = fromBase64(best.substr(dash + 1));
  if (!expected) return Error::invalid("integrity \"" + std::string(best) + "\": hash is not valid base64");
  std::string actual;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bestRank == 3) {
    unsigned char h[crypto_hash_sha512_BYTES];
    crypto_hash_sha512(h, p, bytes.size());
    actual.assign(reinterpret_cast<char*>(h), sizeof h);
  } else if (bestRank == 1) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, p, bytes.size());
    actual.assign(reinterpret_cast<char*>(h), sizeof h);
  } else {
    return Error::unsupported("integrity \"" + std::string(best) + "\": sha384 is not supported; use sha512");
  }
  if (actual.size() != expected->size() || sodium_memcmp(actual.data(), expected->data(), actual.size()) != 0) {
    return Error::integrity("integrity mismatch: expected " + std::string(best) + ", got " + std::string(best.substr(0, dash)) +
                            "-" + toBase64(reinterpret_cast<const unsigned char*>(actual.data()), actual.size()));
  }
  return {};
}

std::string randomHex(size_t bytes) {
  ensureSodium();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex = toHex(raw.data(), raw.size());
  sodium_memzero(raw.data(), raw.size());
  return hex;
}

std::string randomUuid() {
  ensureSodium();
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = toHex(b, sizeof b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace patchbay
