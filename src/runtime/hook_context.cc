#include "runtime/hook_context.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "patchbay/http.h"
#include "patchbay/text.h"

namespace patchbay {

namespace {

// One pass over JSON text, writing the shape and collecting the values.
class ShapeReader {
 public:
  ShapeReader(std::string_view text, HookShape& out) : text_(text), shape_(out.source), values_(out.values), ownText_(out.ownText) {}

  bool readTopLevel() {
    skipSpace();
    if (!peek('{') || !readValue(0)) return false;
    skipSpace();
    return at_ == text_.size() && shape_.size() <= kMaxHookShapeBytes;
  }

 private:
  bool readValue(size_t depth) {
    skipSpace();
    if (at_ >= text_.size() || shape_.size() > kMaxHookShapeBytes) return false;
    switch (text_[at_]) {
      case '{':
        return readObject(depth + 1);
      case '[':
        return readArray(depth + 1);
      case '"': {
        HookValue v{HookValue::Kind::kString, 0, {}};
        return readString(v.text) && addValue(std::move(v));
      }
      case 't':
        return readWord("true") && addValue({HookValue::Kind::kTrue, 0, {}});
      case 'f':
        return readWord("false") && addValue({HookValue::Kind::kFalse, 0, {}});
      case 'n':
        return readWord("null") && addValue({HookValue::Kind::kNull, 0, {}});
      default:
        return readNumber();
    }
  }

  bool readObject(size_t depth) {
    if (depth > kMaxHookDepth) return false;
    ++at_;  // {
    shape_ += '{';
    skipSpace();
    if (peek('}')) {
      ++at_;
      shape_ += '}';
      return true;
    }
    for (bool first = true;; first = false) {
      skipSpace();
      if (!first) shape_ += ',';
      if (!readKey()) return false;
      skipSpace();
      if (!peek(':')) return false;
      ++at_;
      shape_ += ':';
      if (!readValue(depth)) return false;
      skipSpace();
      if (peek('}')) {
        ++at_;
        shape_ += '}';
        return true;
      }
      if (!peek(',')) return false;
      ++at_;
    }
  }

  bool readArray(size_t depth) {
    if (depth > kMaxHookDepth) return false;
    ++at_;  // [
    shape_ += '[';
    skipSpace();
    if (peek(']')) {
      ++at_;
      shape_ += ']';
      return true;
    }
    for (bool first = true;; first = false) {
      if (!first) shape_ += ',';
      if (!readValue(depth)) return false;
      skipSpace();
      if (peek(']')) {
        ++at_;
        shape_ += ']';
        return true;
      }
      if (!peek(',')) return false;
      ++at_;
    }
  }

  // A key goes into the shape as a JS string literal; JSON's unescaped
  // strings are JS string literals as they are. Escaped keys are left to
  // JSON.parse (rare, and "__proto__" may hide behind an escape).
  bool readKey() {
    if (!peek('"')) return false;
    size_t start = at_ + 1;
    for (size_t i = start; i < text_.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(text_[i]);
      if (c == '\\' || c < 0x20) return false;
      if (c >= 0x80) {
        size_t n = utf8SequenceLength(text_, i);
        if (n == 0) return false;
        i += n - 1;
        continue;
      }
      if (c == '"') {
        std::string_view key = text_.substr(start, i - start);
        // In a literal, `"__proto__": x` would set the prototype; JSON.parse
        // makes an own property of that name, as a computed key does.
        if (key == "__proto__") {
          shape_ += "[\"__proto__\"]";
        } else {
          shape_ += '"';
          shape_ += key;
          shape_ += '"';
        }
        at_ = i + 1;
        return true;
      }
    }
    return false;
  }

  // A string value: a view of the JSON when it has no escapes (most), else
  // decoded into ownText_.
  bool readString(std::string_view& view) {
    const size_t start = ++at_;  // after the "
    while (at_ < text_.size()) {
      unsigned char c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        view = text_.substr(start, at_ - start);
        ++at_;
        return true;
      }
      if (c < 0x20 || c == '\\') break;
      if (c >= 0x80) {
        size_t n = utf8SequenceLength(text_, at_);
        if (n == 0) return false;
        at_ += n;
      } else {
        ++at_;
      }
    }
    if (at_ >= text_.size() || text_[at_] != '\\') return false;
    std::string& out = ownText_.emplace_front(text_.substr(start, at_ - start));
    if (!unescape(out)) return false;
    view = out;
    return true;
  }

  // The rest of a string that has escapes, from one, decoded onto `out`.
  bool unescape(std::string& out) {
    while (at_ < text_.size()) {
      unsigned char c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        size_t n = utf8SequenceLength(text_, at_);
        if (n == 0) return false;
        out.append(text_.substr(at_, n));
        at_ += n;
        continue;
      }
      if (c != '\\') {  // a run of plain ASCII, appended at once
        size_t end = at_ + 1;
        while (end < text_.size()) {
          unsigned char d = static_cast<unsigned char>(text_[end]);
          if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
          ++end;
        }
        out.append(text_.substr(at_, end - at_));
        at_ = end;
        continue;
      }
      if (++at_ >= text_.size()) return false;
      char e = text_[at_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t unit = 0;
          if (!readHex4(unit)) return false;
          if (unit >= 0xDC00 && unit <= 0xDFFF) return false;  // a lone low surrogate: not UTF-8
          if (unit >= 0xD800 && unit <= 0xDBFF) {
            uint32_t low = 0;
            if (at_ + 1 >= text_.size() || text_[at_] != '\\' || text_[at_ + 1] != 'u') return false;
            at_ += 2;
            if (!readHex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
          }
          appendUtf8(out, unit);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool readHex4(uint32_t& unit) {
    if (at_ + 4 > text_.size()) return false;
    for (int i = 0; i < 4; ++i) {
      char h = text_[at_++];
      unit <<= 4;
      if (h >= '0' && h <= '9') unit |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') unit |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') unit |= static_cast<uint32_t>(h - 'A' + 10);
      else return false;
    }
    return true;
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool readNumber() {
    const size_t start = at_;
    auto digits = [&] {
      size_t from = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
      return at_ - from;
    };
    if (peek('-')) ++at_;
    if (peek('0')) {
      ++at_;
    } else if (digits() == 0) {
      return false;
    }
    if (peek('.')) {
      ++at_;
      if (digits() == 0) return false;
    }
    if (peek('e') || peek('E')) {
      ++at_;
      if (peek('+') || peek('-')) ++at_;
      if (digits() == 0) return false;
    }
    HookValue v{HookValue::Kind::kNumber, 0, {}};
    auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + at_, v.number);
    // Out of range (1e400, 1e-400): JSON.parse's Infinity or 0 is left to it.
    if (ec != std::errc() || end != text_.data() + at_) return false;
    return addValue(std::move(v));
  }

  bool readWord(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }

  bool addValue(HookValue v) {
    if (values_.size() >= kMaxHookValues) return false;
    char index[24];
    auto end = std::to_chars(index, index + sizeof index, values_.size()).ptr;
    shape_ += "v[";
    shape_.append(index, end);
    shape_ += ']';
    values_.push_back(std::move(v));
    return true;
  }

  bool peek(char c) const { return at_ < text_.size() && text_[at_] == c; }
  void skipSpace() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) ++at_;
  }

  std::string_view text_;
  size_t at_ = 0;
  std::string& shape_;
  std::vector<HookValue>& values_;
  std::forward_list<std::string>& ownText_;
};

}  // namespace

bool readHookShape(std::string_view json, HookShape& out) {
  out.source.clear();
  out.values.clear();
  out.ownText.clear();
  out.source.reserve(json.size() + 32);
  out.values.reserve(8);
  ShapeReader reader(json, out);
  if (reader.readTopLevel()) return true;
  out.source.clear();
  out.values.clear();
  out.ownText.clear();
  return false;
}

namespace {

// Walks a shape's source (written by ShapeReader: keys are plain string
// literals or ["__proto__"], values v[N], objects and arrays), outside in,
// telling a writer about each part with its JavaScript path from `o`.
class ShapeWalk {
 public:
  virtual ~ShapeWalk() = default;

 protected:
  explicit ShapeWalk(std::string_view source) : source_(source) {}
  void walk() {
    path_ = "o";
    value(true);
  }
  const std::string& path() const { return path_; }
  std::string_view source() const { return source_; }

  virtual void objectBegin(bool top) = 0;
  virtual void objectEnd(bool top, size_t keys) = 0;
  virtual void arrayBegin() = 0;
  virtual void arrayEnd(size_t length) = 0;
  virtual void leaf(std::string_view v) = 0;  // "v[N]"
  virtual void topKey(std::string_view) {}     // a top-level key as the source has it: "key" or ["__proto__"]

 private:
  void value(bool top) {
    if (at_ >= source_.size()) return;
    const char c = source_[at_];
    if (c == '{') {
      object(top);
    } else if (c == '[') {
      array();
    } else {
      const size_t end = source_.find(']', at_);
      leaf(source_.substr(at_, end + 1 - at_));
      at_ = end + 1;
    }
  }

  void object(bool top) {
    ++at_;  // {
    objectBegin(top);
    const size_t pathLength = path_.size();
    size_t keys = 0;
    while (at_ < source_.size() && source_[at_] != '}') {
      if (source_[at_] == ',') ++at_;
      // "key" or ["__proto__"]: either way a member access reads the own
      // property (an own "__proto__" shadows the accessor).
      const bool computed = source_[at_] == '[';
      const size_t start = at_ + (computed ? 1 : 0);
      const size_t close = source_.find('"', start + 1);
      if (top) topKey(source_.substr(at_, close + 1 + (computed ? 1 : 0) - at_));
      path_ += '[';
      path_.append(source_.substr(start, close + 1 - start));
      path_ += ']';
      at_ = close + 1 + (computed ? 1 : 0) + 1;  // past the key and ':'
      ++keys;
      value(false);
      path_.resize(pathLength);
    }
    ++at_;  // }
    objectEnd(top, keys);
  }

  void array() {
    ++at_;  // [
    arrayBegin();
    const size_t pathLength = path_.size();
    size_t length = 0;
    while (at_ < source_.size() && source_[at_] != ']') {
      if (source_[at_] == ',') ++at_;
      path_ += '[' + std::to_string(length++) + ']';
      value(false);
      path_.resize(pathLength);
    }
    ++at_;  // ]
    arrayEnd(length);
  }

  std::string_view source_;
  size_t at_ = 0;
  std::string path_;  // the JS expression of the part being read, from o
};

// The runtime's own keys on the top-level object: deny, _denied, _denyReason.
constexpr size_t kAddedKeys = 3;

// The check (see hook_context.h): the conditions under which each part is
// unchanged, a container's type before its members (so no member access
// can throw), its size after them; the top level's size first.
class CheckWriter : public ShapeWalk {
 public:
  CheckWriter(std::string_view source, std::string& out) : ShapeWalk(source), out_(out) {}
  void write() {
    out_ = "true";
    walk();
  }

 private:
  void objectBegin(bool top) override {
    if (top) {
      topCountAt_ = out_.size();
    } else {
      out_ += "&&" + path() + "!==null&&typeof " + path() + "===\"object\"&&!Array.isArray(" + path() + ")";
    }
  }
  void objectEnd(bool top, size_t keys) override {
    if (!top) {
      out_ += "&&c(" + path() + ")===" + std::to_string(keys);
      return;
    }
    // A handler that added a key (the most common change) fails at once,
    // before the rest is read. The runtime's keys must still be there, or
    // a key added in place of one would go unseen.
    out_.insert(topCountAt_, "&&c(o)===" + std::to_string(keys + kAddedKeys) + "&&\"deny\" in o&&\"_denied\" in o&&\"_denyReason\" in o");
  }
  void arrayBegin() override { out_ += "&&Array.isArray(" + path() + ")"; }
  void arrayEnd(size_t length) override { out_ += "&&" + path() + ".length===" + std::to_string(length); }
  void leaf(std::string_view v) override {
    out_ += "&&" + path() + "===";
    out_.append(v);
  }

  std::string& out_;
  size_t topCountAt_ = 0;
};

// The delta (see hookShapeDelta): per container a check of its type and
// size before its members, per value a comparison that lists it when it
// changed, then the top level's keys past the built object's own
// (Object.keys), listed as added.
class DeltaWriter : public ShapeWalk {
 public:
  DeltaWriter(std::string_view source, size_t valueCount, std::string& out)
      : ShapeWalk(source), valueCount_(valueCount), out_(out) {}

  void write() {
    std::string body = "let x,d;";  // d: made at the first change
    std::swap(body, out_);
    walk();
    std::swap(body, out_);
    // Room left for added keys: values, and shape bytes (each key costs at
    // most its length + 9 in the source: ,"key":v[NN]).
    const size_t valuesLeft = kMaxHookValues > valueCount_ ? kMaxHookValues - valueCount_ : 0;
    const size_t bytesLeft = kMaxHookShapeBytes > source().size() ? kMaxHookShapeBytes - source().size() : 0;
    // Object.keys lists the built object's keys (q: those of a literal with
    // the same keys; not of a built one, whose fields would then have held
    // undefined, nor of a literal with Object's prototype, whose maps V8
    // would share with the builder's: either way V8 stops tracking the
    // fields' types, and every context read is slower) first, in their order,
    // then the keys a handler added. Anything else (a key deleted and added
    // again, an integer-like key, listed first) is not a change the delta
    // lists: JSON.stringify would write the keys in another order.
    const std::string known = std::to_string(topKeys_ + kAddedKeys);
    // As many keys as the shape's (and the runtime's still there): only
    // values changed, the keys' order does not matter (as for the check).
    out_ = "((q)=>(o,v)=>{" + body +
           "if(c(o)===" + known + ")return \"deny\" in o&&\"_denied\" in o&&\"_denyReason\" in o?d||u:undefined;"
           "const y=Object.keys(o),a=y.length-" + known + ";if(a<0||a>" + std::to_string(valuesLeft) + ")return;"
           "for(let i=0;i<" + known + ";++i)if(y[i]!==q[i])return;"
           "for(let i=" + known + ",b=0;i<y.length;++i){const z=y[i];x=o[z];"
           "if(!l(x)||!w(z)||(b+=z.length+9)>" + std::to_string(bytesLeft) + ")return;(d||(d=[\"\"])).push(z,x);}"
           "return d||u;})(Object.keys({__proto__:null," + keys_ + "_denied:0,_denyReason:0,deny:0}))";
  }

 private:
  // A container's check goes before its members, once they are counted.
  void objectBegin(bool) override { checkAt_.push_back(out_.size()); }
  void objectEnd(bool top, size_t keys) override {
    const size_t at = checkAt_.back();
    checkAt_.pop_back();
    if (top) {
      topKeys_ = keys;  // checked by the pass over Object.keys
      return;
    }
    out_.insert(at, "x=" + path() + ";if(x===null||typeof x!==\"object\"||Array.isArray(x)||c(x)!==" + std::to_string(keys) + ")return;");
  }
  void arrayBegin() override { checkAt_.push_back(out_.size()); }
  void arrayEnd(size_t length) override {
    const size_t at = checkAt_.back();
    checkAt_.pop_back();
    out_.insert(at, "x=" + path() + ";if(!Array.isArray(x)||x.length!==" + std::to_string(length) + ")return;");
  }
  void topKey(std::string_view key) override {
    keys_.append(key);
    keys_ += ":0,";
  }
  void leaf(std::string_view v) override {
    out_ += "x=" + path() + ";if(x!==";
    out_.append(v);
    out_ += "){if(!l(x))return;(d||(d=[\"\"])).push(";
    out_.append(v.substr(2, v.size() - 3));  // N
    out_ += ",x);}";
  }

  size_t valueCount_;
  std::string& out_;
  std::vector<size_t> checkAt_;
  size_t topKeys_ = 0;
  std::string keys_;  // the top level's keys as an object literal's: "user":0,["__proto__"]:0,
};

void appendValueJson(std::string& out, HookValue::Kind kind, double number, std::string_view text) {
  switch (kind) {
    case HookValue::Kind::kNumber: appendJsNumber(out, number); break;
    case HookValue::Kind::kString: http::appendJsonQuoted(out, text); break;
    case HookValue::Kind::kTrue: out += "true"; break;
    case HookValue::Kind::kFalse: out += "false"; break;
    case HookValue::Kind::kNull: out += "null"; break;
  }
}

size_t valueJsonBytes(HookValue::Kind kind, double number, std::string_view text) {
  switch (kind) {
    case HookValue::Kind::kNumber: {
      char buffer[40];
      return writeJsNumber(buffer, number);
    }
    case HookValue::Kind::kString: return http::jsonQuotedSize(text);
    case HookValue::Kind::kTrue: return 4;
    case HookValue::Kind::kFalse: return 5;
    case HookValue::Kind::kNull: return 4;
  }
  return 4;
}

// A key a delta may add: an identifier's characters, never "__proto__".
bool plainKey(std::string_view key) {
  if (key.empty() || key == "__proto__" || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$')) return false;
  }
  return true;
}

std::atomic<uint64_t> nextShapesSerial{1};

}  // namespace

std::string hookShapeCheck(std::string_view source) {
  std::string check;
  CheckWriter(source, check).write();
  return check;
}

std::string hookShapeDelta(std::string_view source, size_t valueCount) {
  std::string delta;
  DeltaWriter(source, valueCount, delta).write();
  return delta;
}

std::string hookContextTooBig(size_t bytes, size_t maxJsonBytes) {
  return "the context it left is " + std::to_string(bytes) + " bytes of JSON, more than the " + std::to_string(maxJsonBytes) +
         " a hook context may hold; the next handler gets it as it came";
}

Status applyHookChanges(HookContext& context, std::vector<HookChange>& changes, size_t maxJsonBytes) {
  HookShape& shape = context.shape;
  if (shape.source.empty() || shape.source.back() != '}') return Error::invalid("the context has no shape to change");
  // First what the changes make, without touching the context.
  size_t bytes = context.jsonBytes, added = 0, addedSource = 0;
  for (const HookChange& c : changes) {
    if (c.index >= 0) {
      if (static_cast<size_t>(c.index) >= shape.values.size()) return Error::invalid("a change names a value the context does not have");
      const HookValue& old = shape.values[static_cast<size_t>(c.index)];
      bytes = bytes + valueJsonBytes(c.kind, c.number, c.text);
      const size_t oldBytes = valueJsonBytes(old.kind, old.number, old.text);
      bytes = bytes > oldBytes ? bytes - oldBytes : 0;
    } else {
      if (!plainKey(c.key)) return Error::invalid("a change adds a key the shape cannot hold");
      ++added;
      addedSource += c.key.size() + 9;
      bytes += c.key.size() + 4 + valueJsonBytes(c.kind, c.number, c.text);
    }
  }
  if (shape.values.size() + added > kMaxHookValues || shape.source.size() + addedSource > kMaxHookShapeBytes) {
    return Error::invalid("the changes do not fit a context's shape");
  }
  if (bytes > maxJsonBytes) return Error::limit(hookContextTooBig(bytes, maxJsonBytes));
  // Then apply them.
  auto valueOf = [&](HookChange& c) {
    HookValue v{c.kind, c.number, {}};
    if (c.kind == HookValue::Kind::kString) v.text = shape.ownText.emplace_front(std::move(c.text));
    return v;
  };
  // Values replaced: the JSON is written from the shape from now on. Keys
  // only added (the most common change): written after the JSON's last
  // member as well, while its values still hold.
  bool replaced = false;
  std::string keys;  // the added members, in the order the handler added them
  for (HookChange& c : changes) {
    if (c.index >= 0) {
      shape.values[static_cast<size_t>(c.index)] = valueOf(c);
      replaced = true;
      continue;
    }
    const bool first = shape.source.size() == 2 && keys.empty();  // into {}
    if (!first) keys += ',';
    keys += '"';
    keys += c.key;
    keys += "\":v[";
    keys += std::to_string(shape.values.size());
    keys += ']';
    if (!replaced && !context.rewritten) {
      if (!first) context.appended += ',';
      context.appended += '"';
      context.appended += c.key;
      context.appended += "\":";
      appendValueJson(context.appended, c.kind, c.number, c.text);
    }
    shape.values.push_back(valueOf(c));
  }
  if (!keys.empty()) {
    shape.source.insert(shape.source.size() - 1, keys);
    context.shapeId = -1;
  }
  if (replaced) context.rewritten = true;
  context.jsonBytes = bytes;
  return {};
}

std::string hookContextJson(const HookContext& context) {
  if (context.rewritten) return writeHookJson(context.shape);
  const size_t close = context.json.rfind('}');
  if (context.appended.empty() || close == std::string_view::npos) return std::string(context.json);
  std::string out;
  out.reserve(close + context.appended.size() + 1);
  out.append(context.json.substr(0, close));
  out += context.appended;
  out += '}';
  return out;
}

std::string writeHookJson(const HookShape& shape) {
  constexpr std::string_view kComputedProto = "[\"__proto__\"]";
  const std::string_view s = shape.source;
  std::string out;
  out.reserve(s.size() + 16 * shape.values.size());
  size_t run = 0;  // start of the punctuation ({}[],:) copied as it is
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c != '"' && c != 'v' && c != '[') {
      ++i;
      continue;
    }
    out.append(s.substr(run, i - run));
    if (c == '"') {  // a key, without escapes: through its closing quote
      const size_t close = s.find('"', i + 1);
      if (close == std::string_view::npos) return out;
      out.append(s.substr(i, close + 1 - i));
      i = close + 1;
    } else if (c == 'v') {  // v[N]
      size_t index = 0;
      auto [end, ec] = std::from_chars(s.data() + i + 2, s.data() + s.size(), index);
      if (ec == std::errc() && index < shape.values.size()) {
        const HookValue& v = shape.values[index];
        appendValueJson(out, v.kind, v.number, v.text);
      }
      i = static_cast<size_t>(end - s.data()) + 1;  // past ]
    } else if (s.substr(i, kComputedProto.size()) == kComputedProto) {
      out += "\"__proto__\"";
      i += kComputedProto.size();
    } else {  // an array's [
      out += '[';
      ++i;
    }
    run = i;
  }
  if (run < s.size()) out.append(s.substr(run));
  return out;
}

// Number::toString(10) of ECMAScript: the shortest digits that read back as
// the number (as std::to_chars finds them), placed by the exponent.
void appendJsNumber(std::string& out, double number) {
  char buffer[40];
  out.append(buffer, writeJsNumber(buffer, number));
}

size_t writeJsNumber(char* out, double number) {
  char* const start = out;
  auto put = [&](std::string_view text) {
    std::memcpy(out, text.data(), text.size());
    out += text.size();
  };
  if (!std::isfinite(number)) {
    put("null");  // as JSON.stringify writes NaN and the infinities
    return static_cast<size_t>(out - start);
  }
  // Integers (most numbers in contexts) as they are; 0 and -0 as "0".
  if (number == std::trunc(number) && std::fabs(number) < 1e15) {
    out = std::to_chars(out, out + 24, static_cast<int64_t>(number)).ptr;
    return static_cast<size_t>(out - start);
  }
  if (number < 0) {
    *out++ = '-';
    number = -number;
  }
  char sci[32];
  auto [end, ec] = std::to_chars(sci, sci + sizeof sci, number, std::chars_format::scientific);
  if (ec != std::errc()) {
    put("null");
    return static_cast<size_t>(out - start);
  }
  // d[.ddd]e±XX: the k digits, and n, where the number is 0.digits × 10^n.
  const std::string_view text(sci, static_cast<size_t>(end - sci));
  const size_t e = text.find('e');
  char digits[24];
  size_t k = 0;
  digits[k++] = text[0];
  for (size_t i = 2; i < e; ++i) digits[k++] = text[i];
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(), exponent);
  const int n = exponent + 1;
  const int kk = static_cast<int>(k);
  const std::string_view d(digits, k);
  if (kk <= n && n <= 21) {
    put(d);
    for (int i = kk; i < n; ++i) *out++ = '0';
  } else if (0 < n && n <= 21) {
    put(d.substr(0, static_cast<size_t>(n)));
    *out++ = '.';
    put(d.substr(static_cast<size_t>(n)));
  } else if (-6 < n && n <= 0) {
    put("0.");
    for (int i = n; i < 0; ++i) *out++ = '0';
    put(d);
  } else {
    *out++ = digits[0];
    if (k > 1) {
      *out++ = '.';
      put(d.substr(1));
    }
    *out++ = 'e';
    *out++ = n - 1 >= 0 ? '+' : '-';
    out = std::to_chars(out, out + 8, std::abs(n - 1)).ptr;
  }
  return static_cast<size_t>(out - start);
}

HookShapes::HookShapes() : serial_(nextShapesSerial++) {}

HookContext HookShapes::read(std::string_view json) {
  HookContext context;
  context.json = json;
  context.jsonBytes = json.size();
  if (readHookShape(json, context.shape) && !number(context)) context.shape = HookShape();  // no room: parsed as JSON
  return context;
}

bool HookShapes::number(HookContext& context) {
  // Emits of one event mostly repeat a shape or two (as it came, and with
  // the keys its handlers add): this thread's last two answer without the
  // lock and the hash.
  struct Remembered {
    uint64_t owner = 0;  // a serial, not an address: a later runtime may reuse this one's
    std::string source;
    int id = -1;
  };
  thread_local Remembered last[2];
  for (const Remembered& r : last) {
    if (r.owner == serial_ && r.source == context.shape.source) {
      context.shapeId = r.id;
      return true;
    }
  }
  std::lock_guard lock(mu_);
  auto it = ids_.find(context.shape.source);
  if (it == ids_.end()) {
    if (ids_.size() >= kMaxShapes) return false;
    it = ids_.emplace(context.shape.source, static_cast<int>(ids_.size())).first;
  }
  context.shapeId = it->second;
  last[1] = std::move(last[0]);
  last[0] = {serial_, context.shape.source, context.shapeId};
  return true;
}

}  // namespace patchbay
