#include "registry/folder_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

namespace patchbay {

FolderWatch::~FolderWatch() { close(); }

void FolderWatch::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool FolderWatch::due(const std::string& dir) {
  const auto now = std::chrono::steady_clock::now();
  bool changed = false;
  if (dir != dir_ || fd_ < 0) {
    close();
    dir_ = dir;
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    const uint32_t events = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
                            IN_DELETE_SELF | IN_MOVE_SELF;
    if (fd_ >= 0 && ::inotify_add_watch(fd_, dir.c_str(), events) < 0) close();  // no folder yet: scan every time
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
  if (!changed && now - lastScan_ < fullScanEvery_) return false;
  lastScan_ = now;
  return true;
}

}  // namespace patchbay
