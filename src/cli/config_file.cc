#include "cli/config_file.h"

#include <CLI/CLI.hpp>
#include <sstream>

#include "patchbay/files.h"

namespace patchbay::cli {

Status applyConfigFile(CLI::App& command, const std::string& path) {
  auto text = readFileLimited(path, 1 << 20);
  if (!text) return text.error();
  std::istringstream in(*text);
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const CLI::Error& e) {
    return Error::invalid(path + ": " + e.what());
  }
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    CLI::Option* option = command.get_option_no_throw("--" + item.name);
    if (option == nullptr || item.name == "config") {
      return Error::invalid(path + ": unknown option \"" + item.name + "\" (see " + command.get_name() + " --help)");
    }
    if (option->count() > 0) continue;  // the command line wins
    try {
      option->clear();
      option->add_result(item.inputs);
      option->run_callback();
    } catch (const CLI::Error& e) {
      return Error::invalid(path + ": " + item.name + ": " + e.what());
    }
  }
  return {};
}

}  // namespace patchbay::cli
