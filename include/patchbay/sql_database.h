// patchbay/sql_database.h — the few calls patchbay's own state needs, over
// either database it keeps state in: an SQLite file (the embedded default)
// or PostgreSQL. Statements are written once, in the SQL both accept, with
// $1, $2… parameters; isPostgres() says when a table's definition differs
// (INTEGER PRIMARY KEY vs BIGSERIAL).
//
//   auto db = openSqlDatabase("data/host.db").value();        // or a postgresql:// URL
//   db->exec("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT)");
//   db->query("INSERT INTO t VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v", {"a", "1"});
//   auto rows = db->query("SELECT v FROM t WHERE k = $1", {"a"});   // rows of text; NULL reads as ""
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "patchbay/postgres.h"
#include "patchbay/result.h"
#include "patchbay/store.h"

namespace patchbay {

class SqlDatabase {
 public:
  using Rows = std::vector<std::vector<std::string>>;
  virtual ~SqlDatabase() = default;
  virtual bool isPostgres() const = 0;
  // Statements without parameters or results (one or more).
  virtual Status exec(std::string_view sql) = 0;
  // One statement; parameters $1, $2… in order of appearance.
  virtual Result<Rows> query(std::string_view sql, const std::vector<std::string>& params = {}) = 0;
  // The same, each row handed to `onRow` as it is read (its strings the
  // callee's to move from) instead of a table of every row: for results of
  // 100,000 rows, read once into structures of their own.
  using OnRow = std::function<void(std::vector<std::string>& row)>;
  virtual Status queryEach(std::string_view sql, const std::vector<std::string>& params, const OnRow& onRow) = 0;
  // Rows the last query inserted, changed or deleted.
  virtual int64_t changes() const = 0;
  // BEGIN that takes the write lock at once (SQLite: BEGIN IMMEDIATE).
  virtual Status begin() = 0;
  // How it is named in messages (a path, a redacted URL).
  virtual std::string describe() const = 0;
};

class SqliteDatabase final : public SqlDatabase {
 public:
  SqliteDatabase(Database db, std::string path) : owned_(std::move(db)), db_(&*owned_), path_(std::move(path)) {}
  // Uses `*borrowed` (which must outlive this) without owning it.
  SqliteDatabase(Database* borrowed, std::string path) : db_(borrowed), path_(std::move(path)) {}
  bool isPostgres() const override { return false; }
  Status exec(std::string_view sql) override { return db_->exec(sql); }
  Result<Rows> query(std::string_view sql, const std::vector<std::string>& params = {}) override;
  Status queryEach(std::string_view sql, const std::vector<std::string>& params, const OnRow& onRow) override;
  int64_t changes() const override { return db_->changes(); }
  Status begin() override { return db_->exec("BEGIN IMMEDIATE"); }
  std::string describe() const override { return path_; }
  Database& database() { return *db_; }

 private:
  std::optional<Database> owned_;
  Database* db_;
  std::string path_;
  // Statements prepared before, by their text: parsing a statement costs
  // more than running it (a session lookup spent 60% of its time in
  // sqlite3_prepare). Each is reset after use, so none holds a read
  // snapshot between queries; a query run inside another's rows with the
  // same text prepares one of its own. Declared last: finalized before
  // the database closes.
  struct CachedStatement {
    Statement statement;
    bool inUse = false;
  };
  static constexpr size_t kCachedStatements = 128;
  // Looked up by the caller's text as it is (no copy per query).
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, CachedStatement, TextHash, std::equal_to<>> statements_;
};

// Over a PostgreSQL connection. Given `reconnect`, a statement that finds
// the connection gone (the server restarted, a network cut) connects again
// first, so the database's return is noticed by the next request; inside
// a transaction nothing is re-run: the transaction is lost, its statements
// fail with kUnavailable until its COMMIT (an error) or ROLLBACK.
// Statements that cannot reach the server fail with kUnavailable.
class PostgresDatabase final : public SqlDatabase {
 public:
  using Connect = std::function<Result<PgConnection>()>;
  explicit PostgresDatabase(PgConnection pg, Connect reconnect = {}) : pg_(std::move(pg)), reconnect_(std::move(reconnect)) {}
  bool isPostgres() const override { return true; }
  Status exec(std::string_view sql) override;
  Result<Rows> query(std::string_view sql, const std::vector<std::string>& params = {}) override;
  Status queryEach(std::string_view sql, const std::vector<std::string>& params, const OnRow& onRow) override;
  int64_t changes() const override { return changes_; }
  Status begin() override { return exec("BEGIN ISOLATION LEVEL SERIALIZABLE"); }
  std::string describe() const override { return pg_.url(); }
  PgConnection& connection() { return pg_; }
  // Counts the connections made: it changes when a new one replaced a lost
  // one (session state, such as an advisory lock, is gone with the old).
  uint64_t connectionEpoch() const { return epoch_; }

 private:
  // Before a statement: connects again when the connection is gone.
  Status ready(std::string_view sql);
  // After it: what the connection says now.
  void settle();
  PgConnection pg_;
  Connect reconnect_;
  int64_t changes_ = 0;
  uint64_t epoch_ = 1;
  bool inTransaction_ = false;
};

// A transaction that rolls back unless committed (SqlDatabase::begin()).
//
//   SqlTransaction tx(db);
//   if (auto s = tx.begin(); !s) return s;
//   ... statements; an early return rolls back ...
//   return tx.commit();
class SqlTransaction {
 public:
  explicit SqlTransaction(SqlDatabase& db) : db_(db) {}
  ~SqlTransaction() { rollback(); }
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;
  Status begin() {
    if (auto s = db_.begin(); !s) return s;
    open_ = true;
    return {};
  }
  Status commit() {
    open_ = false;
    return db_.exec("COMMIT");
  }
  void rollback() {
    if (open_) (void)db_.exec("ROLLBACK");
    open_ = false;
  }

 private:
  SqlDatabase& db_;
  bool open_ = false;
};

// An SQLite file (made when missing), or with a postgresql:// URL that
// database; `schema`, when given, is made when missing and searched first.
Result<std::unique_ptr<SqlDatabase>> openSqlDatabase(const std::string& pathOrUrl, const std::string& schema = "");

}  // namespace patchbay
