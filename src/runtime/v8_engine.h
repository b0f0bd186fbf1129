// The process-wide V8 platform, started once on first use.
#pragma once

namespace patchbay {

void ensureV8();

}  // namespace patchbay
