// `patchbay serve` and `patchbay up` in the `patchbay` binary: the host runs
// plugins in V8, which only `patchbay-host` links; hand the whole command
// line over to it.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "cli/commands.h"
#include "cli/host_serve.h"
#include "cli/output.h"

namespace patchbay::cli {

namespace {

// Hands the whole command line over to `patchbay-host` beside this binary.
int handOverToHost() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path host = self.parent_path() / "patchbay-host";
  if (ec || !std::filesystem::exists(host, ec)) {
    return fail(Error::notFound(host.string() + ": not found; `patchbay serve` and `patchbay up` run plugins with it (it is built and installed beside patchbay)"));
  }
  std::vector<std::string> args = originalArguments();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(host.c_str(), argv.data());
  return fail(Error::io(host.string() + ": cannot run it: " + std::strerror(errno)));
}

}  // namespace

int runHostServe(const HostServeOptions&) { return handOverToHost(); }
int runUp(const UpOptions&) { return handOverToHost(); }
int runDev(const DevOptions&) { return handOverToHost(); }

}  // namespace patchbay::cli
