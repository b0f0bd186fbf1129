// libFuzzer: hook contexts read into a shape and values (runtime/hook_context.h).
// Must not crash; a context it takes must be valid JSON (nlohmann agrees),
// and the object its shape builds from its values must equal what the JSON
// says: the shape with each v[i] replaced by value i reads back as the input.
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/hook_context.h"

namespace {

using json = nlohmann::json;

// Numbers compare as the doubles JavaScript sees.
bool sameValue(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>() || (std::isnan(a.get<double>()) && std::isnan(b.get<double>()));
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !sameValue(*it, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!sameValue(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  patchbay::HookShape read;
  if (!patchbay::readHookShape(text, read)) return 0;
  const std::string& shape = read.source;
  const std::vector<patchbay::HookValue>& values = read.values;
  if (values.size() > patchbay::kMaxHookValues || shape.size() > patchbay::kMaxHookShapeBytes) __builtin_trap();
  json expected = json::parse(text, nullptr, false);
  if (expected.is_discarded() || !expected.is_object()) __builtin_trap();

  // The shape back to JSON, as the runtime writes a changed context.
  json actual = json::parse(patchbay::writeHookJson(read), nullptr, false);
  if (actual.is_discarded() || !sameValue(actual, expected)) __builtin_trap();

  // Changes as a handler's delta lists them: the first value replaced by a
  // string of the input's last bytes, and a key added. The written JSON
  // holds them, or they are refused and the context is as it was.
  patchbay::HookContext context;
  context.json = text;
  context.jsonBytes = text.size();
  context.shape = std::move(read);
  std::vector<patchbay::HookChange> changes(2);
  const std::string tail(text.substr(text.size() / 2));
  changes[0].index = context.shape.values.empty() ? 0 : static_cast<int>(size % context.shape.values.size());
  changes[0].kind = patchbay::HookValue::Kind::kString;
  changes[0].text = tail;
  changes[1].key = size % 2 ? "added" : "__proto__";
  changes[1].kind = patchbay::HookValue::Kind::kNumber;
  changes[1].number = static_cast<double>(size) / 3;
  const bool validUtf8 = json::parse(json(tail).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>() == tail;
  const bool mustRefuse = context.shape.values.empty() || changes[1].key == "__proto__";
  auto applied = patchbay::applyHookChanges(context, changes, 1u << 20);
  if (mustRefuse && applied.ok()) __builtin_trap();
  if (!applied.ok()) {  // untouched
    json same = json::parse(patchbay::writeHookJson(context.shape), nullptr, false);
    if (context.rewritten || same.is_discarded() || !sameValue(same, expected)) __builtin_trap();
    return 0;
  }
  if (!validUtf8) return 0;  // the runtime's strings come from V8: always UTF-8
  json changed = json::parse(patchbay::writeHookJson(context.shape), nullptr, false);
  if (changed.is_discarded() || !changed.contains("added") || changed["added"].get<double>() != static_cast<double>(size) / 3) __builtin_trap();
  return 0;
}
