// API tokens and uploads (seed 003's publishing).
#include <algorithm>
#include <sstream>
#include <tuple>

#include "patchbay/http.h"
#include "patchbay/integrity.h"
#include "patchbay/package.h"
#include "registry/registry_impl.h"

namespace patchbay {

namespace {

const std::vector<std::string> kScopes = {"publish", "review", "admin"};

}  // namespace

Result<std::pair<TokenInfo, std::string>> Registry::createToken(const std::string& name, const std::vector<std::string>& scopes,
                                                                const std::string& expiresAt, const std::string& actor) {
  std::lock_guard lock(impl_->dbMutex);
  Transaction tx(impl_->db);
  if (auto s = tx.begin(); !s) return s.error();
  auto created = tokens::create(impl_->db, name, scopes, kScopes, expiresAt);
  if (!created) return created.error();
  std::string joined;
  for (const auto& s : scopes) joined += (joined.empty() ? "" : ",") + s;
  if (auto s = recordEvent(impl_->db, actor, "token.create", "", "", name + " (" + std::to_string(created->first.id) + ": " + joined + ")"); !s) {
    return s.error();
  }
  if (auto s = tx.commit(); !s) return s.error();
  return created;
}

std::vector<TokenInfo> Registry::listTokens() const {
  std::lock_guard lock(impl_->dbMutex);
  return tokens::list(impl_->db);
}

Status Registry::revokeToken(int64_t id, const std::string& actor) {
  std::lock_guard lock(impl_->dbMutex);
  Transaction tx(impl_->db);
  if (auto s = tx.begin(); !s) return s;
  if (auto s = tokens::revoke(impl_->db, id); !s) return s;
  if (auto s = recordEvent(impl_->db, actor, "token.revoke", "", "", std::to_string(id)); !s) return s;
  return tx.commit();
}

Result<TokenInfo> Registry::authenticate(std::string_view secret) {
  std::lock_guard lock(impl_->dbMutex);
  return tokens::authenticate(impl_->db, secret);
}

Result<PublishResult> Registry::publish(std::string_view zipBytes, const std::optional<std::string>& signatureText,
                                        const TokenInfo& publisher) {
  if (!publisher.hasScope("publish")) return Error::denied("the token \"" + publisher.name + "\" may not publish (scope \"publish\" needed)");
  auto info = openPackage(zipBytes, "");
  if (!info) return info.error();
  const Manifest& m = info->manifest;
  const std::string version = m.version.toString();

  // Signature policy.
  if (signatureText) {
    auto sig = SignatureFile::parse(*signatureText);
    if (!sig) return sig.error();
    if (auto id = sig->trustedField("id"); id && *id != m.id) {
      return Error::signature("the signature's trusted comment names plugin \"" + *id + "\", not \"" + m.id + "\"");
    }
    if (auto v = sig->trustedField("version"); v && *v != version) {
      return Error::signature("the signature's trusted comment names version " + *v + ", not " + version);
    }
    if (!impl_->options.trustedKeys.empty()) {
      const PublicKey* key = nullptr;
      for (const auto& k : impl_->options.trustedKeys) {
        if (k.keyId == sig->keyId) key = &k;
      }
      PublicKey signer;
      signer.keyId = sig->keyId;
      if (!key) return Error::signature("the package is signed by key " + signer.keyIdHex() + ", which this registry does not trust");
      if (auto v = sig->verify(*key, zipBytes); !v) return v.error();
    }
  } else if (!impl_->options.trustedKeys.empty()) {
    return Error::signature("this registry only accepts signed packages: upload the .minisig with the package");
  }

  // Seed 003's bundle: built (and compressed) before taking the lock; a
  // build error rejects the upload with esbuild's message.
  auto bundle = buildClientBundle(zipBytes, info->listing, impl_->options.dataDir + "/tmp");
  if (!bundle) return bundle.error();
  struct BlobFile {
    std::string path, bytes;
  };
  std::vector<BlobFile> bundleBlobs;
  std::string bundleSha, mapSha;
  if (*bundle) {
    bundleSha = sha256Hex((*bundle)->js);
    mapSha = sha256Hex((*bundle)->map);
    for (auto [sha, text, ext] : {std::tuple{bundleSha, &(*bundle)->js, ".js"}, std::tuple{mapSha, &(*bundle)->map, ".map"}}) {
      bundleBlobs.push_back({blobPathFor(impl_->blobDir, sha, ext), *text});
      bundleBlobs.push_back({blobPathFor(impl_->blobDir, sha, std::string(ext) + ".gz"), http::gzipCompress(*text)});
      bundleBlobs.push_back({blobPathFor(impl_->blobDir, sha, std::string(ext) + ".br"), http::brotliCompress(*text)});
    }
  }

  Digest digest = digestBytes(zipBytes);
  std::lock_guard lock(impl_->dbMutex);
  Database& db = impl_->db;
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s.error();

  // Ownership: the first publisher of an id owns it.
  auto owner = db.prepare("SELECT owner FROM owners WHERE plugin_id = ?");
  if (!owner) return owner.error();
  owner->bind(1, m.id);
  if (owner->step()) {
    if (owner->getText(0) != publisher.name && !publisher.hasScope("admin")) {
      return Error::denied("plugin \"" + m.id + "\" belongs to \"" + owner->getText(0) + "\"; \"" + publisher.name + "\" may not publish it");
    }
  } else {
    auto claim = db.prepare("INSERT INTO owners (plugin_id, owner, created_at) VALUES (?,?,?)");
    if (!claim) return claim.error();
    claim->bind(1, m.id).bind(2, publisher.name).bind(3, utcNow());
    if (auto s = claim->run(); !s) return s.error();
  }

  // Immutability.
  auto existing = db.prepare("SELECT sha256 FROM versions WHERE plugin_id = ? AND version = ?");
  if (!existing) return existing.error();
  existing->bind(1, m.id).bind(2, version);
  if (existing->step()) {
    if (existing->getText(0) != digest.sha256) {
      return Error::conflict(m.id + " " + version + " already exists with different bytes; versions are immutable, publish a new version");
    }
    tx.rollback();  // nothing to write
    auto found = find(m.id, m.version);
    if (!found) return Error::internal("version vanished while publishing");
    return PublishResult{*found, false};
  }

  if (auto s = storeBlob(blobPathFor(impl_->blobDir, digest.sha256), zipBytes); !s) return s.error();
  for (const auto& blob : bundleBlobs) {
    if (auto s = storeBlob(blob.path, blob.bytes); !s) return s.error();
  }
  auto manifestText = readZipEntry(zipBytes, m.file, 1 << 20);
  auto insert = db.prepare(
      "INSERT INTO versions (plugin_id, version, name, description, category, author, host_range, file_name, size, sha256, "
      "integrity, status, yanked, source, manifest, readme, signature, created_at, bundle_sha256, bundle_map_sha256) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,'upload',?,?,?,?,?,?)");
  if (!insert) return insert.error();
  insert->bind(1, m.id).bind(2, version).bind(3, m.name).bind(4, m.description);
  insert->bind(5, m.category.empty() ? m.type : m.category).bind(6, m.author).bind(7, m.hostRange);
  insert->bind(8, packageFileName(m.id, m.version)).bind(9, static_cast<int64_t>(digest.size)).bind(10, digest.sha256);
  insert->bind(11, digest.sri).bind(12, impl_->options.requireReview ? "pending" : "approved");
  insert->bind(13, manifestText ? *manifestText : "").bind(14, info->readme.value_or(""));
  insert->bind(15, signatureText.value_or("")).bind(16, utcNow()).bind(17, bundleSha).bind(18, mapSha);
  if (auto s = insert->run(); !s) return s.error();
  if (auto s = recordEvent(db, publisher.name, "publish", m.id, version, impl_->options.requireReview ? "pending" : "approved"); !s) {
    return s.error();
  }
  if (auto s = tx.commit(); !s) return s.error();
  if (auto s = impl_->rebuildSnapshot(); !s) return s.error();
  auto stored = find(m.id, m.version);
  if (!stored) return Error::internal("published version not found after commit");
  return PublishResult{*stored, true};
}

}  // namespace patchbay
