// patchbay/clock.h — the time as patchbay writes it: ISO 8601, UTC.
#pragma once

#include <string>

namespace patchbay {

// "2026-11-22T10:36:00Z"
std::string utcNow();
// "2026-11-22T10:36:00.123Z"
std::string utcNowMillis();
// "2026-11-22"
std::string utcToday();

}  // namespace patchbay
