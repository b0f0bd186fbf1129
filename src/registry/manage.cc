// Seed 003's management: edits, review, yank and erase, the audit log.
#include <filesystem>

#include "registry/registry_impl.h"

namespace patchbay {

namespace {

bool validReviewStatus(const std::string& s) { return s == "pending" || s == "approved" || s == "rejected"; }

// Publishers never review their own work (docs/registry.md): not a version
// they uploaded, nor any version of a plugin they own. The reason, or "".
std::string ownWork(SqlDatabase& db, const std::string& id, const std::optional<Version>& version, const std::string& reviewer) {
  auto owner = db.query("SELECT owner FROM owners WHERE plugin_id = $1", {id});
  if (owner && !owner->empty() && owner->front()[0] == reviewer) return "\"" + reviewer + "\" owns \"" + id + "\"";
  auto published = version ? db.query("SELECT 1 FROM events WHERE action = 'publish' AND plugin_id = $1 AND actor = $2 AND version = $3",
                                      {id, reviewer, version->toString()})
                           : db.query("SELECT 1 FROM events WHERE action = 'publish' AND plugin_id = $1 AND actor = $2", {id, reviewer});
  if (published && !published->empty()) {
    return "\"" + reviewer + "\" published " + (version ? "version " + version->toString() : std::string("versions")) + " of \"" + id + "\"";
  }
  return "";
}

Error selfReview(const std::string& why) {
  return Error::denied("publishers never review their own versions: " + why + "; another reviewer must decide");
}

}  // namespace

Status recordEvent(SqlDatabase& db, std::string_view actor, std::string_view action, std::string_view pluginId,
                   std::string_view version, std::string_view detail) {
  auto r = db.query("INSERT INTO events (at, actor, action, plugin_id, version, detail) VALUES ($1, $2, $3, $4, $5, $6)",
                    {utcNow(), std::string(actor), std::string(action), std::string(pluginId), std::string(version), std::string(detail)});
  if (!r) return r.error();
  return {};
}

Result<std::vector<PackageRecord>> Registry::updatePlugin(const std::string& id, const PluginUpdate& u, const TokenInfo& who) {
  auto current = versions(id);
  if (current.empty()) return Error::notFound("no plugin \"" + id + "\"");
  const bool isOwner = !current.front().owner.empty() && current.front().owner == who.name;
  if ((u.description || u.category) && !isOwner && !who.hasScope("admin")) {
    return Error::denied("only the owner of \"" + id + "\" (" + (current.front().owner.empty() ? "none: a drop-in plugin" : current.front().owner) +
                         ") or an admin may change its description or category");
  }
  if (u.status) {
    if (!validReviewStatus(*u.status)) return Error::invalid("status must be pending, approved or rejected; got \"" + *u.status + "\"");
    if (!who.hasScope("review")) return Error::denied("changing the status needs a token with the review scope");
  }
  if (u.description && u.description->size() > 4096) return Error::invalid("description: at most 4096 characters");
  if (u.category && u.category->size() > 64) return Error::invalid("category: at most 64 characters");
  if (!u.description && !u.category && !u.status) return Error::invalid("nothing to change: give description, category or status");
  {
    std::lock_guard lock(impl_->dbMutex);
    SqlDatabase& db = *impl_->db;
    if (u.status) {
      if (std::string why = ownWork(db, id, std::nullopt, who.name); !why.empty()) return selfReview(why);
    }
    SqlTransaction tx(db);
    if (auto s = tx.begin(); !s) return s.error();
    if (u.description || u.category) {
      // NULL keeps what is there (an edit of one field leaves the other).
      auto put = db.query(
          "INSERT INTO plugin_overrides (plugin_id, description, category, updated_by, updated_at) "
          "VALUES ($1, CASE WHEN $2 = '1' THEN $3 END, CASE WHEN $4 = '1' THEN $5 END, $6, $7) "
          "ON CONFLICT (plugin_id) DO UPDATE SET description = COALESCE(excluded.description, plugin_overrides.description), "
          "category = COALESCE(excluded.category, plugin_overrides.category), updated_by = excluded.updated_by, updated_at = excluded.updated_at",
          {id, u.description ? "1" : "0", u.description.value_or(""), u.category ? "1" : "0", u.category.value_or(""), who.name, utcNow()});
      if (!put) return put.error();
      std::string detail = (u.description ? "description" : "") + std::string(u.description && u.category ? ", " : "") +
                           (u.category ? "category = " + *u.category : "");
      if (auto s = recordEvent(db, who.name, "update", id, "", detail); !s) return s.error();
    }
    if (u.status) {
      auto st = db.query("UPDATE versions SET status = $1, review_reason = $2, reviewed_by = $3, reviewed_at = $4 WHERE plugin_id = $5",
                         {*u.status, u.reason, who.name, utcNow(), id});
      if (!st) return st.error();
      if (auto s = recordEvent(db, who.name, "status", id, "", *u.status + (u.reason.empty() ? "" : ": " + u.reason)); !s) {
        return s.error();
      }
    }
    if (auto s = impl_->bumpGeneration(); !s) return s.error();
    if (auto s = tx.commit(); !s) return s.error();
    if (auto s = impl_->rebuildSnapshot(); !s) return s.error();
  }
  return versions(id);
}

Result<PackageRecord> Registry::review(const std::string& id, const Version& version, const std::string& status,
                                       const std::string& reason, const TokenInfo& who) {
  if (!who.hasScope("review")) return Error::denied("reviewing needs a token with the review scope");
  if (!validReviewStatus(status)) return Error::invalid("status must be approved, rejected or pending; got \"" + status + "\"");
  if (reason.size() > 4096) return Error::invalid("reason: at most 4096 characters");
  if (!find(id, version)) return Error::notFound("no version " + version.toString() + " of \"" + id + "\"");
  {
    std::lock_guard lock(impl_->dbMutex);
    SqlDatabase& db = *impl_->db;
    if (std::string why = ownWork(db, id, version, who.name); !why.empty()) return selfReview(why);
    SqlTransaction tx(db);
    if (auto s = tx.begin(); !s) return s.error();
    auto st = db.query("UPDATE versions SET status = $1, review_reason = $2, reviewed_by = $3, reviewed_at = $4 WHERE plugin_id = $5 AND version = $6",
                       {status, reason, who.name, utcNow(), id, version.toString()});
    if (!st) return st.error();
    if (auto s = recordEvent(db, who.name, "review", id, version.toString(), status + (reason.empty() ? "" : ": " + reason)); !s) {
      return s.error();
    }
    if (auto s = impl_->bumpGeneration(); !s) return s.error();
    if (auto s = tx.commit(); !s) return s.error();
    if (auto s = impl_->rebuildSnapshot(); !s) return s.error();
  }
  auto r = find(id, version);
  if (!r) return Error::internal("version vanished during review");
  return *r;
}

Result<size_t> Registry::yank(const std::string& id, const std::optional<Version>& version, const std::string& reason,
                              const TokenInfo& who) {
  if (!who.hasScope("admin")) return Error::denied("yanking needs an admin token");
  std::lock_guard lock(impl_->dbMutex);
  SqlDatabase& db = *impl_->db;
  SqlTransaction tx(db);
  if (auto s = tx.begin(); !s) return s.error();
  auto st = version ? db.query("UPDATE versions SET yanked = 1, yank_reason = $1 WHERE plugin_id = $2 AND version = $3", {reason, id, version->toString()})
                    : db.query("UPDATE versions SET yanked = 1, yank_reason = $1 WHERE plugin_id = $2", {reason, id});
  if (!st) return st.error();
  const size_t changed = static_cast<size_t>(db.changes());
  if (changed == 0) {
    return Error::notFound(version ? "no version " + version->toString() + " of \"" + id + "\"" : "no plugin \"" + id + "\"");
  }
  if (auto s = recordEvent(db, who.name, "yank", id, version ? version->toString() : "*", reason); !s) return s.error();
  if (auto s = impl_->bumpGeneration(); !s) return s.error();
  if (auto s = tx.commit(); !s) return s.error();
  if (auto s = impl_->rebuildSnapshot(); !s) return s.error();
  return changed;
}

Result<size_t> Registry::erase(const std::string& id, const std::optional<Version>& version, const TokenInfo& who) {
  if (!who.hasScope("admin")) return Error::denied("deleting needs an admin token");
  std::vector<PackageRecord> doomed;
  for (auto& r : versions(id)) {
    if (!version || r.version.toString() == version->toString()) doomed.push_back(std::move(r));
  }
  if (doomed.empty()) {
    return Error::notFound(version ? "no version " + version->toString() + " of \"" + id + "\"" : "no plugin \"" + id + "\"");
  }
  std::vector<std::string> unusedBlobs;
  {
    std::lock_guard lock(impl_->dbMutex);
    SqlDatabase& db = *impl_->db;
    SqlTransaction tx(db);
    if (auto s = tx.begin(); !s) return s.error();
    for (const auto& r : doomed) {
      if (auto del = db.query("DELETE FROM versions WHERE plugin_id = $1 AND version = $2", {id, r.version.toString()}); !del) return del.error();
      if (auto dl = db.query("DELETE FROM downloads WHERE plugin_id = $1 AND version = $2", {id, r.version.toString()}); !dl) return dl.error();
      auto shared = db.query("SELECT COUNT(*) FROM versions WHERE sha256 = $1", {r.sha256});
      if (!shared) return shared.error();
      if (!shared->empty() && shared->front()[0] == "0") unusedBlobs.push_back(r.blobKey);
    }
    if (!version) {
      for (const char* table : {"owners", "plugin_overrides"}) {
        if (auto del = db.query(std::string("DELETE FROM ") + table + " WHERE plugin_id = $1", {id}); !del) return del.error();
      }
    }
    if (auto s = recordEvent(db, who.name, "erase", id, version ? version->toString() : "*", ""); !s) return s.error();
    if (auto s = impl_->bumpGeneration(); !s) return s.error();
    if (auto s = tx.commit(); !s) return s.error();
    if (auto s = impl_->rebuildSnapshot(); !s) return s.error();
  }
  {
    std::lock_guard lock(impl_->downloadsMutex);
    for (const auto& r : doomed) impl_->downloadTotals.erase({id, r.version.toString()});
  }
  // After the commit: a crash here leaves an unreferenced blob or drop-in
  // file, never a record without its bytes. A drop-in file must go, or the
  // next folder scan would bring the version back.
  std::error_code ec;
  for (const auto& r : doomed) {
    if (r.source == "folder" && !impl_->options.pluginsDir.empty()) {
      std::filesystem::remove(impl_->options.pluginsDir + "/" + r.fileName, ec);
    }
  }
  for (const auto& key : unusedBlobs) (void)impl_->blobs->remove(key);  // left: collected as garbage later
  return doomed.size();
}

std::vector<PackageRecord> Registry::reviewQueue() const {
  std::vector<PackageRecord> out;
  auto snap = impl_->current();
  for (const auto& [id, plugin] : snap->plugins) {
    for (const auto& r : plugin.versions) {
      if (r.status == "pending" && !r.yanked) out.push_back(r);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const PackageRecord& a, const PackageRecord& b) { return a.createdAt < b.createdAt; });
  return out;
}

std::vector<RegistryEvent> Registry::events(size_t limit) const {
  std::vector<RegistryEvent> out;
  std::lock_guard lock(impl_->dbMutex);
  auto rows = impl_->db->query("SELECT id, at, actor, action, plugin_id, version, detail FROM events ORDER BY id DESC LIMIT $1",
                               {std::to_string(limit)});
  if (!rows) return out;
  for (auto& row : *rows) {
    out.push_back({std::stoll(row[0]), std::move(row[1]), std::move(row[2]), std::move(row[3]), std::move(row[4]), std::move(row[5]),
                   std::move(row[6])});
  }
  return out;
}

}  // namespace patchbay
