// patchbay/json.h — JSON from outside (a request, a package, a plugin, a
// file someone else wrote), parsed within bounds. Every parser of such text
// goes through here, so that a hostile document costs a clear error, never
// a stack overflow (patchbay/text.h says why the depth is bounded).
//
//   auto body = parseJson(req.body, "the request body");
//   if (!body) return badRequest(body.error().message);
//   // "the request body: nests deeper than 256 levels"
//   // "the request body: not valid JSON: syntax error at byte 7 ..."
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "patchbay/result.h"
#include "patchbay/text.h"

namespace patchbay {

// `text` parsed, or an error that starts with `what`.
template <class Json = nlohmann::json>
Result<Json> parseJson(std::string_view text, const std::string& what, size_t maxDepth = kMaxJsonDepth) {
  if (jsonNestsDeeperThan(text, maxDepth)) {
    return Error::invalid(what + ": nests deeper than " + std::to_string(maxDepth) + " levels");
  }
  Json parsed = Json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    try {
      (void)Json::parse(text);  // again, for the parser's message (only on failure)
    } catch (const std::exception& e) {
      return Error::invalid(what + ": not valid JSON: " + e.what());
    }
    return Error::invalid(what + ": not valid JSON");
  }
  return parsed;
}

// `text` parsed, or a discarded value (is_discarded()) when it is not JSON
// or nests too deep: for callers that only check the shape they got.
template <class Json = nlohmann::json>
Json parseJsonOrDiscarded(std::string_view text, size_t maxDepth = kMaxJsonDepth) {
  if (jsonNestsDeeperThan(text, maxDepth)) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, false);
}

}  // namespace patchbay
