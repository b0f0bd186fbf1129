#include "patchbay/sql_script.h"

#include <cctype>

namespace patchbay {

namespace {

bool isWordStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool isWordChar(unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class Splitter {
 public:
  explicit Splitter(std::string_view s) : s_(s) {}

  Result<std::vector<SqlStatement>> run() {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == ';') {
        finish();
        ++i_;
      } else if (c == '\n') {
        ++line_;
        ++i_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++i_;
      } else if (c == '-' && peek(1) == '-') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else if (c == '/' && peek(1) == '*') {
        if (auto s = blockComment(); !s) return s.error();
      } else if (c == '\'') {
        mark();
        keywordsClosed_ = true;
        if (auto s = quoted('\'', false); !s) return s.error();
      } else if (c == '"') {
        mark();
        keywordsClosed_ = true;
        const size_t from = i_ + 1;
        if (auto s = quoted('"', false); !s) return s.error();
        current_.identifiers.push_back(std::string(s_.substr(from, i_ - 1 - from)));
      } else if (c == '$' && dollarTagLength() > 0) {
        mark();
        keywordsClosed_ = true;
        if (auto s = dollarBody(); !s) return s.error();
      } else if (isWordStart(static_cast<unsigned char>(c))) {
        mark();
        const size_t from = i_;
        while (i_ < s_.size() && isWordChar(static_cast<unsigned char>(s_[i_]))) ++i_;
        std::string_view word = s_.substr(from, i_ - from);
        if ((word == "E" || word == "e") && i_ < s_.size() && s_[i_] == '\'') {
          keywordsClosed_ = true;
          if (auto s = quoted('\'', true); !s) return s.error();
          continue;
        }
        if (!keywordsClosed_ && current_.keywords.size() < 3) current_.keywords.push_back(upper(word));
        current_.identifiers.push_back(lower(word));
      } else {
        mark();
        if (c == '?') current_.questionMarks.push_back(i_ - textStart_);
        ++i_;
        // A punctuation mark ends the leading words ("CREATE TABLE x (" has three).
        keywordsClosed_ = true;
      }
    }
    finish();
    return std::move(out_);
  }

 private:
  char peek(size_t ahead) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }

  // The statement has begun at the current character.
  void mark() {
    if (!begun_) {
      begun_ = true;
      current_.line = line_;
      textStart_ = i_;
    }
  }

  void finish() {
    if (begun_) {
      std::string_view text = s_.substr(textStart_, i_ - textStart_);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
      current_.text = std::string(text);
      out_.push_back(std::move(current_));
    }
    current_ = SqlStatement{};
    begun_ = false;
    keywordsClosed_ = false;
  }

  Status unterminated(const char* what, int line) const {
    return Error::invalid("line " + std::to_string(line) + ": " + what + " is never closed");
  }

  Status blockComment() {
    const int startLine = line_;
    int depth = 0;
    while (i_ < s_.size()) {
      if (s_[i_] == '/' && peek(1) == '*') {
        ++depth;
        i_ += 2;
      } else if (s_[i_] == '*' && peek(1) == '/') {
        i_ += 2;
        if (--depth == 0) return {};
      } else {
        if (s_[i_] == '\n') ++line_;
        ++i_;
      }
    }
    return unterminated("a /* comment", startLine);
  }

  // At the opening quote; leaves i_ after the closing one. A doubled quote
  // stands for itself; with backslashes (E'…'), \x escapes the next byte.
  Status quoted(char quote, bool backslashes) {
    const int startLine = line_;
    ++i_;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '\n') ++line_;
      if (backslashes && c == '\\' && i_ + 1 < s_.size()) {
        if (s_[i_ + 1] == '\n') ++line_;
        i_ += 2;
        continue;
      }
      if (c == quote) {
        if (peek(1) == quote) {
          i_ += 2;
          continue;
        }
        ++i_;
        return {};
      }
      ++i_;
    }
    return unterminated(quote == '"' ? "a quoted identifier" : "a string", startLine);
  }

  // The length of a $tag$ opening at i_ ("$$", "$body$"), or 0 ($1 is a parameter).
  size_t dollarTagLength() const {
    size_t j = i_ + 1;
    if (j < s_.size() && s_[j] == '$') return 2;
    if (j >= s_.size() || !isWordStart(static_cast<unsigned char>(s_[j]))) return 0;
    while (j < s_.size() && s_[j] != '$') {
      const unsigned char c = static_cast<unsigned char>(s_[j]);
      if (!(std::isalnum(c) || c == '_' || c >= 0x80)) return 0;
      ++j;
    }
    return j < s_.size() ? j - i_ + 1 : 0;
  }

  Status dollarBody() {
    const int startLine = line_;
    const std::string_view tag = s_.substr(i_, dollarTagLength());
    i_ += tag.size();
    const size_t end = s_.find(tag, i_);
    if (end == std::string_view::npos) return unterminated("a dollar-quoted body", startLine);
    for (size_t k = i_; k < end; ++k) line_ += s_[k] == '\n';
    i_ = end + tag.size();
    return {};
  }

  std::string_view s_;
  size_t i_ = 0, textStart_ = 0;
  int line_ = 1;
  bool begun_ = false, keywordsClosed_ = false;
  SqlStatement current_;
  std::vector<SqlStatement> out_;
};

}  // namespace

Result<std::vector<SqlStatement>> splitSqlScript(std::string_view script) { return Splitter(script).run(); }

}  // namespace patchbay
