// minisign-compatible keys and signatures over libsodium.
#include "patchbay/signature.h"

#include <sodium.h>

#include <cstring>
#include <vector>

#include "patchbay/integrity.h"

namespace patchbay {

namespace {

constexpr std::string_view kCommentPrefix = "untrusted comment: ";
constexpr std::string_view kTrustedPrefix = "trusted comment: ";
constexpr size_t kSaltBytes = crypto_pwhash_scryptsalsa208sha256_SALTBYTES;  // 32
// Secret key blob: sig_alg(2) kdf_alg(2) chk_alg(2) salt(32) ops(8) mem(8) | keynum(8) sk(64) chk(32)
constexpr size_t kSecretKeyHeader = 2 + 2 + 2 + kSaltBytes + 8 + 8;
constexpr size_t kSecretKeyPayload = 8 + 64 + 32;
constexpr size_t kSecretKeyBlob = kSecretKeyHeader + kSecretKeyPayload;

void storeLe64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint64_t loadLe64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Splits a file into lines without their "\n" (and "\r").
std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return out;
}

std::string b64(const unsigned char* p, size_t n) { return toBase64(p, n); }

// A key file's base64 line: the first line that is not empty and not the
// "untrusted comment:" line (a bare key string is its own data line).
std::string_view firstDataLine(std::string_view text) {
  for (auto l : lines(text)) {
    if (!l.empty() && !l.starts_with(kCommentPrefix)) return l;
  }
  return {};
}

// BLAKE2b-256 over sig_alg | keynum | sk, as minisign checks encrypted keys.
std::array<unsigned char, 32> keyChecksum(const unsigned char sigAlg[2], const KeyId& id, const unsigned char* sk) {
  std::array<unsigned char, 32> out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, out.size());
  crypto_generichash_update(&st, sigAlg, 2);
  crypto_generichash_update(&st, id.data(), id.size());
  crypto_generichash_update(&st, sk, 64);
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

Status deriveStream(unsigned char* stream, std::string_view password, const unsigned char* salt, uint64_t ops, uint64_t mem) {
  if (crypto_pwhash_scryptsalsa208sha256(stream, kSecretKeyPayload, password.data(), password.size(), salt, ops,
                                         static_cast<size_t>(mem)) != 0) {
    return Error::io("secret key: scrypt key derivation ran out of memory");
  }
  return {};
}

}  // namespace

// --- public key ---------------------------------------------------------------

Result<PublicKey> PublicKey::parse(std::string_view text) {
  auto raw = fromBase64(firstDataLine(text));
  if (!raw || raw->size() != 2 + 8 + 32) return Error::signature("public key: not a minisign public key (expected 56 base64 characters after the comment line)");
  if (raw->compare(0, 2, "Ed") != 0) return Error::signature("public key: unsupported signature algorithm (expected Ed25519)");
  PublicKey pk;
  std::memcpy(pk.keyId.data(), raw->data() + 2, 8);
  std::memcpy(pk.key.data(), raw->data() + 10, 32);
  return pk;
}

std::string PublicKey::base64() const {
  unsigned char raw[42];
  std::memcpy(raw, "Ed", 2);
  std::memcpy(raw + 2, keyId.data(), 8);
  std::memcpy(raw + 10, key.data(), 32);
  return b64(raw, sizeof raw);
}

std::string PublicKey::keyIdHex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(loadLe64(keyId.data())));
  return buf;
}

std::string PublicKey::toFileText() const {
  return std::string(kCommentPrefix) + "minisign public key " + keyIdHex() + "\n" + base64() + "\n";
}

// --- secret key ---------------------------------------------------------------

SecretKey::~SecretKey() { sodium_memzero(secret_.data(), secret_.size()); }
SecretKey::SecretKey(const SecretKey& o) : keyId_(o.keyId_), secret_(o.secret_) {}
SecretKey& SecretKey::operator=(const SecretKey& o) {
  keyId_ = o.keyId_;
  secret_ = o.secret_;
  return *this;
}

std::array<unsigned char, 64> SecretKey::signDetached(std::string_view data) const {
  ensureSodium();
  std::array<unsigned char, 64> signature{};
  crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                       secret_.data());
  return signature;
}

bool PublicKey::verifyDetached(std::string_view data, const std::array<unsigned char, 64>& signature) const {
  ensureSodium();
  return crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                                     key.data()) == 0;
}

SecretKey SecretKey::generate() {
  ensureSodium();
  SecretKey k;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_keypair(pk, k.secret_.data());
  randombytes_buf(k.keyId_.data(), k.keyId_.size());
  return k;
}

PublicKey SecretKey::publicKey() const {
  PublicKey pk;
  pk.keyId = keyId_;
  crypto_sign_ed25519_sk_to_pk(pk.key.data(), secret_.data());
  return pk;
}

bool SecretKey::isEncrypted(std::string_view text) {
  auto raw = fromBase64(firstDataLine(text));
  return raw && raw->size() == kSecretKeyBlob && raw->compare(2, 2, "Sc") == 0;
}

Result<SecretKey> SecretKey::parse(std::string_view text, std::optional<std::string_view> password) {
  ensureSodium();
  auto raw = fromBase64(firstDataLine(text));
  if (!raw || raw->size() != kSecretKeyBlob) return Error::signature("secret key: not a minisign secret key");
  auto* b = reinterpret_cast<unsigned char*>(raw->data());
  if (std::memcmp(b, "Ed", 2) != 0) return Error::signature("secret key: unsupported signature algorithm (expected Ed25519)");
  if (std::memcmp(b + 4, "B2", 2) != 0) return Error::signature("secret key: unsupported checksum algorithm (expected BLAKE2b)");
  unsigned char* payload = b + kSecretKeyHeader;
  const bool encrypted = std::memcmp(b + 2, "Sc", 2) == 0;
  if (!encrypted && (b[2] != 0 || b[3] != 0)) return Error::signature("secret key: unsupported key derivation (expected scrypt or none)");
  if (encrypted) {
    if (!password) return Error::signature("secret key is encrypted: a password is needed (set PATCHBAY_KEY_PASSWORD or use --password-file)");
    uint64_t ops = loadLe64(b + 6 + kSaltBytes), mem = loadLe64(b + 6 + kSaltBytes + 8);
    if (mem > (uint64_t{1} << 32)) return Error::signature("secret key: scrypt memory limit is implausibly large");
    unsigned char stream[kSecretKeyPayload];
    if (auto s = deriveStream(stream, *password, b + 6, ops, mem); !s) return s.error();
    for (size_t i = 0; i < kSecretKeyPayload; ++i) payload[i] ^= stream[i];
    sodium_memzero(stream, sizeof stream);
  }
  SecretKey k;
  std::memcpy(k.keyId_.data(), payload, 8);
  std::memcpy(k.secret_.data(), payload + 8, 64);
  if (encrypted) {
    auto chk = keyChecksum(b, k.keyId_, k.secret_.data());
    if (sodium_memcmp(chk.data(), payload + 72, 32) != 0) {
      sodium_memzero(raw->data(), raw->size());
      return Error::signature("secret key: wrong password (checksum mismatch)");
    }
  }
  sodium_memzero(raw->data(), raw->size());
  return k;
}

Result<std::string> SecretKey::toFileText(std::optional<std::string_view> password, KdfStrength strength) const {
  ensureSodium();
  const bool sensitive = strength == KdfStrength::kSensitive;
  const uint64_t opsLimit = sensitive ? crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE
                                       : crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_INTERACTIVE;
  const uint64_t memLimit = sensitive ? crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE
                                       : crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_INTERACTIVE;
  unsigned char blob[kSecretKeyBlob] = {};
  std::memcpy(blob, "Ed", 2);
  std::memcpy(blob + 4, "B2", 2);
  unsigned char* payload = blob + kSecretKeyHeader;
  std::memcpy(payload, keyId_.data(), 8);
  std::memcpy(payload + 8, secret_.data(), 64);
  if (password) {
    std::memcpy(blob + 2, "Sc", 2);
    randombytes_buf(blob + 6, kSaltBytes);
    storeLe64(blob + 6 + kSaltBytes, opsLimit);
    storeLe64(blob + 6 + kSaltBytes + 8, memLimit);
    auto chk = keyChecksum(blob, keyId_, secret_.data());
    std::memcpy(payload + 72, chk.data(), 32);
    unsigned char stream[kSecretKeyPayload];
    if (auto st = deriveStream(stream, *password, blob + 6, opsLimit, memLimit); !st) {
      sodium_memzero(blob, sizeof blob);
      return st.error();
    }
    for (size_t i = 0; i < kSecretKeyPayload; ++i) payload[i] ^= stream[i];
    sodium_memzero(stream, sizeof stream);
  }
  // Unencrypted keys carry no checksum, exactly as `minisign -W` writes them.
  std::string out = std::string(kCommentPrefix) + (password ? "minisign encrypted secret key" : "minisign secret key (unencrypted)") +
                    "\n" + b64(blob, sizeof blob) + "\n";
  sodium_memzero(blob, sizeof blob);
  return out;
}

// --- signatures ---------------------------------------------------------------

Result<SignatureFile> SignatureFile::parse(std::string_view text) {
  auto ls = lines(text);
  while (!ls.empty() && ls.back().empty()) ls.pop_back();
  if (ls.size() != 4) return Error::signature("signature file: expected 4 lines (comment, signature, trusted comment, global signature), found " + std::to_string(ls.size()));
  SignatureFile s;
  if (!ls[0].starts_with(kCommentPrefix)) return Error::signature("signature file: line 1 must start with \"untrusted comment: \"");
  s.untrustedComment = std::string(ls[0].substr(kCommentPrefix.size()));
  auto sig = fromBase64(ls[1]);
  if (!sig || sig->size() != 2 + 8 + 64) return Error::signature("signature file: line 2 is not a minisign signature");
  if (sig->compare(0, 2, "ED") == 0) s.prehashed = true;
  else if (sig->compare(0, 2, "Ed") == 0) s.prehashed = false;
  else return Error::signature("signature file: unsupported signature algorithm \"" + sig->substr(0, 2) + "\"");
  std::memcpy(s.keyId.data(), sig->data() + 2, 8);
  std::memcpy(s.signature.data(), sig->data() + 10, 64);
  if (!ls[2].starts_with(kTrustedPrefix)) return Error::signature("signature file: line 3 must start with \"trusted comment: \"");
  s.trustedComment = std::string(ls[2].substr(kTrustedPrefix.size()));
  // A comment is one line of text: a carriage return or another control
  // character in it would not survive being written out and read back
  // (found by fuzz_signature), and no signer puts one there.
  for (std::string_view comment : {std::string_view(s.trustedComment), std::string_view(s.untrustedComment)}) {
    for (unsigned char c : comment) {
      if (c < 0x20 && c != '\t') return Error::signature("signature file: a comment holds a control character (0x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15] + ")");
    }
  }
  auto global = fromBase64(ls[3]);
  if (!global || global->size() != 64) return Error::signature("signature file: line 4 is not a signature of the trusted comment");
  std::memcpy(s.globalSignature.data(), global->data(), 64);
  return s;
}

std::string SignatureFile::toFileText() const {
  unsigned char sig[74];
  std::memcpy(sig, prehashed ? "ED" : "Ed", 2);
  std::memcpy(sig + 2, keyId.data(), 8);
  std::memcpy(sig + 10, signature.data(), 64);
  return std::string(kCommentPrefix) + untrustedComment + "\n" + b64(sig, sizeof sig) + "\n" + std::string(kTrustedPrefix) +
         trustedComment + "\n" + b64(globalSignature.data(), globalSignature.size()) + "\n";
}

SignatureFile SignatureFile::sign(const SecretKey& key, std::string_view data, std::string trustedComment,
                                  std::string untrustedComment) {
  ensureSodium();
  SignatureFile s;
  s.prehashed = true;
  s.keyId = key.keyId_;
  s.untrustedComment = std::move(untrustedComment);
  s.trustedComment = std::move(trustedComment);
  unsigned char hash[crypto_generichash_BYTES_MAX];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr, 0);
  crypto_sign_detached(s.signature.data(), nullptr, hash, sizeof hash, key.secret_.data());
  std::string global(reinterpret_cast<const char*>(s.signature.data()), 64);
  global += s.trustedComment;
  crypto_sign_detached(s.globalSignature.data(), nullptr, reinterpret_cast<const unsigned char*>(global.data()),
                       global.size(), key.secret_.data());
  return s;
}

Status SignatureFile::verify(const PublicKey& key, std::string_view data) const {
  ensureSodium();
  if (keyId != key.keyId) {
    PublicKey signer;
    signer.keyId = keyId;
    return Error::signature("signature was made with key " + signer.keyIdHex() + ", not with the given public key " + key.keyIdHex());
  }
  int rc;
  if (prehashed) {
    unsigned char hash[crypto_generichash_BYTES_MAX];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr, 0);
    rc = crypto_sign_verify_detached(signature.data(), hash, sizeof hash, key.key.data());
  } else {
    rc = crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), key.key.data());
  }
  if (rc != 0) return Error::signature("signature does not match the file: the file was changed or signed by another key");
  std::string global(reinterpret_cast<const char*>(signature.data()), 64);
  global += trustedComment;
  if (crypto_sign_verify_detached(globalSignature.data(), reinterpret_cast<const unsigned char*>(global.data()), global.size(),
                                  key.key.data()) != 0) {
    return Error::signature("trusted comment signature does not verify: the trusted comment was changed");
  }
  return {};
}

std::optional<std::string> SignatureFile::trustedField(std::string_view name) const {
  std::string_view tc = trustedComment;
  size_t pos = 0;
  while (pos < tc.size()) {
    size_t end = tc.find_first_of(" \t", pos);
    std::string_view item = tc.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (item.size() > name.size() && item.starts_with(name) && item[name.size()] == ':') {
      return std::string(item.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return std::nullopt;
}

std::string packageTrustedComment(std::string_view fileName, std::string_view pluginId, std::string_view version,
                                  int64_t unixTime) {
  return "timestamp:" + std::to_string(unixTime) + " file:" + std::string(fileName) + " id:" + std::string(pluginId) +
         " version:" + std::string(version);
}

}  // namespace patchbay
