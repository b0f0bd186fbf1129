#include "runtime/plugin_db.h"

#include <sqlite3.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "patchbay/clock.h"
#include "patchbay/integrity.h"

namespace patchbay {

namespace {

using json = nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS _documents (
  collection TEXT NOT NULL,
  id         TEXT NOT NULL,
  data       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (collection, id)
);
)sql";


// The key of an id: strings as they are, numbers in their JSON form.
Result<std::string> idKey(const json& id) {
  if (id.is_string()) return id.get<std::string>();
  if (id.is_number_integer() || id.is_number_unsigned()) return id.dump();
  return Error::invalid("an id must be a string or a whole number, not " + id.dump());
}

// Compares JSON values for $gt & co: numbers with numbers, strings with strings.
std::optional<int> compareValues(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.get<std::string>().compare(b.get<std::string>()) < 0 ? -1 : a == b ? 0 : 1;
  return std::nullopt;
}

bool isOperatorObject(const json& v) {
  if (!v.is_object() || v.empty()) return false;
  for (const auto& [k, _] : v.items()) {
    if (k.empty() || k[0] != '$') return false;
  }
  return true;
}

// Whether `record` matches `query` (AND of fields; a field's value is an
// equality or an object of operators). Errors name an unknown operator.
Result<bool> matches(const json& record, const json& query) {
  for (const auto& [field, condition] : query.items()) {
    const json* value = record.contains(field) ? &record[field] : nullptr;
    if (!isOperatorObject(condition)) {
      if (!value || *value != condition) return false;
      continue;
    }
    for (const auto& [op, operand] : condition.items()) {
      bool ok = false;
      if (op == "$ne") {
        ok = !value || *value != operand;
      } else if (op == "$in") {
        if (!operand.is_array()) return Error::invalid("query field \"" + field + "\": $in takes an array");
        ok = value && std::find(operand.begin(), operand.end(), *value) != operand.end();
      } else if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
        auto c = value ? compareValues(*value, operand) : std::nullopt;
        ok = c && ((op == "$gt" && *c > 0) || (op == "$gte" && *c >= 0) || (op == "$lt" && *c < 0) || (op == "$lte" && *c <= 0));
      } else {
        return Error::invalid("query field \"" + field + "\": unknown operator " + op + " (use $gt $gte $lt $lte $ne $in)");
      }
      if (!ok) return false;
    }
  }
  return true;
}

// db.sql's guard: the plugin's own tables, rows in and out; never another
// file (ATTACH), pragmas, schema changes (migrations do those), SQLite's
// own tables or functions that reach outside.
int authorizeSql(void*, int action, const char* a, const char*, const char*, const char*) {
  // SQLite's own tables and the installer's bookkeeping (_patchbay_*) are not the plugin's to write.
  auto isSqliteTable = [](const char* name) {
    return name != nullptr && (std::string_view(name).starts_with("sqlite_") || std::string_view(name).starts_with("_patchbay_"));
  };
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_READ:
      return SQLITE_OK;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
      return isSqliteTable(a) ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_FUNCTION: {
      std::string_view name = a ? a : "";
      for (std::string_view banned : {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}) {
        if (name == banned) return SQLITE_DENY;
      }
      return SQLITE_OK;
    }
    default:
      return SQLITE_DENY;  // ATTACH, DETACH, PRAGMA, CREATE, DROP, ALTER, ANALYZE, REINDEX, ...
  }
}

}  // namespace

Result<PluginDb> PluginDb::open(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return db.error();
  if (auto s = db->exec(kSchema); !s) return s.error();
  return PluginDb(std::move(*db));
}

Result<std::string> PluginDb::call(const std::string& op, const std::string& collection, const std::string& arg1,
                                   const std::string& arg2) {
  json a = json::parse(arg1, nullptr, false), b = json::parse(arg2, nullptr, false);
  if (a.is_discarded() || b.is_discarded()) return Error::invalid("db." + op + ": arguments must be JSON values");
  if (op == "registerCollections") {
    if (!a.is_array()) return Error::invalid("db.registerCollections takes an array of names");
    for (const auto& name : a) {
      if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 100) {
        return Error::invalid("db.registerCollections: collection names are non-empty strings, got " + name.dump());
      }
      collections_.insert(name.get<std::string>());
    }
    return std::string("true");
  }
  if (op == "sql") return runSql(a, b);
  if (!collections_.count(collection)) {
    return Error::invalid("db." + op + ": collection \"" + collection + "\" is not registered (call db.registerCollections first)");
  }

  auto loadAll = [&](const json& query) -> Result<std::vector<json>> {
    if (!query.is_object()) return Error::invalid("db." + op + ": the query must be an object");
    auto st = db_.prepare("SELECT data FROM _documents WHERE collection = ? ORDER BY created_at, rowid");
    if (!st) return st.error();
    st->bind(1, collection);
    std::vector<json> out;
    while (st->step()) {
      json record = json::parse(st->getText(0), nullptr, false);
      auto ok = matches(record, query);
      if (!ok) return ok.error();
      if (*ok) out.push_back(std::move(record));
    }
    if (!st->status()) return st->status().error();
    return out;
  };

  if ((op == "find" || op == "findOne" || op == "count") && a.is_object() && a.empty()) {
    // No filter: the stored texts are the records' JSON already; no parse
    // and re-serialization per record.
    const char* sql = op == "count"     ? "SELECT COUNT(*) FROM _documents WHERE collection = ?"
                      : op == "findOne" ? "SELECT data FROM _documents WHERE collection = ? ORDER BY created_at, rowid LIMIT 1"
                                        : "SELECT data FROM _documents WHERE collection = ? ORDER BY created_at, rowid";
    auto st = db_.prepare(sql);
    if (!st) return st.error();
    st->bind(1, collection);
    std::string out = op == "find" ? "[" : "";
    bool first = true;
    while (st->step()) {
      if (!first) out += ',';
      first = false;
      out += st->getText(0);
    }
    if (!st->status()) return st->status().error();
    if (op == "find") out += ']';
    if (op == "findOne" && first) out = "null";
    return out;
  }
  if (op == "find" || op == "findOne" || op == "count") {
    auto found = loadAll(a);
    if (!found) return found.error();
    if (op == "count") return std::to_string(found->size());
    if (op == "findOne") return found->empty() ? std::string("null") : found->front().dump();
    return json(*found).dump();
  }
  if (op == "insert") {
    if (!a.is_object()) return Error::invalid("db.insert: the record must be an object");
    if (!a.contains("id") || a["id"].is_null()) a["id"] = randomUuid();
    auto key = idKey(a["id"]);
    if (!key) return Error::invalid("db.insert: " + key.error().message);
    const std::string now = utcNowMillis();
    a["created_at"] = now;
    a["updated_at"] = now;
    auto st = db_.prepare("INSERT INTO _documents (collection, id, data, created_at, updated_at) VALUES (?,?,?,?,?)");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, *key).bind(3, a.dump()).bind(4, now).bind(5, now);
    if (auto s = st->run(); !s) {
      if (s.error().message.find("UNIQUE") != std::string::npos) {
        return Error::conflict("db.insert: \"" + collection + "\" already has a record with id " + a["id"].dump());
      }
      return s.error();
    }
    return a.dump();
  }
  if (op == "update") {
    auto key = idKey(a);
    if (!key) return Error::invalid("db.update: " + key.error().message);
    if (!b.is_object()) return Error::invalid("db.update: the changes must be an object");
    auto st = db_.prepare("SELECT data FROM _documents WHERE collection = ? AND id = ?");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, *key);
    if (!st->step()) return std::string("null");
    json record = json::parse(st->getText(0), nullptr, false);
    for (const auto& [k, v] : b.items()) {
      if (k == "id" || k == "created_at" || k == "updated_at") continue;  // kept by the store
      record[k] = v;
    }
    record["updated_at"] = utcNowMillis();
    auto up = db_.prepare("UPDATE _documents SET data = ?, updated_at = ? WHERE collection = ? AND id = ?");
    if (!up) return up.error();
    up->bind(1, record.dump()).bind(2, record["updated_at"].get<std::string>()).bind(3, collection).bind(4, *key);
    if (auto s = up->run(); !s) return s.error();
    return record.dump();
  }
  if (op == "delete") {
    auto key = idKey(a);
    if (!key) return Error::invalid("db.delete: " + key.error().message);
    auto st = db_.prepare("DELETE FROM _documents WHERE collection = ? AND id = ?");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, *key);
    if (auto s = st->run(); !s) return s.error();
    return std::string(db_.changes() > 0 ? "true" : "false");
  }
  return Error::unsupported("db." + op + " is not available");
}

Result<std::string> PluginDb::runSql(const nlohmann::json& query, const nlohmann::json& params) {
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
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    json row = json::object();
    for (int c = 0; c < columns; ++c) {
      const char* name = sqlite3_column_name(st.get(), c);
      switch (sqlite3_column_type(st.get(), c)) {
        case SQLITE_INTEGER: row[name] = sqlite3_column_int64(st.get(), c); break;
        case SQLITE_FLOAT: row[name] = sqlite3_column_double(st.get(), c); break;
        case SQLITE_NULL: row[name] = nullptr; break;
        default: row[name] = std::string(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), c)),
                                         static_cast<size_t>(sqlite3_column_bytes(st.get(), c)));
      }
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    std::string why = sqlite3_errmsg(db);
    if (why.find("not authorized") != std::string::npos) return Error::denied("db.sql: not allowed: " + why + " (only the plugin's own tables, rows in and out)");
    return Error::invalid("db.sql: " + why);
  }
  if (columns > 0) return rows.dump(-1, ' ', false, json::error_handler_t::replace);
  return json{{"changes", sqlite3_changes(db)}, {"lastInsertRowid", sqlite3_last_insert_rowid(db)}}.dump();
}

}  // namespace patchbay
