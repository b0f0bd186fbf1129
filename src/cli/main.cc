// patchbay: the command line. Parses flags and hands over to the parts.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "patchbay/version.h"

namespace patchbay::cli {
namespace {
std::vector<std::string>& arguments() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace
void rememberArguments(int argc, char** argv) { arguments().assign(argv, argv + argc); }
std::vector<std::string> originalArguments() { return arguments(); }
}  // namespace patchbay::cli

int main(int argc, char** argv) {
  using namespace patchbay::cli;
  rememberArguments(argc, argv);
  CLI::App app{"patchbay: plugin packages, registry, installer and runtime for web panels", "patchbay"};
  app.set_version_flag("--version", std::string("patchbay ") + patchbay::versionString());
  app.require_subcommand(1);
  app.fallthrough(false);
  Outcome outcome;
  addPackageCommands(app, outcome);
  addRegistryCommands(app, outcome);
  addHostCommands(app, outcome);
  addInstallCommands(app, outcome);
  addPanelCommands(app, outcome);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return outcome.exitCode;
}
