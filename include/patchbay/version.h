// patchbay/version.h — the version of this build of patchbay.
#pragma once

#include "patchbay/semver.h"

namespace patchbay {

// "0.1.0": the version of libpatchbay and of the patchbay command. Plugins'
// host ranges ("patchbay": ">=0.1") are checked against it.
const char* versionString();
const Version& version();

}  // namespace patchbay
