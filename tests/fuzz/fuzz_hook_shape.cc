// libFuzzer: hook contexts read into a shape and values (runtime/hook_context.h).
// Must not crash; a context it takes must be valid JSON (nlohmann agrees),
// and the object its shape builds from its values must equal what the JSON
// says: the shape with each v[i] replaced by value i reads back as the input.
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "runtime/hook_context.h"

namespace {

using json = nlohmann::json;
constexpr std::string_view kComputedProto = "[\"__proto__\"]:";

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

  // The shape back to JSON: v[i] -> value i, ["__proto__"] -> "__proto__".
  std::string rebuilt;
  for (size_t i = 0; i < shape.size();) {
    if (shape[i] == '"') {  // a key, unescaped: copied through its closing quote
      size_t close = shape.find('"', i + 1);
      if (close == std::string::npos) __builtin_trap();
      rebuilt.append(shape, i, close + 1 - i);
      i = close + 1;
    } else if (shape.compare(i, 2, "v[") == 0) {
      size_t close = shape.find(']', i);
      size_t index = std::stoul(shape.substr(i + 2, close - i - 2));
      if (index >= values.size()) __builtin_trap();
      const auto& v = values[index];
      switch (v.kind) {
        case patchbay::HookValue::Kind::kNumber: rebuilt += json(v.number).dump(); break;
        case patchbay::HookValue::Kind::kString: rebuilt += json(std::string(v.text)).dump(); break;
        case patchbay::HookValue::Kind::kTrue: rebuilt += "true"; break;
        case patchbay::HookValue::Kind::kFalse: rebuilt += "false"; break;
        case patchbay::HookValue::Kind::kNull: rebuilt += "null"; break;
      }
      i = close + 1;
    } else if (std::string_view(shape).substr(i).starts_with(kComputedProto)) {
      rebuilt += "\"__proto__\":";
      i += kComputedProto.size();
    } else {
      rebuilt += shape[i++];
    }
  }
  json actual = json::parse(rebuilt, nullptr, false);
  if (actual.is_discarded() || !sameValue(actual, expected)) __builtin_trap();
  return 0;
}
