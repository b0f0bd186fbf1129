#include "install/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <filesystem>

#include "patchbay/json.h"
#include "patchbay/clock.h"
#include "patchbay/files.h"
#include "patchbay/integrity.h"

namespace patchbay::install {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {
constexpr uint64_t kMaxStateBytes = 16u << 20;
}  // namespace

Status JournalFolder::write(const Journal& j) const { return writeFileAtomically(path(j), j.toJson().dump(2) + "\n"); }

Status JournalFolder::remove(const Journal& j) const {
  std::error_code ec;
  fs::remove(path(j), ec);
  if (ec) return Error::io(path(j) + ": " + ec.message());
  return syncFolder(dir_);
}

Result<std::vector<Journal>> JournalFolder::pending() const {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().extension() == ".json") {
      files.push_back(entry.path());
    } else if (entry.path().filename().string().find(".tmp-") != std::string::npos) {
      fs::remove(entry.path(), ec);
    }
  }
  std::sort(files.begin(), files.end());  // ids start with the date
  std::vector<Journal> out;
  for (const auto& file : files) {
    auto read = readJsonFile(file.string(), json());
    if (!read) return read.error();
    auto j = Journal::fromJson(*read);
    if (!j) return Error::invalid(file.string() + ": " + j.error().message);
    out.push_back(std::move(*j));
  }
  return out;
}

std::string JournalFolder::newOperationId() { return utcNowMillis().substr(0, 10) + "-" + randomUuid().substr(0, 8); }

Result<FolderLock> FolderLock::acquire(const std::string& folder, const std::string& busyHint) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  const std::string path = folder + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error::fromErrno(path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int why = errno;
    ::close(fd);
    if (why == EWOULDBLOCK) return Error::conflict(folder + " is in use by another installer: " + busyHint);
    return Error::io(path + ": " + std::strerror(why));
  }
  return FolderLock(fd);
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Status removeTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return Error::io(path + ": cannot remove: " + ec.message());
  return {};
}

Result<json> readJsonFile(const std::string& path, json fallback) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return fallback;
  auto text = readFileLimited(path, kMaxStateBytes);
  if (!text) return text.error();
  json j = parseJsonOrDiscarded<json>(*text);
  if (!j.is_object()) return Error::invalid(path + ": not a JSON object");
  return j;
}

}  // namespace patchbay::install
