// libFuzzer: what a plugin's route answers (its JSON envelope and body) on
// its way to HTTP (runtime/plugin_http.h). Whatever comes in, what goes out
// is a final status with header names that are tokens and values without
// control characters, and no body where the status forbids one.
#include <cstdint>
#include <string>
#include <string_view>

#include "patchbay/http.h"
#include "runtime/plugin_http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t cut = input.find('\n');
  const std::string envelope(input.substr(0, cut));
  const std::string body(cut == std::string_view::npos ? "" : input.substr(cut + 1));
  auto checked = patchbay::checkedResponse(envelope, body);
  if (!checked) return 0;
  if (checked->status < 200 || checked->status > 599) __builtin_trap();
  for (const auto& [name, value] : checked->headers) {
    if (!patchbay::http::isToken(name) || !patchbay::http::isFieldValue(value)) __builtin_trap();
  }
  if ((checked->status == 204 || checked->status == 304) && !checked->body.empty()) __builtin_trap();
  return 0;
}
