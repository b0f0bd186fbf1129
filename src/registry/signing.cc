// The registry's own key and the metadata it signs.
#include <filesystem>
#include <nlohmann/json.hpp>

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

Status loadOrCreateRegistryKey(Registry::Impl& m) {
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
  if (SecretKey::isEncrypted(*text)) return Error::invalid(path + ": the registry's signing key must not be encrypted");
  auto key = SecretKey::parse(*text);
  if (!key) return Error{key.error().kind, path + ": " + key.error().message};
  m.signingKey = std::move(*key);
  return {};
}

PublicKey Registry::metadataKey() const { return impl_->signingKey.publicKey(); }

std::string Registry::signMetadata(const PackageRecord& record) const {
  auto sig = impl_->signingKey.signDetached(canonicalMetadata(record));
  return toBase64(sig.data(), sig.size());
}

}  // namespace patchbay
