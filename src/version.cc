#include "patchbay/version.h"

namespace patchbay {

const char* versionString() { return PATCHBAY_VERSION; }

const Version& version() {
  static const Version v = Version::parse(PATCHBAY_VERSION).value();
  return v;
}

}  // namespace patchbay
