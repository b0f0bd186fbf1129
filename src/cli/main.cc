// patchbay: the command line. Parses flags and hands over to the parts.
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "patchbay/text.h"
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

namespace {

std::vector<std::string_view> namesOf(const std::vector<CLI::App*>& commands) {
  std::vector<std::string_view> out;
  for (const CLI::App* c : commands) out.push_back(c->get_name());
  return out;
}

std::string didYouMean(std::string_view word, const std::vector<std::string_view>& known) {
  std::string_view best = patchbay::nearestName(word, known);
  return best.empty() ? "" : " (did you mean \"" + std::string(best) + "\"?)";
}

// What a mistyped command or flag gets: the nearest name, and where the
// list is. nullopt when the arguments hold no such mistake.
std::optional<std::string> mistakeIn(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* at = &app;
  std::string path = "patchbay";
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.starts_with("--")) {
      const std::string name = arg.substr(2, arg.find('=') - 2);
      if (at->get_option_no_throw("--" + name) || name == "help" || name == "version") continue;
      std::vector<std::string> longNames;
      for (const CLI::Option* o : at->get_options()) {
        for (const auto& n : o->get_lnames()) longNames.push_back("--" + n);
      }
      std::vector<std::string_view> known(longNames.begin(), longNames.end());
      return "unknown option \"" + arg.substr(0, arg.find('=')) + "\" for " + path + didYouMean("--" + name, known) + "; see " + path + " --help";
    }
    if (arg.starts_with("-")) continue;
    auto subcommands = at->get_subcommands([](CLI::App*) { return true; });
    if (subcommands.empty()) continue;  // a positional argument
    CLI::App* next = nullptr;
    for (CLI::App* c : subcommands) {
      if (c->check_name(arg)) next = c;
    }
    if (!next) {
      return "unknown command \"" + arg + "\"" + (at == &app ? "" : " for " + path) + didYouMean(arg, namesOf(subcommands)) + "; see " +
             path + " --help";
    }
    at = next;
    path += " " + next->get_name();
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace patchbay::cli;
  // `patchbay help [CMD...]` is `patchbay [CMD...] --help`.
  std::vector<std::string> args(argv, argv + argc);
  if (args.size() > 1 && args[1] == "help") {
    args.erase(args.begin() + 1);
    args.push_back("--help");
  }
  std::vector<char*> rewritten;
  for (auto& a : args) rewritten.push_back(a.data());
  argc = static_cast<int>(rewritten.size());
  argv = rewritten.data();
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
    if (auto mistake = mistakeIn(app, args)) {
      std::cerr << "patchbay: " << *mistake << "\n";
      return kExitUsage;
    }
    app.exit(e);
    return kExitUsage;
  }
  return outcome.exitCode;
}
