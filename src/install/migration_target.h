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

namespace patchbay {
class Database;
}

namespace patchbay::install {

using Rows = std::vector<std::vector<std::string>>;  // NULL reads as ""

class MigrationTarget {
 public:
  virtual ~MigrationTarget() = default;
  virtual bool isPostgres() const = 0;
  // The installer's own statements, without parameters.
  virtual Status exec(std::string_view sql) = 0;
  // One statement; parameters are $1, $2… in order of appearance.
  virtual Result<Rows> query(std::string_view sql, const std::vector<std::string>& params = {}) = 0;
  // BEGIN that takes the write lock at once (SQLite: BEGIN IMMEDIATE).
  virtual Status begin() = 0;
  // A package's migration script, inside the open transaction: no
  // transaction control, no other databases or files, no extensions loaded,
  // no writing the installer's _patchbay_ tables. Errors name the line.
  virtual Status runPackageScript(std::string_view script) = 0;
  // How the database is named in messages (a path, a redacted URL).
  virtual std::string describe() const = 0;
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
