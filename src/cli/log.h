// Structured logs: one JSON object a line on stderr,
//   {"ts":"2026-11-22T10:36:00.123Z","level":"info","msg":"listening","address":"127.0.0.1:8080"}
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace patchbay::cli {

void setupLogging();
// `fields` must be a JSON object; "msg" first by convention.
void logInfo(const nlohmann::ordered_json& fields);
void logWarn(const nlohmann::ordered_json& fields);
void logError(const nlohmann::ordered_json& fields);

}  // namespace patchbay::cli
