// What the long-running commands (registry serve, serve) share.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "patchbay/http.h"
#include "patchbay/registry.h"
#include "patchbay/result.h"

namespace patchbay::cli {

// "127.0.0.1:8080", "[::1]:0", ":8080" (all addresses) -> address and port.
Result<std::pair<std::string, uint16_t>> splitListen(const std::string& listen);

// Blocks SIGTERM and SIGINT in this thread and every thread started after
// it, so that waitForStopSignal can take them: call it before any thread starts.
sigset_t blockStopSignals();
// The allocator's policy for a long-running server: memory freed after a
// burst (a broadcast to every live connection, a large answer) is kept for
// the next one (up to 64 MiB) instead of being handed back to the system
// and faulted in again each time.
void keepFreedMemoryForReuse();
// Waits for SIGTERM or SIGINT; returns its name. From then on the stop has
// a deadline: a second signal, or `deadline` passing while the stop is still
// going (a plugin or a query that does not let go), ends the process at
// once with a log line (exit code 1).
const char* waitForStopSignal(const sigset_t& signals, std::chrono::seconds deadline = std::chrono::seconds(5));

// The access log: one structured line per request.
void logRequest(const http::AccessRecord& record);

// Logs a drop-in folder import's progress ("importing the drop-in folder",
// imported, of, folder), for RegistryOptions::onFolderProgress.
std::function<void(const FolderProgress&)> logFolderProgress(const std::string& folder);

// Options to listen on `listen` (from splitListen) with `threads`, the
// access log on.
http::ServerOptions serverOptionsFor(const std::pair<std::string, uint16_t>& listen, int threads);

// Starts `server`; then writes the port it listens on to `portFile` (when
// not empty) and logs "listening" with its address and `fields`.
Status startListening(http::Server& server, const std::string& host, const std::string& portFile,
                      const nlohmann::ordered_json& fields);

}  // namespace patchbay::cli
