#include "cli/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace patchbay::cli {

namespace {
std::string inner(const nlohmann::ordered_json& fields) {
  std::string s = fields.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return s.size() >= 2 ? s.substr(1, s.size() - 2) : std::string();
}
}  // namespace

void setupLogging() {
  if (spdlog::get("patchbay")) return;  // set up already (`up` runs the panel's command inside its own)
  auto logger = spdlog::stderr_logger_mt("patchbay");
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void logInfo(const nlohmann::ordered_json& fields) { spdlog::info("{}", inner(fields)); }
void logWarn(const nlohmann::ordered_json& fields) { spdlog::warn("{}", inner(fields)); }
void logError(const nlohmann::ordered_json& fields) { spdlog::error("{}", inner(fields)); }

}  // namespace patchbay::cli
