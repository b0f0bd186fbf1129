// The database an operation's migrations run in: a plugin's or a panel's
// SQLite file, or a panel's PostgreSQL database. The installer's
// bookkeeping and its commit point (migrations.h) are written once against
// this; each kind says how it begins a transaction and how it keeps a
// package's script from reaching past its own tables.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"
#include "patchbay/sql_database.h"

namespace patchbay::install {

using Rows = SqlDatabase::Rows;

// A database as SqlDatabase (patchbay/sql_database.h), and a package's
// migration script run inside the open transaction under a guard: no
// transaction control, no other databases or files, no extensions loaded,
// no writing the installer's _patchbay_ tables. Errors name the line.
class MigrationTarget : public SqlDatabase {
 public:
  bool isPostgres() const override { return inner_->isPostgres(); }
  Status exec(std::string_view sql) override { return inner_->exec(sql); }
  Result<Rows> query(std::string_view sql, const std::vector<std::string>& params = {}) override { return inner_->query(sql, params); }
  Status queryEach(std::string_view sql, const std::vector<std::string>& params, const OnRow& onRow) override {
    return inner_->queryEach(sql, params, onRow);
  }
  int64_t changes() const override { return inner_->changes(); }
  Status begin() override { return inner_->begin(); }
  std::string describe() const override { return inner_->describe(); }
  virtual Status runPackageScript(std::string_view script) = 0;

 protected:
  explicit MigrationTarget(std::unique_ptr<SqlDatabase> inner) : inner_(std::move(inner)) {}
  std::unique_ptr<SqlDatabase> inner_;
};

// Opens (creating) an SQLite file.
Result<std::unique_ptr<MigrationTarget>> openSqliteTarget(const std::string& path);
// Connects to a PostgreSQL database.
Result<std::unique_ptr<MigrationTarget>> postgresTarget(const std::string& url);
// A plugin's schema (patchbay/postgres.h), logged in as the plugin's role:
// made when missing, so its migrations' tables are the plugin's own.
Result<std::unique_ptr<MigrationTarget>> postgresPluginTarget(const std::string& url, const std::string& pluginId, const std::string& tenantId);
// The same schema read as the host's user, made nothing: for looking at
// the bookkeeping (queries fail when the schema is not there).
Result<std::unique_ptr<MigrationTarget>> postgresPluginReader(const std::string& url, const std::string& pluginId, const std::string& tenantId);

}  // namespace patchbay::install
