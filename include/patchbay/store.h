// patchbay/store.h — the embedded database: SQLite, one file, WAL mode.
//
//   Database db = Database::open(path).value();
//   db.exec("CREATE TABLE IF NOT EXISTS t(x)");
//   auto stmt = db.prepare("SELECT x FROM t WHERE x > ?");
//   stmt->bind(1, 5);
//   while (stmt->step()) use(stmt->getInt(0));
//
// A Database may be used from one thread at a time (guard it with a mutex
// or give each thread its own). Errors carry SQLite's message and the SQL.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "patchbay/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace patchbay {

class Statement {
 public:
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bindNull(int index);

  // Advances to the next row: true when there is one. A failure is kept and
  // returned by status() (and step() returns false).
  bool step();
  const Status& status() const { return status_; }
  // Runs to completion (for INSERT/UPDATE/DELETE).
  Status run();
  Statement& reset();

  std::string getText(int column) const;
  int64_t getInt(int column) const;
  double getDouble(int column) const;
  bool isNull(int column) const;
  int columnCount() const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, std::string sql) : stmt_(stmt), sql_(std::move(sql)) {}
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
  Status status_;
};

class Database {
 public:
  // Opens (creating) the file, in WAL mode with foreign keys on and a busy
  // timeout, so readers and one writer in other processes can share it.
  static Result<Database> open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;

  // Runs one or more statements without results.
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  int64_t lastInsertId() const;
  int changes() const;

  // Runs `body` in a transaction (BEGIN IMMEDIATE ... COMMIT), rolling back
  // when it returns an error.
  template <class F>
  Status transaction(F&& body) {
    if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
    Status s = body();
    if (!s) {
      (void)exec("ROLLBACK");
      return s;
    }
    return exec("COMMIT");
  }

  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace patchbay
