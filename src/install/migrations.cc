#include "install/migrations.h"

#include <sqlite3.h>

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

Status ensureBookkeeping(Database& db) {
  return db.exec(R"sql(
CREATE TABLE IF NOT EXISTS _patchbay_migrations (
  plugin TEXT NOT NULL, step TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (plugin, step));
CREATE TABLE IF NOT EXISTS _patchbay_operations (
  op TEXT PRIMARY KEY, plugin TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL);
)sql");
}

std::vector<std::string> appliedSteps(Database& db, const std::string& plugin) {
  std::vector<std::string> out;
  auto st = db.prepare("SELECT step FROM _patchbay_migrations WHERE plugin = ? ORDER BY step");
  if (!st) return out;
  st->bind(1, plugin);
  while (st->step()) out.push_back(st->getText(0));
  return out;
}

bool committedOperation(Database& db, const std::string& op) {
  auto st = db.prepare("SELECT 1 FROM _patchbay_operations WHERE op = ?");
  if (!st) return false;
  st->bind(1, op);
  return st->step();
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

namespace {

// While a package's SQL runs: no transaction control (a COMMIT in a script
// would end the one transaction the whole operation is), no other files
// (ATTACH), no extensions; and no writing the installer's own tables.
int authorizeMigration(void*, int action, const char* a, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return SQLITE_DENY;
    case SQLITE_FUNCTION:
      return a && std::string_view(a) == "load_extension" ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_DROP_TABLE:
    case SQLITE_ALTER_TABLE:
      return a && std::string_view(a).starts_with("_patchbay_") ? SQLITE_DENY : SQLITE_OK;
    default:
      return SQLITE_OK;
  }
}

struct MigrationGuard {
  explicit MigrationGuard(sqlite3* db) : db_(db) { sqlite3_set_authorizer(db_, authorizeMigration, nullptr); }
  ~MigrationGuard() { sqlite3_set_authorizer(db_, nullptr, nullptr); }
  MigrationGuard(const MigrationGuard&) = delete;
  MigrationGuard& operator=(const MigrationGuard&) = delete;
  sqlite3* db_;
};

}  // namespace

Status commitChange(Database& db, const DatabaseChange& change) {
  if (auto s = ensureBookkeeping(db); !s) return s;
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s;
  const std::string now = utcNowMillis();
  for (const auto& step : change.steps) {
    auto sql = readFileLimited(step.path, kMaxSqlBytes);
    if (!sql) return Error{sql.error().kind, "migration " + step.name + ": " + sql.error().message};
    if (auto s = db.exec("SAVEPOINT patchbay_step"); !s) return s;
    Status ran;
    {
      MigrationGuard guard(db.handle());
      ran = db.exec(*sql);
    }
    if (!ran) {
      const Status& s = ran;
      (void)db.exec("ROLLBACK TO patchbay_step");
      return Error::invalid("migration " + step.name + " failed: " + s.error().message + " (nothing was changed)");
    }
    if (auto s = db.exec("RELEASE patchbay_step"); !s) return s;
    const bool removing = step.applied.starts_with("-");
    auto record = db.prepare(removing ? "DELETE FROM _patchbay_migrations WHERE plugin = ? AND step = ?"
                                      : "INSERT OR REPLACE INTO _patchbay_migrations (plugin, step, applied_at) VALUES (?, ?, ?)");
    if (!record) return record.error();
    record->bind(1, change.plugin).bind(2, removing ? step.applied.substr(1) : step.applied);
    if (!removing) record->bind(3, now);
    if (auto s = record->run(); !s) return s;
  }
  if (change.alsoInTransaction) {
    if (auto s = change.alsoInTransaction(db); !s) return s;
  }
  auto state = db.prepare("INSERT INTO _patchbay_operations (op, plugin, version, state, at) VALUES (?, ?, ?, ?, ?)");
  if (!state) return state.error();
  state->bind(1, change.op).bind(2, change.plugin).bind(3, change.version).bind(4, change.state).bind(5, now);
  if (auto s = state->run(); !s) return s;
  return tx.commit();
}

}  // namespace patchbay::install
