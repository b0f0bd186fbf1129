#include "install/migrations.h"

#include "install/journal.h"
#include "patchbay/install.h"
#include "patchbay/postgres.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "patchbay/clock.h"
#include "patchbay/files.h"

namespace patchbay::install {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxSqlBytes = 16u << 20;

bool isStepName(std::string_view s) {
  if (s.size() < 6 || s[4] != '_') return false;
  for (size_t i = 0; i < 4; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  for (size_t i = 5; i < s.size(); ++i) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

Result<Migrations> Migrations::read(const std::string& pluginDir) {
  Migrations m;
  m.dir = pluginDir;
  const fs::path folder = fs::path(pluginDir) / "migrations";
  std::error_code ec;
  if (!fs::exists(folder, ec)) return m;
  if (!fs::is_directory(folder, ec)) return Error::invalid("migrations: must be a folder");
  std::map<std::string, int> halves;  // step -> 1 (up) | 2 (down)
  std::map<std::string, std::string> byNumber;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "up.sql") {
      m.hasBaseUp = true;
    } else if (name == "down.sql") {
      m.hasBaseDown = true;
    } else if (name.ends_with(".up.sql") || name.ends_with(".down.sql")) {
      const bool up = name.ends_with(".up.sql");
      std::string step = name.substr(0, name.size() - (up ? 7 : 9));
      if (!isStepName(step)) {
        return Error::invalid("migrations/" + name + ": versioned steps are named NNNN_name.up.sql / NNNN_name.down.sql (four digits, then a-z 0-9 _ -)");
      }
      std::string number = step.substr(0, 4);
      if (auto it = byNumber.find(number); it != byNumber.end() && it->second != step) {
        return Error::invalid("migrations/: steps " + it->second + " and " + step + " share the number " + number);
      }
      byNumber[number] = step;
      halves[step] |= up ? 1 : 2;
    } else if (!name.starts_with("README")) {
      return Error::invalid("migrations/" + name + ": not a migration (up.sql, down.sql, NNNN_name.up.sql, NNNN_name.down.sql)");
    }
  }
  if (ec) return Error::io("migrations/: " + ec.message());
  for (const auto& [step, have] : halves) {
    if (have != 3) return Error::invalid("migrations/" + step + (have == 1 ? ".down.sql" : ".up.sql") + " is missing: every step needs both halves");
    m.steps.push_back(step);
  }
  std::sort(m.steps.begin(), m.steps.end());
  return m;
}

std::string Migrations::upPath(const std::string& step) const {
  return dir + "/migrations/" + (step == kBaseStep ? std::string("up.sql") : step + ".up.sql");
}
std::string Migrations::downPath(const std::string& step) const {
  return dir + "/migrations/" + (step == kBaseStep ? std::string("down.sql") : step + ".down.sql");
}

Status ensureBookkeeping(MigrationTarget& db) {
  return db.exec(R"sql(
CREATE TABLE IF NOT EXISTS _patchbay_migrations (
  plugin TEXT NOT NULL, step TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (plugin, step));
CREATE TABLE IF NOT EXISTS _patchbay_operations (
  op TEXT PRIMARY KEY, plugin TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL);
)sql");
}

std::vector<std::string> appliedSteps(MigrationTarget& db, const std::string& plugin) {
  std::vector<std::string> out;
  auto rows = db.query("SELECT step FROM _patchbay_migrations WHERE plugin = $1 ORDER BY step", {plugin});
  if (rows) {
    for (auto& row : *rows) out.push_back(row[0]);
  }
  return out;
}

bool committedOperation(MigrationTarget& db, const std::string& op) {
  auto rows = db.query("SELECT 1 FROM _patchbay_operations WHERE op = $1", {op});
  return rows && !rows->empty();
}

std::vector<SqlStep> planInstall(const Migrations& package, const std::vector<std::string>& applied) {
  auto has = [&](const std::string& s) { return std::find(applied.begin(), applied.end(), s) != applied.end(); };
  std::vector<SqlStep> out;
  if (package.hasBaseUp && !has(kBaseStep)) out.push_back({"up.sql", package.upPath(kBaseStep), kBaseStep});
  for (const auto& step : package.steps) {
    if (!has(step)) out.push_back({step + ".up.sql", package.upPath(step), step});
  }
  return out;
}

std::vector<SqlStep> planUpgrade(const Migrations& from, const Migrations& to, const std::vector<std::string>& applied) {
  std::vector<SqlStep> out;
  // Steps the target no longer has: undone with the old version's files, newest first.
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
    if (*it == kBaseStep) continue;
    if (std::find(to.steps.begin(), to.steps.end(), *it) == to.steps.end()) {
      out.push_back({*it + ".down.sql", from.downPath(*it), "-" + *it});
    }
  }
  std::vector<SqlStep> ups = planInstall(to, applied);
  std::erase_if(ups, [](const SqlStep& s) { return s.applied == kBaseStep; });  // up.sql is the install's baseline
  out.insert(out.end(), ups.begin(), ups.end());
  return out;
}

std::vector<SqlStep> planUninstall(const Migrations& installed, const std::vector<std::string>& applied) {
  std::vector<SqlStep> out;
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
    if (*it != kBaseStep) out.push_back({*it + ".down.sql", installed.downPath(*it), "-" + *it});
  }
  if (std::find(applied.begin(), applied.end(), kBaseStep) != applied.end() && installed.hasBaseDown) {
    out.push_back({"down.sql", installed.downPath(kBaseStep), std::string("-") + kBaseStep});
  }
  return out;
}

Status commitChange(MigrationTarget& db, const DatabaseChange& change) {
  if (auto s = ensureBookkeeping(db); !s) return s;
  // Every early return below leaves the transaction: it rolls back.
  SqlTransaction tx(db);
  if (auto s = tx.begin(); !s) return s;
  const std::string now = utcNowMillis();
  for (const auto& step : change.steps) {
    auto sql = readFileLimited(step.path, kMaxSqlBytes);
    if (!sql) return Error{sql.error().kind, "migration " + step.name + ": " + sql.error().message};
    if (auto s = db.exec("SAVEPOINT patchbay_step"); !s) return s;
    if (auto ran = db.runPackageScript(*sql); !ran) {
      (void)db.exec("ROLLBACK TO SAVEPOINT patchbay_step");
      return Error::invalid("migration " + step.name + " failed: " + ran.error().message + " (nothing was changed)");
    }
    if (auto s = db.exec("RELEASE SAVEPOINT patchbay_step"); !s) return s;
    const bool removing = step.applied.starts_with("-");
    auto recorded = removing ? db.query("DELETE FROM _patchbay_migrations WHERE plugin = $1 AND step = $2", {change.plugin, step.applied.substr(1)})
                             : db.query("INSERT INTO _patchbay_migrations (plugin, step, applied_at) VALUES ($1, $2, $3) "
                                        "ON CONFLICT (plugin, step) DO UPDATE SET applied_at = excluded.applied_at",
                                        {change.plugin, step.applied, now});
    if (!recorded) return recorded.error();
  }
  if (change.alsoInTransaction) {
    if (auto s = change.alsoInTransaction(db); !s) return s;
  }
  auto state = db.query("INSERT INTO _patchbay_operations (op, plugin, version, state, at) VALUES ($1, $2, $3, $4, $5)",
                        {change.op, change.plugin, change.version, change.state, now});
  if (!state) return state.error();
  return tx.commit();
}

}  // namespace patchbay::install

namespace patchbay {

Result<std::vector<std::string>> migratePluginDatabase(const std::string& pluginId, const std::string& pluginDir,
                                                       const std::string& databasePath, bool down, const std::string& postgresUrl,
                                                       const std::string& tenantId) {
  auto migrations = install::Migrations::read(pluginDir);
  if (!migrations) return Error{migrations.error().kind, pluginDir + ": " + migrations.error().message};
  std::error_code ec;
  if (postgresUrl.empty()) std::filesystem::create_directories(std::filesystem::path(databasePath).parent_path(), ec);
  if (ec) return Error::io(databasePath + ": " + ec.message());
  auto db = postgresUrl.empty() ? install::openSqliteTarget(databasePath) : install::postgresPluginTarget(postgresUrl, pluginId, tenantId);
  if (!db) return Error{db.error().kind, databasePath + ": " + db.error().message};
  if (auto s = install::ensureBookkeeping(**db); !s) return Error{s.error().kind, databasePath + ": " + s.error().message};
  const auto applied = install::appliedSteps(**db, pluginId);
  install::DatabaseChange change{pluginId,
                                 down ? install::planUninstall(*migrations, applied) : install::planInstall(*migrations, applied),
                                 install::JournalFolder::newOperationId(),
                                 "",
                                 down ? "migrated down" : "migrated up",
                                 {}};
  std::vector<std::string> ran;
  for (const auto& step : change.steps) ran.push_back(step.name);
  if (change.steps.empty()) return ran;
  if (auto s = install::commitChange(**db, change); !s) return s.error();
  return ran;
}

}  // namespace patchbay
