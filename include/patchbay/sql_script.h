// patchbay/sql_script.h — a migration script cut into its statements.
//
//   auto statements = splitSqlScript(text);   // Result<std::vector<SqlStatement>>
//   for (const auto& s : *statements) run(s.text);   // s.line: where it starts
//
// PostgreSQL's lexical rules, which are a superset of what SQLite scripts
// use: '…' strings ('' inside), E'…' strings (backslash escapes), "…"
// identifiers, $tag$…$tag$ bodies (functions, DO blocks), -- comments and
// nested /* */ comments. A semicolon ends a statement only outside all of
// them. An unterminated string, identifier, body or comment is an error
// naming the line it started on.
//
// The installer reads what each statement is from `keywords` (its first
// words, upper-cased: {"CREATE", "TABLE"}) and `identifiers` (every
// unquoted word and quoted identifier, lower-cased as PostgreSQL folds
// them), so it can refuse transaction control or a reach into its own
// tables before anything runs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

struct SqlStatement {
  std::string text;                      // without the closing semicolon; comments kept
  int line = 1;                          // 1-based line of its first word
  std::vector<std::string> keywords;     // the first three words, upper-cased
  std::vector<std::string> identifiers;  // every word and "quoted identifier", lower-cased (quoted ones as written)
  std::vector<size_t> questionMarks;     // offsets in `text` of each ? outside strings, names and comments
};

// Statements with nothing but whitespace and comments are left out.
Result<std::vector<SqlStatement>> splitSqlScript(std::string_view script);

}  // namespace patchbay
