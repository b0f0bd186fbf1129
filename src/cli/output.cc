#include "cli/output.h"

#include <cstdio>
#include <iostream>

#include "cli/commands.h"

namespace patchbay::cli {

int fail(const std::string& message) {
  std::cerr << "patchbay: error: " << message << "\n";
  return kExitFailure;
}

int fail(const Error& error) { return fail(error.message); }

void printJson(const nlohmann::ordered_json& value) { std::cout << value.dump(2) << "\n"; }

int failJson(const Error& error) {
  printJson({{"ok", false}, {"error", {{"kind", errorKindName(error.kind)}, {"message", error.message}}}});
  return kExitFailure;
}

std::string humanSize(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace patchbay::cli
