#include "install/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>

#include "patchbay/files.h"

namespace patchbay::install {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {
constexpr uint64_t kMaxStateBytes = 16u << 20;
}  // namespace

Result<FolderLock> FolderLock::acquire(const std::string& folder, const std::string& busyHint) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  const std::string path = folder + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error::io(path + ": " + std::strerror(errno));
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
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return Error::invalid(path + ": not a JSON object");
  return j;
}

}  // namespace patchbay::install
