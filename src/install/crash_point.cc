#include "install/crash_point.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace patchbay::install {

void crashPoint(std::string_view name) {
  static const long killAt = [] {
    const char* v = std::getenv("PATCHBAY_TEST_KILL_AT");
    return v ? std::strtol(v, nullptr, 10) : 0L;
  }();
  static const char* log = std::getenv("PATCHBAY_TEST_POINTS");
  static std::atomic<long> reached{0};
  const long n = ++reached;
  if (log) {
    int fd = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      std::string line = std::string(name) + "\n";
      (void)!::write(fd, line.data(), line.size());
      ::close(fd);
    }
  }
  if (killAt > 0 && n == killAt) ::kill(::getpid(), SIGKILL);
}

}  // namespace patchbay::install
