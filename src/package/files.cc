#include "patchbay/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>

namespace patchbay {

namespace {

Status writeAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno(path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

Result<std::string> readFileLimited(const std::string& path, uint64_t maxBytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::fromErrno(path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Error::fromErrno(path);
  if (!S_ISREG(st.st_mode)) return Error::invalid(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > maxBytes) {
    return Error::limit(path + ": " + std::to_string(st.st_size) + " bytes; the limit is " + std::to_string(maxBytes));
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno(path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Status writeFileAtomically(const std::string& path, std::string_view bytes, unsigned mode) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd >= 0) ::fchmod(fd, static_cast<mode_t>(mode));  // whatever the umask
  if (fd < 0) return Error::fromErrno(tmp);
  Status s = writeAll(fd, bytes, tmp);
  if (s && ::fsync(fd) != 0) s = Error::fromErrno(tmp + " (disk full?)");
  ::close(fd);
  if (s && ::rename(tmp.c_str(), path.c_str()) != 0) s = Error::fromErrno(path);
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  // Make the rename itself durable.
  size_t slash = path.rfind('/');
  (void)syncFolder(slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash)));
  return {};
}

Status syncFolder(const std::string& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Error::fromErrno(dir);
  Status s;
  if (::fsync(dfd) != 0) s = Error::fromErrno(dir);
  ::close(dfd);
  return s;
}

Status syncTree(const std::string& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string path = it->path().string();
    if (it->is_symlink(ec)) continue;
    int fd = ::open(path.c_str(), (it->is_directory(ec) ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return Error::fromErrno(path);
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return Error::fromErrno(path);
  }
  if (ec) return Error::io(dir + ": " + ec.message());
  return syncFolder(dir);
}

Result<ScratchDir> ScratchDir::create(const std::string& parent, std::string_view prefix) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return Error::io(parent + ": cannot create the folder: " + ec.message());
  std::string pattern = parent + "/" + std::string(prefix) + "XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return Error::fromErrno(parent + ": cannot create a scratch folder");
  return ScratchDir(std::move(pattern));
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace patchbay
