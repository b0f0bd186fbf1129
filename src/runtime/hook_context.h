// A hook's context, read once per emit for all its handlers.
//
// Each handler runs in its own isolate and gets its own copy of the context.
// JSON.parse of even a small context costs more there than the rest of a
// handler's call (its keys are looked up in the isolate's string table and
// its objects built one property at a time). So the runtime reads the JSON
// once, in C++, into a *shape* and its *values*:
//   {"user":{"id":1,"balance":5},"name":"mc"}
//   shape:  {"user":{"id":v[0],"balance":v[1]},"name":v[2]}
//   values: 1, 5, "mc"
// The shape is the source of a JavaScript object literal: each isolate
// compiles it once into a builder `(v) => ({...})`, then makes each context
// with one call, as fast as the literal in a plugin's own code.
// Contexts the reader does not take (escaped keys, lone surrogates, too big,
// not an object, not valid JSON) stay JSON text and are parsed in the isolate
// as before, so the plugin sees exactly what JSON.parse gives.
//
// One context travels the whole chain: what a handler changes goes on to the
// next handler and back to the emitter. Most handlers only read it, and
// copying it back (JSON.stringify) would cost them more than their call. So
// each shape also has a *check*, compiled with its builder: an expression
// true while an object still holds exactly the values it was built with:
//   true&&o["user"]!==null&&typeof o["user"]==="object"&&...
//   &&o["user"]["id"]===v[0]&&o["user"]["balance"]===v[1]&&c(o["user"])===2
//   &&o["name"]===v[2]&&c(o)===5
// (c counts enumerable keys; the top level's count includes deny, _denied
// and _denyReason). Only a context that fails it is copied back. Contexts left
// to JSON.parse are always copied back.
// Internal to the runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <forward_list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace patchbay {

struct HookValue {
  enum class Kind { kNumber, kString, kTrue, kFalse, kNull };
  Kind kind = Kind::kNull;
  double number = 0;
  std::string_view text;  // a string's UTF-8: in the JSON itself, or in HookShape::unescaped
};

// What the reader makes of a context. Moves keep the values' text valid;
// copies would not, so there are none.
struct HookShape {
  std::string source;  // the body of an object literal reading v[0], v[1], ...
  std::vector<HookValue> values;
  std::forward_list<std::string> unescaped;  // strings that had escapes, decoded (a list: nothing allocated while empty)

  HookShape() = default;
  HookShape(HookShape&&) = default;
  HookShape& operator=(HookShape&&) = default;
  HookShape(const HookShape&) = delete;
  HookShape& operator=(const HookShape&) = delete;
};

struct HookContext {
  std::string_view json;  // the context as emitted (the emitter's text, alive for the emit)
  HookShape shape;        // empty when the handlers parse `json` instead
  int shapeId = -1;       // its number in the runtime's HookShapes

  bool shaped() const { return shapeId >= 0; }
};

// Limits of the reader: bigger contexts are parsed in the isolate.
constexpr size_t kMaxHookValues = 64;
constexpr size_t kMaxHookShapeBytes = 4096;
constexpr size_t kMaxHookDepth = 16;

// The shape and values of `json` (whose text the values may point into),
// or false when it is not an object the reader takes (then only JSON.parse
// decides what it is).
bool readHookShape(std::string_view json, HookShape& out);

// The check of a shape's source (see above): an expression over `o` (the
// object the source built), `v` (its values) and `c` (counts an object's
// enumerable keys). Made when an isolate compiles the shape, not per emit.
std::string hookShapeCheck(std::string_view source);

// The shapes a runtime has seen, numbered: each isolate keeps its builders
// by these numbers. Bounded: past kMaxShapes new shapes are parsed as JSON.
class HookShapes {
 public:
  static constexpr size_t kMaxShapes = 256;
  HookShapes();
  // The context of an emit: shaped when the reader takes it and there is room.
  HookContext read(std::string_view json);

 private:
  const uint64_t serial_;  // unique in the process
  std::mutex mu_;
  std::unordered_map<std::string, int> ids_;  // guarded by mu_
};

}  // namespace patchbay
