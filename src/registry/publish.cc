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

bool stillConnected(SqlDatabase& db) {
  auto* pg = dynamic_cast<PostgresDatabase*>(&db);
  return pg && pg->connection().connected();
}

}  // namespace

Result<std::pair<TokenInfo, std::string>> Registry::createToken(const std::string& name, const std::vector<std::string>& scopes,
                                                                const std::string& expiresAt, const std::string& actor) {
  std::lock_guard lock(impl_->dbMutex);
  SqlTransaction tx(*impl_->db);
  if (auto s = tx.begin(); !s) return s.error();
  auto created = tokens::create(*impl_->db, name, scopes, kScopes, expiresAt);
  if (!created) return created.error();
  std::string joined;
  for (const auto& s : scopes) joined += (joined.empty() ? "" : ",") + s;
  if (auto s = recordEvent(*impl_->db, actor, "token.create", "", "", name + " (" + std::to_string(created->first.id) + ": " + joined + ")"); !s) {
    return s.error();
  }
  if (auto s = tx.commit(); !s) return s.error();
  return created;
}

std::vector<TokenInfo> Registry::listTokens() const {
  std::lock_guard lock(impl_->dbMutex);
  return tokens::list(*impl_->db);
}

Status Registry::revokeToken(int64_t id, const std::string& actor) {
  std::lock_guard lock(impl_->dbMutex);
  SqlTransaction tx(*impl_->db);
  if (auto s = tx.begin(); !s) return s;
  if (auto s = tokens::revoke(*impl_->db, id); !s) return s;
  if (auto s = recordEvent(*impl_->db, actor, "token.revoke", "", "", std::to_string(id)); !s) return s;
  return tx.commit();
}

Result<TokenInfo> Registry::authenticate(std::string_view secret) {
  std::lock_guard lock(impl_->dbMutex);
  return tokens::authenticate(*impl_->db, secret);
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
    std::string key, bytes;
  };
  std::vector<BlobFile> bundleBlobs;
  std::string bundleSha, mapSha;
  if (*bundle) {
    bundleSha = sha256Hex((*bundle)->js);
    mapSha = sha256Hex((*bundle)->map);
    for (auto [sha, text, ext] : {std::tuple{bundleSha, &(*bundle)->js, ".js"}, std::tuple{mapSha, &(*bundle)->map, ".map"}}) {
      bundleBlobs.push_back({blobKey(sha, ext), *text});
      bundleBlobs.push_back({blobKey(sha, std::string(ext) + ".gz"), http::gzipCompress(*text)});
      bundleBlobs.push_back({blobKey(sha, std::string(ext) + ".br"), http::brotliCompress(*text)});
    }
  }

  Digest digest = digestBytes(zipBytes);
  const std::string status = impl_->options.requireReview ? "pending" : "approved";
  auto manifestText = readZipEntry(zipBytes, m.file, 1 << 20);

  // The blobs before the row that points at them, and before taking the
  // catalog's lock (a remote store takes a while): a crash, or a publish
  // refused below, leaves bytes nobody refers to, which garbage collection
  // removes; never a row without its bytes. Content-addressed, so a
  // retried upload stores the same bytes again.
  if (auto s = impl_->blobs->put(blobKey(digest.sha256), zipBytes); !s) return s.error();
  for (const auto& blob : bundleBlobs) {
    if (auto s = impl_->blobs->put(blob.key, blob.bytes); !s) return s.error();
  }

  std::lock_guard lock(impl_->dbMutex);
  SqlDatabase& db = *impl_->db;
  // One try in a transaction: false when the same bytes were already there.
  auto attempt = [&]() -> Result<bool> {
    SqlTransaction tx(db);
    if (auto s = tx.begin(); !s) return s.error();
    // Ownership: the first publisher of an id owns it.
    auto owner = db.query("SELECT owner FROM owners WHERE plugin_id = $1", {m.id});
    if (!owner) return owner.error();
    if (!owner->empty()) {
      const std::string& holder = owner->front()[0];
      if (holder != publisher.name && !publisher.hasScope("admin")) {
        return Error::denied("plugin \"" + m.id + "\" belongs to \"" + holder + "\"; \"" + publisher.name + "\" may not publish it");
      }
    } else if (auto claim = db.query("INSERT INTO owners (plugin_id, owner, created_at) VALUES ($1, $2, $3)", {m.id, publisher.name, utcNow()});
               !claim) {
      return claim.error();
    }
    // Immutability.
    auto existing = db.query("SELECT sha256 FROM versions WHERE plugin_id = $1 AND version = $2", {m.id, version});
    if (!existing) return existing.error();
    if (!existing->empty()) {
      if (existing->front()[0] != digest.sha256) {
        return Error::conflict(m.id + " " + version + " already exists with different bytes; versions are immutable, publish a new version");
      }
      return false;  // nothing to write
    }
    auto insert = db.query(
        "INSERT INTO versions (plugin_id, version, name, description, category, author, host_range, file_name, size, sha256, "
        "integrity, status, yanked, source, manifest, readme, signature, created_at, bundle_sha256, bundle_map_sha256) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,0,'upload',$13,$14,$15,$16,$17,$18)",
        {m.id, version, m.name, m.description, m.category.empty() ? m.type : m.category, m.author, m.hostRange,
         packageFileName(m.id, m.version), std::to_string(digest.size), digest.sha256, digest.sri, status,
         manifestText ? *manifestText : "", info->readme.value_or(""), signatureText.value_or(""), utcNow(), bundleSha, mapSha});
    if (!insert) return insert.error();
    if (auto s = recordEvent(db, publisher.name, "publish", m.id, version, status); !s) return s.error();
    if (auto s = impl_->bumpGeneration(); !s) return s.error();
    if (auto s = tx.commit(); !s) return s.error();
    return true;
  };
  // Replicas publishing the same id at once: the loser's transaction fails
  // (a taken key, a serialization failure) and a second try sees the
  // winner's row, so it answers as if it had come second.
  auto created = attempt();
  for (int retry = 0; retry < 2 && !created && db.isPostgres() && stillConnected(db) &&
                      (created.error().kind == ErrorKind::kConflict || created.error().kind == ErrorKind::kUnavailable);
       ++retry) {
    created = attempt();
  }
  if (!created) return created.error();
  if (*created) {
    if (auto s = impl_->rebuildSnapshot(); !s) return s.error();
  } else if (auto s = impl_->refreshIfChangedLocked(); !s) {
    return s.error();
  }
  auto stored = find(m.id, m.version);
  if (!stored) return Error::internal("published version not found after commit");
  return PublishResult{*stored, *created};
}

}  // namespace patchbay
