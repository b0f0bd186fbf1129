#include "install/journal.h"

#include <filesystem>

#include "patchbay/files.h"

namespace patchbay::install {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {
constexpr uint64_t kMaxStateBytes = 16u << 20;
}  // namespace

Status removeTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return Error::io(path + ": cannot remove: " + ec.message());
  return {};
}

Result<json> readJsonFile(const std::string& path, json fallback) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return fallback;
  auto text = readFileLimited(path, kMaxStateBytes);
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return Error::invalid(path + ": not a JSON object");
  return j;
}

}  // namespace patchbay::install
