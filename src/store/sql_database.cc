#include "patchbay/sql_database.h"

namespace patchbay {

Result<SqlDatabase::Rows> SqliteDatabase::query(std::string_view sql, const std::vector<std::string>& params) {
  auto st = db_->prepare(sql);
  if (!st) return st.error();
  for (size_t i = 0; i < params.size(); ++i) st->bind(static_cast<int>(i + 1), params[i]);
  Rows rows;
  while (st->step()) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < st->columnCount(); ++c) row.push_back(st->getText(c));
  }
  if (!st->status()) return st->status().error();
  return rows;
}

Result<SqlDatabase::Rows> PostgresDatabase::query(std::string_view sql, const std::vector<std::string>& params) {
  std::vector<std::optional<std::string>> values(params.begin(), params.end());
  auto result = pg_.run(sql, values);
  if (!result) return result.error();
  changes_ = result->affected;
  Rows out;
  out.reserve(result->rows.size());
  for (auto& row : result->rows) {
    auto& r = out.emplace_back();
    for (auto& v : row) r.push_back(v.value_or(""));
  }
  return out;
}

Result<std::unique_ptr<SqlDatabase>> openSqlDatabase(const std::string& pathOrUrl, const std::string& schema) {
  if (!isPostgresUrl(pathOrUrl)) {
    auto db = Database::open(pathOrUrl);
    if (!db) return db.error();
    return std::unique_ptr<SqlDatabase>(std::make_unique<SqliteDatabase>(std::move(*db), pathOrUrl));
  }
  auto pg = PgConnection::connect(pathOrUrl);
  if (!pg) return pg.error();
  if (!schema.empty()) {
    if (auto s = pg->exec("CREATE SCHEMA IF NOT EXISTS \"" + schema + "\"; SET search_path = \"" + schema + "\""); !s) {
      return Error{s.error().kind, pg->url() + ": schema " + schema + ": " + s.error().message};
    }
  }
  return std::unique_ptr<SqlDatabase>(std::make_unique<PostgresDatabase>(std::move(*pg)));
}

}  // namespace patchbay
