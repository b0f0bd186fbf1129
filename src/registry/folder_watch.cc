#include "registry/folder_watch.h"

#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace patchbay {
namespace {

// File systems on which every change to a folder is made by this kernel
// (and so reaches inotify). Network, FUSE and overlay file systems are
// left out: a change made by another machine, a FUSE daemon or in an
// overlay's lower layer sends no event here.
bool changesAllPassHere(const std::string& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case RAMFS_MAGIC:
    case F2FS_SUPER_MAGIC:
    case REISERFS_SUPER_MAGIC:
    case 0x2fc12fc1:  // ZFS
    case 0x3153464a:  // JFS
    case 0xca451a4e:  // bcachefs
      return true;
    default:
      return false;
  }
}

}  // namespace

FolderWatch::~FolderWatch() { close(); }

void FolderWatch::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool FolderWatch::due(const std::string& dir, std::chrono::seconds fullScanEvery) {
  const auto now = std::chrono::steady_clock::now();
  bool changed = false;
  if (dir != dir_ || fd_ < 0) {
    close();
    dir_ = dir;
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    const uint32_t events = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
                            IN_DELETE_SELF | IN_MOVE_SELF;
    if (fd_ >= 0 && ::inotify_add_watch(fd_, dir.c_str(), events) < 0) close();  // no folder yet: scan every time
    eventsTellEverything_ = fd_ >= 0 && changesAllPassHere(dir);
    changed = true;
  }
  if (fd_ >= 0) {
    alignas(inotify_event) char buffer[16384];
    while (true) {
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0) break;
      changed = true;
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_Q_OVERFLOW)) dir_.clear();  // watch again next time
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
  } else {
    changed = true;  // nothing tells us: scan
  }
  if (!changed && (eventsTellEverything_ || now - lastScan_ < fullScanEvery)) return false;
  lastScan_ = now;
  return true;
}

}  // namespace patchbay
