#include "runtime/hook_context.h"

#include <atomic>
#include <charconv>

#include "patchbay/text.h"

namespace patchbay {

namespace {

// One pass over JSON text, writing the shape and collecting the values.
class ShapeReader {
 public:
  ShapeReader(std::string_view text, HookShape& out) : text_(text), shape_(out.source), values_(out.values), unescaped_(out.unescaped) {}

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
  // decoded into unescaped_.
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
    std::string& out = unescaped_.emplace_front(text_.substr(start, at_ - start));
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
  std::forward_list<std::string>& unescaped_;
};

}  // namespace

bool readHookShape(std::string_view json, HookShape& out) {
  out.source.clear();
  out.values.clear();
  out.unescaped.clear();
  out.source.reserve(json.size() + 32);
  out.values.reserve(8);
  ShapeReader reader(json, out);
  if (reader.readTopLevel()) return true;
  out.source.clear();
  out.values.clear();
  out.unescaped.clear();
  return false;
}

namespace {

// Walks a shape's source (written by ShapeReader: keys are plain string
// literals or ["__proto__"], values v[N], objects and arrays) and writes
// the conditions under which each part is unchanged, outside in: a
// container's type before its members (so no member access can throw),
// its size after them.
class CheckWriter {
 public:
  CheckWriter(std::string_view source, std::string& out) : source_(source), out_(out) {}

  void write() {
    out_ = "true";
    path_ = "o";
    value(true);
  }

 private:
  // The runtime's own keys on the top-level object: deny, _denied, _denyReason.
  static constexpr size_t kAddedKeys = 3;

  void value(bool top) {
    if (at_ >= source_.size()) return;
    const char c = source_[at_];
    if (c == '{') {
      object(top);
    } else if (c == '[') {
      array();
    } else {  // v[N]
      const size_t end = source_.find(']', at_);
      out_ += "&&" + path_ + "===";
      out_.append(source_.substr(at_, end + 1 - at_));
      at_ = end + 1;
    }
  }

  void object(bool top) {
    ++at_;  // {
    if (!top) out_ += "&&" + path_ + "!==null&&typeof " + path_ + "===\"object\"&&!Array.isArray(" + path_ + ")";
    const size_t pathLength = path_.size();
    size_t keys = 0;
    while (at_ < source_.size() && source_[at_] != '}') {
      if (source_[at_] == ',') ++at_;
      // "key" or ["__proto__"]: either way a member access reads the own
      // property (an own "__proto__" shadows the accessor).
      const bool computed = source_[at_] == '[';
      const size_t start = at_ + (computed ? 1 : 0);
      const size_t close = source_.find('"', start + 1);
      path_ += '[';
      path_.append(source_.substr(start, close + 1 - start));
      path_ += ']';
      at_ = close + 1 + (computed ? 1 : 0) + 1;  // past the key and ':'
      ++keys;
      value(false);
      path_.resize(pathLength);
    }
    ++at_;  // }
    out_ += "&&c(" + path_ + ")===" + std::to_string(keys + (top ? kAddedKeys : 0));
  }

  void array() {
    ++at_;  // [
    out_ += "&&Array.isArray(" + path_ + ")";
    const size_t pathLength = path_.size();
    size_t length = 0;
    while (at_ < source_.size() && source_[at_] != ']') {
      if (source_[at_] == ',') ++at_;
      path_ += '[' + std::to_string(length++) + ']';
      value(false);
      path_.resize(pathLength);
    }
    ++at_;  // ]
    out_ += "&&" + path_ + ".length===" + std::to_string(length);
  }

  std::string_view source_;
  size_t at_ = 0;
  std::string& out_;
  std::string path_;  // the JS expression of the part being read, from o
};

std::atomic<uint64_t> nextShapesSerial{1};

}  // namespace

std::string hookShapeCheck(std::string_view source) {
  std::string check;
  CheckWriter(source, check).write();
  return check;
}

HookShapes::HookShapes() : serial_(nextShapesSerial++) {}

HookContext HookShapes::read(std::string_view json) {
  HookContext context;
  context.json = json;
  if (!readHookShape(json, context.shape)) return context;
  // Emits of one event mostly repeat one shape: this thread's last one
  // answers without the lock and the hash.
  thread_local uint64_t lastOwner = 0;  // a serial, not an address: a later runtime may reuse this one's
  thread_local std::string lastSource;
  thread_local int lastId = -1;
  if (lastOwner == serial_ && lastSource == context.shape.source) {
    context.shapeId = lastId;
    return context;
  }
  std::lock_guard lock(mu_);
  auto it = ids_.find(context.shape.source);
  if (it == ids_.end()) {
    if (ids_.size() >= kMaxShapes) {
      context.shape = HookShape();
      return context;
    }
    it = ids_.emplace(context.shape.source, static_cast<int>(ids_.size())).first;
  }
  context.shapeId = it->second;
  lastOwner = serial_;
  lastSource = context.shape.source;
  lastId = context.shapeId;
  return context;
}

}  // namespace patchbay
