// Seed 002's package-source switch as the commands take it: `--source
// local|remote`, `--modules DIR`, `--registry URL` (which implies remote),
// each applied over `base` only when given.
#pragma once

#include <string>

#include "patchbay/install.h"

namespace patchbay::cli {

inline Result<SourceConfig> applySourceFlags(SourceConfig base, const std::string& source, const std::string& modulesDir,
                                             const std::string& registry) {
  if (!source.empty() && source != "local" && source != "remote") return Error::invalid("--source " + source + ": must be local or remote");
  if (!modulesDir.empty()) base.localDir = modulesDir;
  if (!registry.empty()) {
    base.serverUrl = registry;
    base.kind = SourceConfig::Kind::kRemote;
  }
  if (source == "local") base.kind = SourceConfig::Kind::kLocal;
  if (source == "remote") base.kind = SourceConfig::Kind::kRemote;
  return base;
}

}  // namespace patchbay::cli
