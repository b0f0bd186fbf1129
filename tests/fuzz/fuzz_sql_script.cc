// libFuzzer: migration scripts cut into statements (sql_script.h). Must not
// crash; every statement is non-empty text taken from the script, on a line
// the script has, and statements come in order.
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "patchbay/sql_script.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view script(reinterpret_cast<const char*>(data), size);
  auto statements = patchbay::splitSqlScript(script);
  if (!statements) return 0;
  const int lines = 1 + static_cast<int>(std::count(script.begin(), script.end(), '\n'));
  int previous = 1;
  for (const auto& s : *statements) {
    if (s.text.empty() || script.find(s.text) == std::string_view::npos) __builtin_trap();
    if (s.line < previous || s.line > lines || s.keywords.size() > 3) __builtin_trap();
    previous = s.line;
  }
  return 0;
}
