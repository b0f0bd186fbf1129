// patchbay/integrity.h — hashes that identify a package's bytes.
//
// Every package is known by its SHA-256 (hex, used as the ETag and in file
// names of the blob store) and by a Subresource Integrity string
// ("sha512-<base64>", the form npm lockfiles and browsers use).
// All functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "patchbay/result.h"

namespace patchbay {

struct Digest {
  uint64_t size = 0;
  std::string sha256;  // 64 lowercase hex characters
  std::string sri;     // "sha512-" + base64 of the SHA-512
};

Digest digestBytes(std::string_view bytes);
// Just the SHA-256, hex (for tokens and ETags, where the SRI is not wanted).
std::string sha256Hex(std::string_view bytes);
// Streams the file; fails with kIo naming the path.
Result<Digest> digestFile(const std::string& path);

// Checks `bytes` against an SRI string (sha256-, sha384- or sha512-; several
// space-separated hashes are allowed and the strongest one is checked).
// kIntegrity error on mismatch, kInvalidInput when `sri` is malformed.
Status checkSri(std::string_view bytes, std::string_view sri);

// Hex and base64 helpers over libsodium.
std::string toHex(const unsigned char* data, size_t size);
std::string toBase64(const unsigned char* data, size_t size);
// Standard base64 with padding; nullopt-like error on anything else.
Result<std::string> fromBase64(std::string_view text);

// Calls sodium_init() once; safe from any thread. Every function here
// calls it, so callers need not.
void ensureSodium();

// A random (version 4) UUID: "3b241101-e2bb-4255-8caf-4136c566a962".
std::string randomUuid();
// `bytes` random bytes as hex (2 digits each): secrets, tokens, CSRF values.
// The bytes themselves are wiped after.
std::string randomHex(size_t bytes);

}  // namespace patchbay
