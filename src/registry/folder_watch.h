// Whether the drop-in folder may have changed since its last scan, so that
// a folder of 100,000 files is not stat()ed every few seconds for nothing
// (on this machine's ext4, 100,000 stat()s take ~0.6 s of a core).
// inotify says at once when files are added, removed, written or renamed.
// On local file systems every change passes through this kernel, so its
// events are the whole story; on others (NFS, SMB, FUSE, overlay's lower
// layers) a change made elsewhere sends nothing, and a full scan comes
// every `fullScanEvery` (given to due()).
#pragma once

#include <chrono>
#include <string>

namespace patchbay {

class FolderWatch {
 public:
  FolderWatch() = default;
  ~FolderWatch();
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;

  // True when `dir` is to be scanned now: the first time, after events
  // (or a lost event queue), and, where events may miss changes, when the
  // last scan is older than fullScanEvery. Marks the scan as done (events
  // arriving during the scan make the next call true).
  bool due(const std::string& dir, std::chrono::seconds fullScanEvery);

 private:
  void close();
  int fd_ = -1;
  bool eventsTellEverything_ = false;
  std::string dir_;
  std::chrono::steady_clock::time_point lastScan_{};
};

}  // namespace patchbay
