// patchbay/postgres.h — a PostgreSQL connection (libpq), for the panels and
// hosts whose data lives in PostgreSQL rather than the embedded SQLite.
//
//   auto pg = PgConnection::connect("postgresql://app@127.0.0.1:5432/panel").value();
//   pg.exec("CREATE TABLE IF NOT EXISTS t (x int)");
//   auto rows = pg.query("SELECT x FROM t WHERE x > $1", {"5"});
//   for (const auto& row : *rows) use(row[0]);   // text; std::nullopt for NULL
//
// One connection is used from one thread at a time. Errors carry the
// server's message (and, for a statement, where in it) but never the
// password of the URL they came from.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"

struct pg_conn;

namespace patchbay {

// Whether `text` is a PostgreSQL connection URL (postgres:// or postgresql://).
bool isPostgresUrl(std::string_view text);
// The URL with its password replaced by "***", for messages and logs.
std::string redactedPostgresUrl(std::string_view url);

using PgRow = std::vector<std::optional<std::string>>;

class PgConnection {
 public:
  // Connects within `timeoutSeconds`; the error says which server refused and why.
  static Result<PgConnection> connect(const std::string& url, int timeoutSeconds = 10);
  ~PgConnection();
  PgConnection(PgConnection&&) noexcept;
  PgConnection& operator=(PgConnection&&) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One or more statements without parameters (the simple protocol). An
  // error's line counts from `firstLine` (where `sql` starts in its file).
  Status exec(std::string_view sql, int firstLine = 1);
  // One statement with $1, $2… bound as text; the rows as text.
  Result<std::vector<PgRow>> query(std::string_view sql, const std::vector<std::string>& params = {});
  // Whether a transaction block is open (after BEGIN, before COMMIT/ROLLBACK).
  bool inTransaction() const;
  const std::string& url() const { return url_; }  // redacted

 private:
  PgConnection(pg_conn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}
  pg_conn* conn_ = nullptr;
  std::string url_;
};

}  // namespace patchbay
