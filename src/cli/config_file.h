// Options from a TOML file (`--config FILE`) for commands that run long
// (servers), where a file is handier than a long command line.
#pragma once

#include <string>

#include "patchbay/result.h"

namespace CLI {
class App;
}

namespace patchbay::cli {

// Reads `key = value` lines (TOML; keys are the long option names without
// "--", at the top or in a [section] named after the command path, e.g.
// [registry.serve]) and sets each option of `command` that the command line
// did not give. Unknown keys are errors naming the file and the key.
Status applyConfigFile(CLI::App& command, const std::string& path);

}  // namespace patchbay::cli
