// A package's SQL migrations and the installer's bookkeeping in the
// plugin's database (see patchbay/install.h for the rules).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "patchbay/result.h"
#include "install/migration_target.h"

namespace patchbay::install {

// The migrations/ folder of an unpacked package.
struct Migrations {
  std::string dir;                 // the plugin folder they were read from
  bool hasBaseUp = false;          // migrations/up.sql
  bool hasBaseDown = false;        // migrations/down.sql
  std::vector<std::string> steps;  // "0001_init", "0002_tags", ... ascending
  // Reads and checks the names: NNNN_name.up.sql (four digits, then
  // [a-z0-9_-]), each with its .down.sql; no number twice; nothing else
  // but up.sql, down.sql and README files.
  static Result<Migrations> read(const std::string& pluginDir);
  std::string upPath(const std::string& step) const;    // step "up.sql": the base file
  std::string downPath(const std::string& step) const;
};

inline constexpr const char* kBaseStep = "up.sql";

// One SQL file to run, named for the reports and errors.
struct SqlStep {
  std::string name;  // "0002_tags.up.sql"
  std::string path;
  std::string applied;  // the step name to record as applied, or to remove ("-0002_tags")
};

// What an operation does to a database, in one transaction.
struct DatabaseChange {
  std::string plugin;
  std::vector<SqlStep> steps;
  std::string op, version, state;  // the operation that commits ("installed", "uninstalled")
  // More writes in the same transaction (a panel's addon_installations row).
  std::function<Status(MigrationTarget&)> alsoInTransaction;
};

// The installer's tables, created when missing: which migration steps of
// which plugin are applied, and which operations committed. One database
// may hold several plugins' (a panel's own database does).
Status ensureBookkeeping(MigrationTarget& db);
std::vector<std::string> appliedSteps(MigrationTarget& db, const std::string& plugin);
// Whether operation `op` committed in this database.
bool committedOperation(MigrationTarget& db, const std::string& op);

// Plans: which files run for each operation.
std::vector<SqlStep> planInstall(const Migrations& package, const std::vector<std::string>& applied);
std::vector<SqlStep> planUpgrade(const Migrations& from, const Migrations& to, const std::vector<std::string>& applied);
std::vector<SqlStep> planUninstall(const Migrations& installed, const std::vector<std::string>& applied);

// Runs every step (each in a savepoint) and records the operation, in one
// transaction: all of it commits or none. A failing step's error names it.
Status commitChange(MigrationTarget& db, const DatabaseChange& change);

}  // namespace patchbay::install
