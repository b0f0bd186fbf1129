// The patchbay command line: each group of subcommands registers itself on
// the app. main() only parses and dispatches.
//
// Exit codes everywhere: 0 success, 1 failure (the message says why),
// 2 usage error (unknown flag, missing argument).
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace patchbay::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// The command line as given (main() keeps it), for handing it on.
void rememberArguments(int argc, char** argv);
std::vector<std::string> originalArguments();

// Commands set this from their callbacks; main() returns it.
struct Outcome {
  int exitCode = kExitOk;
};

// init, pack, inspect, keygen, sign, verify
void addPackageCommands(CLI::App& app, Outcome& outcome);
// registry serve
void addRegistryCommands(CLI::App& app, Outcome& outcome);
// serve, admin-token
void addHostCommands(CLI::App& app, Outcome& outcome);
// install, upgrade, uninstall, list, info, search
void addInstallCommands(CLI::App& app, Outcome& outcome);
// panel serve
void addPanelCommands(CLI::App& app, Outcome& outcome);

}  // namespace patchbay::cli
