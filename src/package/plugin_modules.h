// A plugin's code written in TypeScript or JSX, compiled with esbuild (the
// Debian package) into the modules a package carries, each with its source
// map; the sources stay out of the package. Used by packFolder and by the
// dev loop (patchbay dev). Internal to src/package.
//   server.ts                         -> server.js: an ES module for the
//       plugin's isolate; relative imports bundled, nothing else (the
//       runtime has no module loader for packages).
//   client.ts, client.tsx, client.jsx -> client.js: an ES module for the
//       browser (the panel's frames), minified, with the npm packages it
//       imports bundled in from the folder's node_modules (without one,
//       bare imports stay as they are); JSX as the folder's tsconfig.json
//       says (React's createElement by default). The client's sources stay
//       in the package: a registry builds seed 003's bundle from them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

struct CompiledModule {
  std::string output;                // "server.js" or "client.js"
  std::string js;                    // the module
  std::string map;                   // <output>.map, the sources inside it
  std::vector<std::string> sources;  // the folder's files it was made from (relative) to leave out of the package: server.ts's
};

// Every module `files` (the folder's package files, relative) has a source
// for. Refused: a source beside the module it would make (server.ts and
// server.js), two client sources, a server import of a package; esbuild's
// own errors come with their file and line.
Result<std::vector<CompiledModule>> compilePluginModules(const std::string& dir, const std::vector<std::string>& files);

}  // namespace patchbay
