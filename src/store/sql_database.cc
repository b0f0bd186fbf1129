#include "patchbay/sql_database.h"

#include <cctype>

namespace patchbay {

Status SqliteDatabase::queryEach(std::string_view sql, const std::vector<std::string>& params, const OnRow& onRow) {
  CachedStatement* cached = nullptr;
  std::optional<Statement> own;
  if (auto it = statements_.find(sql); it != statements_.end() && !it->second.inUse) {
    cached = &it->second;
  } else {
    auto prepared = db_->prepare(sql);
    if (!prepared) return prepared.error();
    if (it != statements_.end()) {
      own.emplace(std::move(*prepared));  // the cached one is busy further up this call stack
    } else {
      if (statements_.size() >= kCachedStatements) std::erase_if(statements_, [](const auto& entry) { return !entry.second.inUse; });
      cached = &statements_.emplace(std::string(sql), CachedStatement{std::move(*prepared)}).first->second;
    }
  }
  Statement& st = cached ? cached->statement : *own;
  if (cached) cached->inUse = true;
  struct Release {
    Statement& st;
    CachedStatement* cached;
    ~Release() {
      st.reset();  // no read snapshot kept, no bindings kept
      if (cached) cached->inUse = false;
    }
  } release{st, cached};
  for (size_t i = 0; i < params.size(); ++i) st.bind(static_cast<int>(i + 1), params[i]);
  std::vector<std::string> row;
  while (st.step()) {
    row.resize(static_cast<size_t>(st.columnCount()));
    for (int c = 0; c < st.columnCount(); ++c) row[static_cast<size_t>(c)] = st.getText(c);
    onRow(row);
  }
  return st.status();
}

Result<SqlDatabase::Rows> SqliteDatabase::query(std::string_view sql, const std::vector<std::string>& params) {
  Rows rows;
  if (auto s = queryEach(sql, params, [&rows](std::vector<std::string>& row) { rows.push_back(std::move(row)); }); !s) return s.error();
  return rows;
}

namespace {

bool startsWithWord(std::string_view sql, std::string_view word) {
  while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n' || sql.front() == '\t')) sql.remove_prefix(1);
  if (sql.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(sql[i])) != word[i]) return false;
  }
  return sql.size() == word.size() || !std::isalpha(static_cast<unsigned char>(sql[word.size()]));
}

// A failure of a statement on a connection that is gone: the server is
// unavailable (for now), not the statement wrong.
Error lostConnection(const PgConnection& pg, const Error& e) {
  return pg.connected() ? e : Error::unavailable(e.message);
}

}  // namespace

Status PostgresDatabase::ready(std::string_view sql) {
  if (pg_.connected()) return {};
  if (inTransaction_) {
    // The server rolled the transaction back when the connection went.
    if (startsWithWord(sql, "ROLLBACK")) {
      inTransaction_ = false;
      return Error::unavailable(pg_.url() + ": the connection was lost (the transaction was rolled back)");
    }
    if (startsWithWord(sql, "COMMIT")) inTransaction_ = false;
    return Error::unavailable(pg_.url() + ": the connection was lost during a transaction; nothing of it was written");
  }
  if (!reconnect_) return Error::unavailable(pg_.url() + ": the connection was lost");
  auto fresh = reconnect_();
  if (!fresh) return Error::unavailable(fresh.error().message);
  pg_ = std::move(*fresh);
  ++epoch_;
  return {};
}

// A connection lost mid-transaction keeps inTransaction_ set: what the
// caller sends next belongs to that lost transaction (ready() refuses it)
// and must not run on a new connection by itself.
void PostgresDatabase::settle() {
  if (pg_.connected()) inTransaction_ = pg_.inTransaction();
}

Status PostgresDatabase::exec(std::string_view sql) {
  if (auto s = ready(sql); !s) {
    if (startsWithWord(sql, "ROLLBACK")) return {};  // nothing left to roll back
    return s;
  }
  Status s = pg_.exec(sql);
  settle();
  if (!s) return lostConnection(pg_, s.error());
  return s;
}

Status PostgresDatabase::queryEach(std::string_view sql, const std::vector<std::string>& params, const OnRow& onRow) {
  if (auto s = ready(sql); !s) return s;
  auto affected = pg_.forEachRow(sql, params, onRow);
  settle();
  if (!affected) return lostConnection(pg_, affected.error());
  changes_ = *affected;
  return {};
}

Result<SqlDatabase::Rows> PostgresDatabase::query(std::string_view sql, const std::vector<std::string>& params) {
  if (auto s = ready(sql); !s) return s.error();
  std::vector<std::optional<std::string>> values(params.begin(), params.end());
  auto result = pg_.run(sql, values);
  settle();
  if (!result) return lostConnection(pg_, result.error());
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
  // Connects with the schema first in search_path: at the start, and again
  // whenever the connection is found gone.
  auto connect = [url = pathOrUrl, schema](int timeoutSeconds) -> Result<PgConnection> {
    auto pg = PgConnection::connect(url, timeoutSeconds);
    if (!pg) return pg.error();
    if (schema.empty()) return pg;
    // Two processes starting at once may both create it: the loser's
    // CREATE fails on the catalog's unique index, and a second try finds it.
    Status made;
    for (int attempt = 0; attempt < 3; ++attempt) {
      made = pg->exec("CREATE SCHEMA IF NOT EXISTS \"" + schema + "\"; SET search_path = \"" + schema + "\"");
      if (made) return pg;
    }
    return Error{made.error().kind, pg->url() + ": schema " + schema + ": " + made.error().message};
  };
  auto pg = connect(10);
  if (!pg) return pg.error();
  // Reconnecting waits at most 2 s: a request finds out fast that the database is down.
  return std::unique_ptr<SqlDatabase>(std::make_unique<PostgresDatabase>(std::move(*pg), [connect] { return connect(2); }));
}

}  // namespace patchbay
