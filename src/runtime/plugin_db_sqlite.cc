// sodium.db in one SQLite file per plugin (the embedded default).
#include <sqlite3.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <set>
#include <nlohmann/json.hpp>

#include "patchbay/store.h"
#include "patchbay/text.h"
#include "runtime/plugin_db.h"

namespace patchbay {

namespace {

using json = nlohmann::json;

constexpr const char* kSqliteDocumentTables = R"sql(
CREATE TABLE IF NOT EXISTS _documents (
  collection TEXT NOT NULL,
  id         TEXT NOT NULL,
  data       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS _settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

// The functions db.sql may call: SQLite's own scalar, aggregate, window,
// date, math and JSON functions, and full-text ranking. A list of what is
// allowed, not of what is not: a function SQLite adds later (or one an
// extension brings) is refused until someone looks at it. fts3_tokenizer,
// for one, hands out and takes raw pointers (a plugin could make the host
// call an address of its choosing); load_extension loads code.
bool allowedFunction(std::string_view name) {
  static const std::set<std::string, std::less<>> kAllowed = {
      // core
      "abs", "changes", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex", "ifnull", "iif", "instr",
      "last_insert_rowid", "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nullif", "octet_length",
      "printf", "quote", "random", "randomblob", "replace", "round", "rtrim", "sign", "soundex", "substr", "substring",
      "total_changes", "trim", "typeof", "unhex", "unicode", "unlikely", "upper", "zeroblob",
      // date and time
      "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff", "current_date", "current_time", "current_timestamp",
      // aggregates and windows
      "avg", "count", "group_concat", "string_agg", "sum", "total", "row_number", "rank", "dense_rank", "percent_rank",
      "cume_dist", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
      // math
      "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh", "degrees", "exp", "floor",
      "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians", "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
      // JSON
      "json", "jsonb", "json_array", "jsonb_array", "json_array_length", "json_error_position", "json_extract", "jsonb_extract",
      "->", "->>", "json_insert", "jsonb_insert", "json_object", "jsonb_object", "json_patch", "jsonb_patch", "json_pretty",
      "json_remove", "jsonb_remove", "json_replace", "jsonb_replace", "json_set", "jsonb_set", "json_type", "json_valid",
      "json_quote", "json_group_array", "jsonb_group_array", "json_group_object", "jsonb_group_object",
      // full-text search over the plugin's own FTS tables
      "match", "bm25", "highlight", "snippet", "matchinfo", "offsets",
  };
  return kAllowed.count(asciiLower(name)) > 0;
}

// Tables that are not the plugin's rows: SQLite's own (the schema, whose
// text is the installer's business), pragma tables, the installer's.
bool reservedTable(const char* name) {
  if (name == nullptr) return false;
  const std::string lower = asciiLower(name);
  return lower.starts_with("sqlite_") || lower.starts_with("pragma_") || lower.starts_with("_patchbay_");
}

// db.sql's guard: the plugin's own tables, rows in and out; never another
// file (ATTACH), pragmas, schema changes (migrations do those), SQLite's or
// the installer's tables, or a function that is not on the list above.
// SQLite passes (action, a, b): for SQLITE_READ/INSERT/... a is the table;
// for SQLITE_FUNCTION a is NULL and b the function's name.
int authorizeSql(void*, int action, const char* a, const char* b, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_READ:
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
      return reservedTable(a) ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_FUNCTION:
      return b != nullptr && allowedFunction(b) ? SQLITE_OK : SQLITE_DENY;
    default:
      return SQLITE_DENY;  // ATTACH, DETACH, PRAGMA, CREATE, DROP, ALTER, ANALYZE, REINDEX, ...
  }
}

// Called every 1000 steps of a statement: non-zero stops it (SQLITE_INTERRUPT).
int stopWhenInterrupted(void* flag) { return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0; }

class SqlitePluginDb final : public PluginDb {
 public:
  explicit SqlitePluginDb(Database db) : db_(std::move(db)) {}

  Result<std::optional<std::string>> setting(const std::string& key) override {
    auto st = db_.prepare("SELECT value FROM _settings WHERE key = ?");
    if (!st) return st.error();
    st->bind(1, key);
    if (st->step()) return std::optional<std::string>(st->getText(0));
    if (!st->status()) return st->status().error();
    return std::optional<std::string>();
  }
  Status storeSetting(const std::string& key, const std::optional<std::string>& valueJson) override {
    auto st = valueJson ? db_.prepare("INSERT INTO _settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                        : db_.prepare("DELETE FROM _settings WHERE key = ?");
    if (!st) return st.error();
    st->bind(1, key);
    if (valueJson) st->bind(2, *valueJson);
    return st->run();
  }
  Result<std::vector<std::pair<std::string, std::string>>> settings() override {
    auto st = db_.prepare("SELECT key, value FROM _settings ORDER BY key");
    if (!st) return st.error();
    std::vector<std::pair<std::string, std::string>> out;
    while (st->step()) out.emplace_back(st->getText(0), st->getText(1));
    if (!st->status()) return st->status().error();
    return out;
  }
  Status transaction(const std::function<Status()>& body) override { return db_.transaction(body); }

 protected:
  Result<std::vector<std::string>> documents(const std::string& collection, bool firstOnly) override {
    auto st = db_.prepare(firstOnly ? "SELECT data FROM _documents WHERE collection = ? ORDER BY created_at, rowid LIMIT 1"
                                    : "SELECT data FROM _documents WHERE collection = ? ORDER BY created_at, rowid");
    if (!st) return st.error();
    st->bind(1, collection);
    std::vector<std::string> out;
    uint64_t bytes = 0;
    while (st->step()) {
      out.push_back(st->getText(0));
      if ((bytes += out.back().size()) > kMaxDbScanBytes) return collectionTooLarge(collection);
    }
    if (!st->status()) return st->status().error();
    return out;
  }
  Result<int64_t> countDocuments(const std::string& collection) override {
    auto st = db_.prepare("SELECT COUNT(*) FROM _documents WHERE collection = ?");
    if (!st) return st.error();
    st->bind(1, collection);
    if (!st->step()) return st->status() ? Result<int64_t>(int64_t{0}) : Result<int64_t>(st->status().error());
    return st->getInt(0);
  }
  Result<std::optional<std::string>> document(const std::string& collection, const std::string& id) override {
    auto st = db_.prepare("SELECT data FROM _documents WHERE collection = ? AND id = ?");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, id);
    if (st->step()) return std::optional<std::string>(st->getText(0));
    if (!st->status()) return st->status().error();
    return std::optional<std::string>();
  }
  Status insertDocument(const std::string& collection, const std::string& id, const std::string& data, const std::string& now) override {
    auto st = db_.prepare("INSERT INTO _documents (collection, id, data, created_at, updated_at) VALUES (?,?,?,?,?)");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, id).bind(3, data).bind(4, now).bind(5, now);
    if (auto s = st->run(); !s) {
      if (s.error().message.find("UNIQUE") != std::string::npos) return Error::conflict(s.error().message);
      return s;
    }
    return {};
  }
  Status replaceDocument(const std::string& collection, const std::string& id, const std::string& data, const std::string& now) override {
    auto st = db_.prepare("UPDATE _documents SET data = ?, updated_at = ? WHERE collection = ? AND id = ?");
    if (!st) return st.error();
    st->bind(1, data).bind(2, now).bind(3, collection).bind(4, id);
    return st->run();
  }
  Result<bool> deleteDocument(const std::string& collection, const std::string& id) override {
    auto st = db_.prepare("DELETE FROM _documents WHERE collection = ? AND id = ?");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, id);
    if (auto s = st->run(); !s) return s.error();
    return db_.changes() > 0;
  }
  Result<std::string> runSql(const nlohmann::json& query, const nlohmann::json& params) override;

 private:
  Database db_;
};

}  // namespace

Result<std::string> SqlitePluginDb::runSql(const nlohmann::json& query, const nlohmann::json& params) {
  if (!query.is_string()) return Error::invalid("db.sql: the query must be a string");
  if (!params.is_array()) return Error::invalid("db.sql: the parameters must be an array");
  const std::string text = query.get<std::string>();
  std::string first;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c))) first += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    else if (!first.empty()) break;
  }
  if (first == "VACUUM") return Error::denied("db.sql: VACUUM is not allowed (it can write another file)");
  sqlite3* db = db_.handle();
  // The guard stays on until the statement is gone: SQLite may prepare it
  // again while stepping (after a schema change), and checks it again then.
  sqlite3_set_authorizer(db, authorizeSql, nullptr);
  struct AuthorizerOff {
    sqlite3* db;
    ~AuthorizerOff() { sqlite3_set_authorizer(db, nullptr, nullptr); }
  } authorizerOff{db};
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()), &raw, &tail);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
  if (rc != SQLITE_OK) {
    std::string why = sqlite3_errmsg(db);
    if (rc == SQLITE_AUTH || why.find("not authorized") != std::string::npos) return Error::denied("db.sql: not allowed: " + why + " (only the plugin's own tables, rows in and out)");
    return Error::invalid("db.sql: " + why);
  }
  if (!st) return std::string("null");  // only a comment
  for (const char* p = tail; p && *p; ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p)) && *p != ';') return Error::invalid("db.sql: one statement at a time");
  }
  const int expected = sqlite3_bind_parameter_count(st.get());
  if (static_cast<int>(params.size()) != expected) {
    return Error::invalid("db.sql: the query has " + std::to_string(expected) + " parameters, " + std::to_string(params.size()) + " given");
  }
  for (int i = 0; i < expected; ++i) {
    const json& v = params[static_cast<size_t>(i)];
    if (v.is_null()) sqlite3_bind_null(st.get(), i + 1);
    else if (v.is_boolean()) sqlite3_bind_int(st.get(), i + 1, v.get<bool>() ? 1 : 0);
    else if (v.is_number_integer()) sqlite3_bind_int64(st.get(), i + 1, v.get<int64_t>());
    else if (v.is_number()) sqlite3_bind_double(st.get(), i + 1, v.get<double>());
    else if (v.is_string()) sqlite3_bind_text(st.get(), i + 1, v.get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
    else return Error::invalid("db.sql: parameter " + std::to_string(i + 1) + " must be a string, number, boolean or null");
  }
  json rows = json::array();
  const int columns = sqlite3_column_count(st.get());
  uint64_t bytes = 0;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    json row = json::object();
    for (int c = 0; c < columns; ++c) {
      const char* name = sqlite3_column_name(st.get(), c);
      bytes += static_cast<uint64_t>(sqlite3_column_bytes(st.get(), c)) + std::strlen(name) + 8;
      switch (sqlite3_column_type(st.get(), c)) {
        case SQLITE_INTEGER: row[name] = sqlite3_column_int64(st.get(), c); break;
        case SQLITE_FLOAT: row[name] = sqlite3_column_double(st.get(), c); break;
        case SQLITE_NULL: row[name] = nullptr; break;
        default: row[name] = std::string(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), c)),
                                         static_cast<size_t>(sqlite3_column_bytes(st.get(), c)));
      }
    }
    rows.push_back(std::move(row));
    if (bytes > kMaxDbResultBytes) return resultTooLarge("db.sql");
  }
  if (rc == SQLITE_INTERRUPT) return Error::limit("db.sql: interrupted: the task ran past its CPU deadline");
  if (rc != SQLITE_DONE) {
    std::string why = sqlite3_errmsg(db);
    if (why.find("not authorized") != std::string::npos) return Error::denied("db.sql: not allowed: " + why + " (only the plugin's own tables, rows in and out)");
    return Error::invalid("db.sql: " + why);
  }
  if (columns > 0) return rows.dump(-1, ' ', false, json::error_handler_t::replace);
  return json{{"changes", sqlite3_changes(db)}, {"lastInsertRowid", sqlite3_last_insert_rowid(db)}}.dump();
}

Result<std::unique_ptr<PluginDb>> openSqlitePluginDb(const std::string& file, const PluginDbLimits& limits) {
  auto db = Database::open(file);
  if (!db) return db.error();
  if (auto s = db->exec(kSqliteDocumentTables); !s) return s.error();
  sqlite3* handle = db->handle();
  // One string or blob at most (a row of hex(zeroblob(1e8)) is 200 MB), SQL
  // text of a sane length; no schema tricks (defensive: no writable schema;
  // untrusted schema: no functions run from views or triggers a file holds).
  sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, static_cast<int>(kMaxDbValueBytes));
  sqlite3_limit(handle, SQLITE_LIMIT_SQL_LENGTH, 1 << 20);
  sqlite3_db_config(handle, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(handle, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(handle, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  if (limits.interrupt) sqlite3_progress_handler(handle, 1000, stopWhenInterrupted, const_cast<std::atomic<bool>*>(limits.interrupt));
  return std::unique_ptr<PluginDb>(std::make_unique<SqlitePluginDb>(std::move(*db)));
}

}  // namespace patchbay
