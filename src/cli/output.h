// How commands talk to people and to scripts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "patchbay/result.h"

namespace patchbay::cli {

// "patchbay: error: <message>" on stderr; returns kExitFailure.
int fail(const std::string& message);
int fail(const Error& error);
// JSON on stdout, pretty-printed, for --json.
void printJson(const nlohmann::ordered_json& value);
// {"ok": false, "error": {"kind", "message"}} on stdout; returns kExitFailure.
int failJson(const Error& error);
// "1.2 KiB" style sizes for people.
std::string humanSize(uint64_t bytes);

}  // namespace patchbay::cli
