// Helpers shared by the tests: temporary folders, files, running commands.
#pragma once

#include <filesystem>
#include <string>

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

// Every regular file, folder and link under `dir`, relative, sorted.
std::string listTree(const std::filesystem::path& dir);

// The patchbay executable built next to the tests.
std::string patchbayBinary();

}  // namespace patchbay::test
