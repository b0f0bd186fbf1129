// patchbay/signature.h — Ed25519 signatures in minisign's file formats.
//
// What patchbay signs, `minisign -V` verifies, and what minisign signs,
// patchbay verifies: the public key, secret key and .minisig files have
// minisign 0.11's formats (tested against the real binary in
// tests/unit/signature_test.cc).
//
//   untrusted comment: <free text, not signed>
//   <base64: "ED" | key id (8) | Ed25519 signature of BLAKE2b-512(file)>
//   trusted comment: <text covered by the global signature>
//   <base64: Ed25519 signature of (signature | trusted comment)>
//
// patchbay's trusted comment names what was signed:
//   "timestamp:<unix> file:<name> id:<plugin id> version:<version>"
// so a signature cannot be moved to another plugin or version unnoticed.
//
// Secret keys may be stored unencrypted (minisign -W) or encrypted with a
// password (scrypt, as minisign does). Secret key bytes are wiped on
// destruction. Everything here is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "patchbay/result.h"

namespace patchbay {

using KeyId = std::array<unsigned char, 8>;

struct PublicKey {
  KeyId keyId{};
  std::array<unsigned char, 32> key{};

  // Accepts a whole minisign.pub file or just its base64 line.
  static Result<PublicKey> parse(std::string_view text);
  // "untrusted comment: minisign public key <ID>\n<base64>\n"
  std::string toFileText() const;
  std::string base64() const;
  // The id as minisign prints it: 16 uppercase hex digits.
  std::string keyIdHex() const;
  // Checks a plain Ed25519 signature of `data` (no prehash, no comments),
  // as SecretKey::signDetached makes them.
  bool verifyDetached(std::string_view data, const std::array<unsigned char, 64>& signature) const;
};

class SecretKey {
 public:
  SecretKey() = default;
  ~SecretKey();
  SecretKey(const SecretKey&);
  SecretKey& operator=(const SecretKey&);

  static SecretKey generate();
  // Parses a minisign secret key file. `password` is needed when the key is
  // encrypted; a wrong password is reported as such (checksum mismatch).
  static Result<SecretKey> parse(std::string_view text, std::optional<std::string_view> password = std::nullopt);
  static bool isEncrypted(std::string_view text);
  // How hard scrypt works when a key is encrypted: kSensitive is what
  // minisign uses for new keys (about 1 GiB and seconds); kInteractive is
  // for tests and throwaway keys.
  enum class KdfStrength { kSensitive, kInteractive };
  // Without a password the key is stored unencrypted, as `minisign -W` does.
  // Fails only when scrypt cannot get its memory.
  Result<std::string> toFileText(std::optional<std::string_view> password = std::nullopt,
                                 KdfStrength strength = KdfStrength::kSensitive) const;

  PublicKey publicKey() const;
  const KeyId& keyId() const { return keyId_; }
  // A plain Ed25519 signature of `data`: for small documents such as the
  // registry's signed metadata, where minisign's file format is not wanted.
  std::array<unsigned char, 64> signDetached(std::string_view data) const;

 private:
  friend struct SignatureFile;
  KeyId keyId_{};
  std::array<unsigned char, 64> secret_{};  // Ed25519 secret key (seed | public key)
};

struct SignatureFile {
  bool prehashed = true;  // "ED" (BLAKE2b-512 of the file) vs legacy "Ed"
  KeyId keyId{};
  std::array<unsigned char, 64> signature{};
  std::string untrustedComment;
  std::string trustedComment;
  std::array<unsigned char, 64> globalSignature{};

  static Result<SignatureFile> parse(std::string_view text);
  std::string toFileText() const;

  // Signs `data` (prehashed, as minisign 0.11 does by default).
  static SignatureFile sign(const SecretKey& key, std::string_view data, std::string trustedComment,
                            std::string untrustedComment = "signature from patchbay secret key");

  // Verifies the file signature and the trusted comment. kSignature errors
  // say which part failed (key id, file signature, trusted comment).
  Status verify(const PublicKey& key, std::string_view data) const;

  // A "key:value" field of the trusted comment ("id", "version", ...).
  std::optional<std::string> trustedField(std::string_view name) const;
};

// patchbay's trusted comment for a package.
std::string packageTrustedComment(std::string_view fileName, std::string_view pluginId, std::string_view version,
                                  int64_t unixTime);

}  // namespace patchbay
