// The installers' shared pieces: the journal entry an operation writes
// before it changes anything, and small file helpers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "patchbay/install.h"
#include "patchbay/result.h"

namespace patchbay::install {

// The record of one operation, written before it changes anything.
struct Journal {
  std::string op;  // the operation's id (JournalFolder::newOperationId)
  OperationKind kind = OperationKind::kInstall;
  std::string id;  // the plugin's
  std::string fromVersion, toVersion;
  std::string newDir, oldDir;  // version folders (absolute)
  std::string source, sha256, at;
  std::string payload;     // what finishing needs and the target defines (a panel's registry entry, as JSON)
  bool hadData = false;    // plugin-data/<id> existed before
  bool activate = false;   // put it in the active set
  bool wasActive = false;  // it was active before
  bool keepData = false;
  bool committed = false;

  nlohmann::ordered_json toJson() const {
    return {{"op", op},           {"kind", operationName(kind)},       {"id", id},           {"fromVersion", fromVersion},
            {"toVersion", toVersion}, {"newDir", newDir}, {"oldDir", oldDir},   {"source", source},
            {"sha256", sha256},   {"at", at},           {"hadData", hadData}, {"activate", activate},
            {"wasActive", wasActive}, {"keepData", keepData}, {"committed", committed}, {"payload", payload}};
  }
  static Result<Journal> fromJson(const nlohmann::ordered_json& j) {
    if (!j.is_object() || !j.contains("op") || !j.contains("kind") || !j.contains("id")) return Error::invalid("not an installer journal");
    Journal r;
    r.op = j.value("op", "");
    auto kind = operationKindNamed(j.value("kind", ""));
    if (!kind) return Error::invalid("not an installer journal: unknown operation \"" + j.value("kind", "") + "\"");
    r.kind = *kind;
    r.id = j.value("id", "");
    r.fromVersion = j.value("fromVersion", "");
    r.toVersion = j.value("toVersion", "");
    r.newDir = j.value("newDir", "");
    r.oldDir = j.value("oldDir", "");
    r.source = j.value("source", "");
    r.sha256 = j.value("sha256", "");
    r.at = j.value("at", "");
    r.hadData = j.value("hadData", false);
    r.activate = j.value("activate", false);
    r.wasActive = j.value("wasActive", false);
    r.keepData = j.value("keepData", false);
    r.committed = j.value("committed", false);
    r.payload = j.value("payload", "");
    return r;
  }
};

// The folder of an installer's journal entries (one file per operation).
class JournalFolder {
 public:
  explicit JournalFolder(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  // Writes (or rewrites) the entry durably: before its operation changes anything.
  Status write(const Journal& j) const;
  // Removes it durably: its operation is over.
  Status remove(const Journal& j) const;
  // The entries a crash left, oldest first; temporary files of cut-short writes are removed.
  Result<std::vector<Journal>> pending() const;
  // A new operation's id: "YYYY-MM-DD-" and 8 hex digits.
  static std::string newOperationId();

 private:
  std::string path(const Journal& j) const { return dir_ + "/" + j.op + ".json"; }
  std::string dir_;
};

// An exclusive lock on a state folder (flock on FOLDER/lock), held while
// the object lives: one installer per data folder at a time, whether in
// this process or another. Released by the kernel when a process dies.
class FolderLock {
 public:
  // kConflict when another installer holds it; `busyHint` says what to do.
  static Result<FolderLock> acquire(const std::string& folder, const std::string& busyHint);
  FolderLock(FolderLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FolderLock& operator=(FolderLock&&) = delete;
  FolderLock(const FolderLock&) = delete;
  ~FolderLock();

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Removes a file or folder tree; absent is fine.
Status removeTree(const std::string& path);
// A JSON object from a file, or `fallback` when the file does not exist.
Result<nlohmann::ordered_json> readJsonFile(const std::string& path, nlohmann::ordered_json fallback);

}  // namespace patchbay::install
