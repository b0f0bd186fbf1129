// What the long-running commands (registry serve, serve) share.
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>
#include <utility>

#include "patchbay/http.h"
#include "patchbay/result.h"

namespace patchbay::cli {

// "127.0.0.1:8080", "[::1]:0", ":8080" (all addresses) -> address and port.
Result<std::pair<std::string, uint16_t>> splitListen(const std::string& listen);

// Blocks SIGTERM and SIGINT in this thread and every thread started after
// it, so that waitForStopSignal can take them: call it before any thread starts.
sigset_t blockStopSignals();
// Waits for SIGTERM or SIGINT; returns its name.
const char* waitForStopSignal(const sigset_t& signals);

// The access log: one structured line per request.
void logRequest(const http::AccessRecord& record);

}  // namespace patchbay::cli
