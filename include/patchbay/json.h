// patchbay/json.h — JSON from outside (a request, a package, a plugin, a
// file someone else wrote), parsed within bounds. Every parser of such text
// goes through here, so that a hostile document costs a clear answer, never
// a stack overflow (patchbay/text.h says why the depth is bounded).
//
//   json body = parseJsonOrDiscarded<json>(req.body);
//   if (!body.is_object()) return badRequest("the body must be {...}");
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "patchbay/text.h"

namespace patchbay {

// `text` parsed, or a discarded value (is_discarded()) when it is not JSON
// or nests deeper than `maxDepth`.
template <class Json = nlohmann::json>
Json parseJsonOrDiscarded(std::string_view text, size_t maxDepth = kMaxJsonDepth) {
  if (jsonNestsDeeperThan(text, maxDepth)) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, false);
}

}  // namespace patchbay
