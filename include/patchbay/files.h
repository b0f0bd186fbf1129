// patchbay/files.h — reading and writing whole files safely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "patchbay/result.h"

namespace patchbay {

// Reads a whole regular file, refusing one above maxBytes (kLimitExceeded)
// before reading it. Errors name the path.
Result<std::string> readFileLimited(const std::string& path, uint64_t maxBytes);

// Writes `bytes` to `path` so that readers see the old file or the new one,
// never a part: a temporary file beside it, fsync, rename, fsync of the
// folder. On error the temporary file is removed and `path` is untouched.
// `mode` is the new file's permission bits (0600 for secrets: the file is
// never readable by others, not even for a moment).
Status writeFileAtomically(const std::string& path, std::string_view bytes, unsigned mode = 0644);

// Makes a folder's entries durable (fsync of the folder: a rename, create
// or unlink in it survives a power cut).
Status syncFolder(const std::string& dir);
// fsyncs every file and folder under `dir`, then `dir` itself.
Status syncTree(const std::string& dir);

// A fresh private folder (mode 0700) under `parent` (created if missing),
// removed with everything in it when the ScratchDir is destroyed.
class ScratchDir {
 public:
  static Result<ScratchDir> create(const std::string& parent, std::string_view prefix);
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ScratchDir(const ScratchDir&) = delete;
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace patchbay
