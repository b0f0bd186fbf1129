// Registry::collectGarbage: bytes in the blob store that no version refers to.
#include <set>

#include "registry/registry_impl.h"

namespace patchbay {

namespace {

// pg_advisory_lock's key for "collecting the registry's garbage".
constexpr const char* kGarbageLock = "7061966117162";

bool isHexDigest(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The SHA-256 a key names ("ab/<sha>.zip", "ab/<sha>.js.br", a leftover "ab/<sha>.zip.tmp-…"), or "".
std::string digestOf(const std::string& key) {
  const size_t slash = key.rfind('/');
  const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  return name.size() >= 64 && isHexDigest(std::string_view(name).substr(0, 64)) ? name.substr(0, 64) : "";
}

}  // namespace

Result<Registry::GarbageReport> Registry::collectGarbage(std::optional<std::chrono::seconds> grace) {
  GarbageReport report;
  const auto cutoff = std::chrono::system_clock::now() - grace.value_or(impl_->options.garbageGrace);
  SqlDatabase& db = *impl_->db;
  if (db.isPostgres()) {
    std::lock_guard lock(impl_->dbMutex);
    auto got = db.query(std::string("SELECT pg_try_advisory_lock(") + kGarbageLock + ")");
    if (!got) return got.error();
    if (got->empty() || (*got)[0][0] != "t") {
      report.skipped = true;
      return report;
    }
  }
  struct Unlock {
    Registry::Impl& impl;
    ~Unlock() {
      if (!impl.db->isPostgres()) return;
      std::lock_guard lock(impl.dbMutex);
      (void)impl.db->query(std::string("SELECT pg_advisory_unlock(") + kGarbageLock + ")");
    }
  } unlock{*impl_};

  // Every digest a row refers to, read from the database (not the snapshot: another replica's newest rows count).
  auto referenced = [&]() -> Result<std::set<std::string>> {
    std::lock_guard lock(impl_->dbMutex);
    auto rows = db.query("SELECT sha256, bundle_sha256, bundle_map_sha256 FROM versions");
    if (!rows) return rows.error();
    std::set<std::string> out;
    for (const auto& r : *rows) {
      for (const auto& v : r) {
        if (!v.empty()) out.insert(v);
      }
    }
    return out;
  };
  auto stored = impl_->blobs->list();
  if (!stored) return stored.error();
  auto inUse = referenced();
  if (!inUse) return inUse.error();
  std::vector<StoredBlob> candidates;
  for (auto& b : *stored) {
    ++report.examined;
    const std::string digest = digestOf(b.key);
    if (digest.empty() || b.modified > cutoff) continue;  // not ours, or young enough to belong to a publish under way
    const bool leftover = b.key.find(".tmp-") != std::string::npos;
    if (inUse->contains(digest) && !leftover) continue;
    candidates.push_back(std::move(b));
  }
  if (candidates.empty()) return report;
  // Once more just before removing: a publish may have come to refer to one meanwhile.
  inUse = referenced();
  if (!inUse) return inUse.error();
  for (const auto& b : candidates) {
    if (inUse->contains(digestOf(b.key)) && b.key.find(".tmp-") == std::string::npos) continue;
    if (auto s = impl_->blobs->remove(b.key); !s) return s.error();
    ++report.removed;
    report.bytesRemoved += b.size;
    report.removedKeys.push_back(b.key);
  }
  return report;
}

}  // namespace patchbay
