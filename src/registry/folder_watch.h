// Whether the drop-in folder may have changed since its last scan, so that
// a catalog of 100,000 files is not stat()ed every second for nothing.
// inotify says at once when files are added, removed, written or renamed;
// a full scan still comes every `fullScanEvery`, for file systems that send
// no events (a network file system changed from another machine).
#pragma once

#include <chrono>
#include <string>

namespace patchbay {

class FolderWatch {
 public:
  explicit FolderWatch(std::chrono::seconds fullScanEvery = std::chrono::seconds(10)) : fullScanEvery_(fullScanEvery) {}
  ~FolderWatch();
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;

  // True when `dir` is to be scanned now: the first time, after events, and
  // when the last full scan is older than fullScanEvery. Marks the scan as
  // done (events arriving during the scan make the next call true).
  bool due(const std::string& dir);

 private:
  void close();
  std::chrono::seconds fullScanEvery_;
  int fd_ = -1;
  std::string dir_;
  std::chrono::steady_clock::time_point lastScan_{};
};

}  // namespace patchbay
