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
//   true&&c(o)===5&&"deny" in o&&...&&o["user"]!==null&&typeof o["user"]==="object"
//   &&...&&o["user"]["id"]===v[0]&&o["user"]["balance"]===v[1]&&c(o["user"])===2
//   &&o["name"]===v[2]
// (c counts enumerable keys; the top level's count includes deny, _denied
// and _denyReason, which must still be there). Only a context that fails it
// is copied back. Contexts left to JSON.parse are always copied back.
//
// Most handlers that change a context change a few values or add a key
// (`ctx.count = 1`), and a JSON.stringify in the isolate, its copy and a new
// read in C++ cost such a handler more than its call. So each shape also has
// a *delta*, compiled with its check: a function that lists what changed as
// HookChanges when the context still has the shape's structure (the same
// objects and arrays, leaves still JSON's strings, finite numbers, booleans
// and null), its top-level keys in their order, plus maybe keys added after
// them with plain names (letters, digits, _ and $) and such values. The
// runtime applies the changes to the shape and its values (applyHookChanges),
// so the next handler's context is built as before, and writes the JSON only
// for the emitter (writeHookJson), as JSON.stringify writes it. Other
// changes (a key removed, an object added, a lone surrogate, keys in
// another order) go as JSON text, as above. Async handlers always answer
// with text. The same keys and values in another order are no change.
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

#include "patchbay/result.h"

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
  std::forward_list<std::string> ownText;  // strings not in the JSON: decoded escapes, changed values (a list: nothing allocated while empty)

  HookShape() = default;
  HookShape(HookShape&&) = default;
  HookShape& operator=(HookShape&&) = default;
  HookShape(const HookShape&) = delete;
  HookShape& operator=(const HookShape&) = delete;
};

struct HookContext {
  std::string_view json;  // the context as it was last written (alive for the emit)
  HookShape shape;        // empty when the handlers parse `json` instead
  int shapeId = -1;       // its number in the runtime's HookShapes; -1 when not numbered (yet)
  // What changes applied since `json` mean for its text (hookContextJson):
  std::string appended;   // members added after its last one (",\"k\":1"), while no value was replaced
  bool rewritten = false; // a value was replaced: the text is written from `shape`
  size_t jsonBytes = 0;   // the size of its JSON, at most (for the runtime's limit on contexts)

  bool shaped() const { return shapeId >= 0; }
};

// One change a handler made to a shaped context, found by the shape's delta.
struct HookChange {
  int index = -1;    // the value it replaces; -1: a key added at the top level
  std::string key;   // the added key: an identifier's characters, never "__proto__"
  HookValue::Kind kind = HookValue::Kind::kNull;
  double number = 0;
  std::string text;  // a string's UTF-8
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

// The delta of a shape's source: a JavaScript function of `o` and `v`
// using `c` (as the check), `l` (true for a JSON leaf: a string without lone
// surrogates, a finite number, a boolean, null) and `w` (true for a key it
// may add: letters, digits, _ and $, not "__proto__"). It returns an array [answer, i, value, ..., key, value,
// ...] (index: a changed value; string: an added key) or undefined when the
// change is not one it can list.
std::string hookShapeDelta(std::string_view source, size_t valueCount);

// A context with `changes` applied: values replaced, keys added to the
// shape (then it needs a number again: shapeId -1). Moves the changes'
// strings. Refused, the context untouched: kLimitExceeded when its JSON
// would be larger than `maxJsonBytes` (the message says so, in the words of
// hookContextTooBig), kInvalid when the changes do not fit the shape.
Status applyHookChanges(HookContext& context, std::vector<HookChange>& changes, size_t maxJsonBytes);

// Why a context a handler left goes no further: `bytes` of JSON, over the limit.
std::string hookContextTooBig(size_t bytes, size_t maxJsonBytes);

// The context's JSON now: `json` itself, with the members added after it,
// or written from the shape.
std::string hookContextJson(const HookContext& context);

// The JSON of a shape and its values, as JSON.stringify writes the object
// its builder makes (numbers as JavaScript writes them, keys in order).
std::string writeHookJson(const HookShape& shape);

// How JSON.stringify writes a number: as Number.prototype.toString does
// (radix 10), "null" for NaN and the infinities. writeJsNumber writes it
// to `out` (room for 40 characters) and says how many it wrote.
void appendJsNumber(std::string& out, double number);
size_t writeJsNumber(char* out, double number);

// The shapes a runtime has seen, numbered: each isolate keeps its builders
// by these numbers. Bounded: past kMaxShapes new shapes are parsed as JSON.
class HookShapes {
 public:
  static constexpr size_t kMaxShapes = 256;
  HookShapes();
  // The context of an emit: shaped when the reader takes it and there is room.
  HookContext read(std::string_view json);
  // Numbers a shape changed by applyHookChanges; false, the context
  // untouched, when there is no room for another shape (then it must go as JSON).
  bool number(HookContext& context);

 private:
  const uint64_t serial_;  // unique in the process
  std::mutex mu_;
  std::unordered_map<std::string, int> ids_;  // guarded by mu_
};

}  // namespace patchbay
