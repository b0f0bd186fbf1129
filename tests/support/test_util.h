// Helpers shared by the tests: temporary folders, files, running commands.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace patchbay::test {

// A fresh folder under the system temp folder, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::filesystem::path operator/(const std::string& p) const { return path_ / p; }

 private:
  std::filesystem::path path_;
};

std::string readFile(const std::filesystem::path& path);
void writeFile(const std::filesystem::path& path, const std::string& content);

struct CommandResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr together
};
// Runs `command` with /bin/sh; stdin is /dev/null.
CommandResult run(const std::string& command);

// Starts args[0] with args[1..] (no shell), standard input from /dev/null,
// standard output and error appended to `outputFile` ("" = /dev/null), the
// environment `env` (every entry "NAME=value"). Returns the pid, or -1.
int spawnProcess(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& outputFile = "");
// Waits for a spawned process: its exit code, or 128 + the signal that ended it.
int waitForProcess(int pid);

// Every regular file, folder and link under `dir`, relative, sorted.
std::string listTree(const std::filesystem::path& dir);

// Debian's libfaketime (package faketime), thread-safe build: preloaded
// with FAKETIME=... it shifts or speeds up a process's clock.
inline constexpr const char* kFakeTimeLibrary = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

// The patchbay executable built next to the tests.
std::string patchbayBinary();

// `patchbay <command>` run in `dir` (its stderr in dir/log), on a free port
// (`port` empty when it did not start); killed when the object goes.
// A TCP port on 127.0.0.1 that was free a moment ago.
int freeLoopbackPort();

struct ServeProcess {
  int pid = 0;
  std::string port;
  // `environment`: NAME=value words set for the process only (e.g. libfaketime's).
  explicit ServeProcess(const TempDir& dir, const std::string& command = "registry serve --data data --plugins-dir plugins",
                        const std::string& environment = "");
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
};

}  // namespace patchbay::test
