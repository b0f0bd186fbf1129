// sodium.db in PostgreSQL: the plugin's own schema, reached as its own role
// (patchbay/postgres.h), so its SQL cannot see another plugin's data or the
// host's. db.sql takes SQLite-style ? placeholders (as Sodium plugins write
// them) and PostgreSQL's $1.
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "patchbay/postgres.h"
#include "patchbay/sql_script.h"
#include "runtime/plugin_db.h"

namespace patchbay {

namespace {

using json = nlohmann::json;

constexpr const char* kPostgresDocumentTables = R"sql(
CREATE TABLE IF NOT EXISTS _documents (
  seq        BIGSERIAL,
  collection TEXT NOT NULL,
  id         TEXT NOT NULL,
  data       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS _settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

// PostgreSQL type oids whose text form is a JSON number, boolean or value.
constexpr unsigned kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700, kFloat8 = 701, kNumeric = 1700, kJson = 114, kJsonb = 3802;

json cellValue(const std::optional<std::string>& text, unsigned type) {
  if (!text) return nullptr;
  switch (type) {
    case kBool: return *text == "t";
    case kInt2:
    case kInt4:
    case kInt8: return std::stoll(*text);
    case kFloat4:
    case kFloat8:
    case kNumeric: {
      json n = parseJsonOrDiscarded<json>(*text);  // NaN and Infinity are not JSON: kept as text
      return n.is_number() ? n : json(*text);
    }
    case kJson:
    case kJsonb: {
      json j = parseJsonOrDiscarded<json>(*text);
      return j.is_discarded() ? json(*text) : j;
    }
    default: return *text;
  }
}

class PostgresPluginDb final : public PluginDb {
 public:
  explicit PostgresPluginDb(PgConnection pg) : pg_(std::move(pg)) {}

  Result<std::optional<std::string>> setting(const std::string& key) override {
    auto rows = pg_.query("SELECT value FROM _settings WHERE key = $1", {key});
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<std::string>();
    return (*rows)[0][0];
  }
  Status storeSetting(const std::string& key, const std::optional<std::string>& valueJson) override {
    auto done = valueJson ? pg_.query("INSERT INTO _settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                      {key, *valueJson})
                          : pg_.query("DELETE FROM _settings WHERE key = $1", {key});
    return done ? Status{} : Status{done.error()};
  }
  Result<std::vector<std::pair<std::string, std::string>>> settings() override {
    auto rows = pg_.query("SELECT key, value FROM _settings ORDER BY key", {});
    if (!rows) return rows.error();
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& row : *rows) out.emplace_back(row[0].value_or(""), row[1].value_or("null"));
    return out;
  }
  Status transaction(const std::function<Status()>& body) override {
    if (auto s = pg_.exec("BEGIN"); !s) return s;
    Status s = body();
    if (!s) {
      (void)pg_.exec("ROLLBACK");
      return s;
    }
    return pg_.exec("COMMIT");
  }

 protected:
  Result<std::vector<std::string>> documents(const std::string& collection, bool firstOnly) override {
    auto rows = pg_.runBounded(firstOnly ? "SELECT data FROM _documents WHERE collection = $1 ORDER BY created_at, seq LIMIT 1"
                                         : "SELECT data FROM _documents WHERE collection = $1 ORDER BY created_at, seq",
                               {collection}, kMaxDbScanBytes);
    if (!rows) return rows.error().kind == ErrorKind::kLimitExceeded ? collectionTooLarge(collection) : rows.error();
    std::vector<std::string> out;
    out.reserve(rows->rows.size());
    for (auto& row : rows->rows) out.push_back(std::move(*row[0]));
    return out;
  }
  Result<int64_t> countDocuments(const std::string& collection) override {
    auto rows = pg_.query("SELECT COUNT(*) FROM _documents WHERE collection = $1", {collection});
    if (!rows) return rows.error();
    return std::stoll(rows->at(0)[0].value_or("0"));
  }
  Result<std::optional<std::string>> document(const std::string& collection, const std::string& id) override {
    auto rows = pg_.query("SELECT data FROM _documents WHERE collection = $1 AND id = $2", {collection, id});
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<std::string>();
    return (*rows)[0][0];
  }
  Status insertDocument(const std::string& collection, const std::string& id, const std::string& data, const std::string& now) override {
    auto done = pg_.query("INSERT INTO _documents (collection, id, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
                          {collection, id, data, now});
    return done ? Status{} : Status{done.error()};
  }
  Status replaceDocument(const std::string& collection, const std::string& id, const std::string& data, const std::string& now) override {
    auto done = pg_.query("UPDATE _documents SET data = $1, updated_at = $2 WHERE collection = $3 AND id = $4", {data, now, collection, id});
    return done ? Status{} : Status{done.error()};
  }
  Result<bool> deleteDocument(const std::string& collection, const std::string& id) override {
    auto done = pg_.run("DELETE FROM _documents WHERE collection = $1 AND id = $2", {collection, id});
    if (!done) return done.error();
    return done->affected > 0;
  }

  Result<std::string> runSql(const json& query, const json& params) override {
    if (!query.is_string()) return Error::invalid("db.sql: the query must be a string");
    if (!params.is_array()) return Error::invalid("db.sql: the parameters must be an array");
    auto statements = splitSqlScript(query.get<std::string>());
    if (!statements) return Error::invalid("db.sql: " + statements.error().message);
    if (statements->empty()) return std::string("null");  // only a comment
    if (statements->size() > 1) return Error::invalid("db.sql: one statement at a time");
    SqlStatement& s = statements->front();
    // Rows in and out; the schema is the migrations' to change. The role
    // keeps it to the plugin's own schema whatever the statement says.
    const std::string first = s.keywords.empty() ? "" : s.keywords[0];
    if (first != "SELECT" && first != "INSERT" && first != "UPDATE" && first != "DELETE" && first != "WITH" && first != "VALUES") {
      return Error::denied("db.sql: not allowed: " + (first.empty() ? std::string("this statement") : first) +
                           " (only the plugin's own tables, rows in and out)");
    }
    for (const auto& id : s.identifiers) {
      if (id.starts_with("_patchbay_")) return Error::denied("db.sql: not allowed: " + id + " belongs to the installer");
    }
    std::string text = s.text;
    for (size_t i = s.questionMarks.size(); i-- > 0;) text.replace(s.questionMarks[i], 1, "$" + std::to_string(i + 1));
    std::vector<std::optional<std::string>> values;
    for (size_t i = 0; i < params.size(); ++i) {
      const json& v = params[i];
      if (v.is_null()) values.emplace_back(std::nullopt);
      else if (v.is_boolean()) values.emplace_back(v.get<bool>() ? "true" : "false");
      else if (v.is_number()) values.emplace_back(v.dump());
      else if (v.is_string()) values.emplace_back(v.get<std::string>());
      else return Error::invalid("db.sql: parameter " + std::to_string(i + 1) + " must be a string, number, boolean or null");
    }
    auto result = pg_.runBounded(text, values, kMaxDbResultBytes);
    if (!result) {
      if (result.error().kind == ErrorKind::kPermissionDenied) return Error::denied("db.sql: not allowed: " + result.error().message + " (only the plugin's own tables)");
      return Error{result.error().kind, "db.sql: " + result.error().message};
    }
    if (result->columns.empty()) return json{{"changes", result->affected}, {"lastInsertRowid", nullptr}}.dump();
    json rows = json::array();
    for (const auto& r : result->rows) {
      json row = json::object();
      for (size_t c = 0; c < r.size(); ++c) row[result->columns[c]] = cellValue(r[c], result->types[c]);
      rows.push_back(std::move(row));
    }
    return rows.dump(-1, ' ', false, json::error_handler_t::replace);
  }

 private:
  PgConnection pg_;
};

}  // namespace

Result<std::unique_ptr<PluginDb>> openPostgresPluginDb(const PluginDataPlace& place, const PluginDbLimits& limits) {
  auto pg = connectAsPlugin(place.postgresUrl, place.pluginId, place.tenantId);
  if (!pg) return pg.error();
  // The CPU deadline cannot reach into the server: its own timeout does.
  if (limits.statementTimeout.count() > 0) {
    if (auto s = pg->exec("SET statement_timeout = " + std::to_string(limits.statementTimeout.count())); !s) return s.error();
  }
  if (auto s = pg->exec(kPostgresDocumentTables); !s) return Error{s.error().kind, "plugin \"" + place.pluginId + "\"'s tables: " + s.error().message};
  return std::unique_ptr<PluginDb>(std::make_unique<PostgresPluginDb>(std::move(*pg)));
}

}  // namespace patchbay
