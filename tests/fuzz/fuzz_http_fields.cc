// libFuzzer: the request fields patchbay parses itself (Range,
// Accept-Encoding, percent-encoding). A parsed range must lie in the body.
#include <cstdint>
#include <string>
#include <string_view>

#include "patchbay/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (uint64_t bodySize : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, ~uint64_t{0} >> 1}) {
    auto r = patchbay::http::parseByteRange(text, bodySize);
    if (r && !(r->first == bodySize && r->second == bodySize)) {
      if (r->first > r->second || r->second >= bodySize) __builtin_trap();
    }
  }
  std::string decoded = patchbay::http::percentDecode(text, true);
  if (decoded.size() > text.size()) __builtin_trap();
  if (auto strict = patchbay::http::percentDecoded(text); strict && strict->size() > text.size()) __builtin_trap();
  if (auto query = patchbay::http::parseQueryString(text)) {
    for (const auto& [key, value] : *query) {
      if (key.size() + value.size() > text.size()) __builtin_trap();
    }
  }
  patchbay::http::Request request;
  request.headers.emplace_back("Accept-Encoding", std::string(text));
  (void)patchbay::http::acceptsEncoding(request, "gzip");
  return 0;
}
