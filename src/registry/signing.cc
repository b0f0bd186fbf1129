// The registry's own key and the metadata it signs.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "patchbay/clock.h"
#include "patchbay/files.h"
#include "patchbay/integrity.h"
#include "registry/registry_impl.h"

namespace patchbay {

std::string canonicalMetadata(std::string_view id, std::string_view version, std::string_view sha256,
                              std::string_view integrity, std::string_view status) {
  // nlohmann::json (not ordered_json) keeps keys sorted; dump() has no spaces.
  nlohmann::json j = {{"id", id}, {"version", version}, {"sha256", sha256}, {"integrity", integrity}, {"status", status}};
  return j.dump();
}

std::string effectiveStatus(const PackageRecord& r) { return r.yanked ? "yanked" : r.status; }

std::string canonicalMetadata(const PackageRecord& r) {
  return canonicalMetadata(r.id, r.version.toString(), r.sha256, r.integrity, effectiveStatus(r));
}

bool verifyMetadataSignature(const PublicKey& key, std::string_view canonical, std::string_view signatureBase64) {
  auto raw = fromBase64(signatureBase64);
  if (!raw || raw->size() != 64) return false;
  std::array<unsigned char, 64> sig{};
  std::copy(raw->begin(), raw->end(), sig.begin());
  return key.verifyDetached(canonical, sig);
}

namespace {

Result<SecretKey> parseRegistryKey(const std::string& text, const std::string& where) {
  if (SecretKey::isEncrypted(text)) return Error::invalid(where + ": the registry's signing key must not be encrypted");
  auto key = SecretKey::parse(text);
  if (!key) return Error{key.error().kind, where + ": " + key.error().message};
  return key;
}

// Replicas on one PostgreSQL sign with one key: the first to start stores
// it (the data folder's registry.key when there is one, so a registry that
// moves to PostgreSQL keeps its key; else a new one), every other reads it.
Status loadSharedKey(Registry::Impl& m) {
  SqlDatabase& db = *m.db;
  auto stored = db.query("SELECT secret FROM signing_key WHERE id = 1");
  if (!stored) return stored.error();
  if (stored->empty()) {
    const std::string local = m.options.dataDir + "/registry.key";
    std::error_code ec;
    std::string text;
    if (std::filesystem::exists(local, ec)) {
      auto read = readFileLimited(local, 64 << 10);
      if (!read) return read.error();
      if (auto key = parseRegistryKey(*read, local); !key) return key.error();
      text = *read;
    } else {
      auto made = SecretKey::generate().toFileText();
      if (!made) return made.error();
      text = *made;
    }
    // Two replicas starting at once: the first insert wins, both read it.
    auto put = db.query("INSERT INTO signing_key (id, secret, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING", {text, utcNow()});
    if (!put) return put.error();
    stored = db.query("SELECT secret FROM signing_key WHERE id = 1");
    if (!stored) return stored.error();
    if (stored->empty()) return Error::internal(db.describe() + ": the signing key vanished after it was stored");
  }
  auto key = parseRegistryKey(stored->front()[0], db.describe() + " (signing_key)");
  if (!key) return key.error();
  m.signingKey = std::move(*key);
  // registry.pub beside the data, for people (the same key on every replica).
  return writeFileAtomically(m.options.dataDir + "/registry.pub", m.signingKey.publicKey().toFileText());
}

}  // namespace

Status loadOrCreateRegistryKey(Registry::Impl& m) {
  if (m.db->isPostgres()) return loadSharedKey(m);
  const std::string path = m.options.dataDir + "/registry.key";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    SecretKey key = SecretKey::generate();
    auto text = key.toFileText();
    if (!text) return text.error();
    if (auto s = writeFileAtomically(path, *text, 0600); !s) return s;
    if (auto s = writeFileAtomically(m.options.dataDir + "/registry.pub", key.publicKey().toFileText()); !s) return s;
  }
  auto text = readFileLimited(path, 64 << 10);
  if (!text) return text.error();
  auto key = parseRegistryKey(*text, path);
  if (!key) return key.error();
  m.signingKey = std::move(*key);
  return {};
}

PublicKey Registry::metadataKey() const { return impl_->signingKey.publicKey(); }

std::string Registry::signMetadata(const PackageRecord& record) const {
  auto sig = impl_->signingKey.signDetached(canonicalMetadata(record));
  return toBase64(sig.data(), sig.size());
}

}  // namespace patchbay
