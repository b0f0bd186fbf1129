// A plugin's server code written as server.ts: compiled by packFolder into
// the package's server.js with esbuild (the Debian package), relative
// imports bundled, with a source map. Internal to src/package.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

struct CompiledServer {
  std::string js;                    // server.js: an ES module
  std::string map;                   // server.js.map, the sources inside it
  std::vector<std::string> sources;  // the folder's files it was made from (relative): left out of the package
};

// Compiles `dir`/server.ts when `files` (the folder's package files,
// relative) hold it: nullopt when they do not. Refused: a server.js beside
// it, and imports of anything but the plugin's own files (the runtime has
// no module loader for packages); esbuild's own errors come with their
// file and line.
Result<std::optional<CompiledServer>> compileServerTs(const std::string& dir, const std::vector<std::string>& files);

}  // namespace patchbay
