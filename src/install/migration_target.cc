#include "install/migration_target.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>

#include "patchbay/postgres.h"
#include "patchbay/sql_script.h"
#include "patchbay/store.h"

namespace patchbay::install {

namespace {

// --- SQLite: the authorizer decides each action as SQLite compiles it.

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

class SqliteTarget final : public MigrationTarget {
 public:
  SqliteTarget(Database db, std::string path) : MigrationTarget(std::make_unique<SqliteDatabase>(std::move(db), std::move(path))) {}
  Status runPackageScript(std::string_view script) override {
    Database& db = static_cast<SqliteDatabase&>(*inner_).database();
    MigrationGuard guard(db.handle());
    return db.exec(script);
  }
};

// --- PostgreSQL: each statement is read before it runs (sql_script.h) and
// refused when it would end the operation's transaction, reach the server's
// files or programs, load code, change who the session is, or touch the
// installer's tables. Beyond that a script has the rights of the URL's
// user: give a panel a database user that is not a superuser.

std::string refusal(const SqlStatement& s) {
  const auto& k = s.keywords;
  auto first = [&](std::string_view w) { return !k.empty() && k[0] == w; };
  auto second = [&](std::string_view w) { return k.size() > 1 && k[1] == w; };
  static constexpr std::array kTransactionControl = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"};
  for (const char* word : kTransactionControl) {
    if (first(word)) {
      return k[0] + " is transaction control: an operation's migrations run in the installer's one transaction and may not end it";
    }
  }
  if (first("PREPARE") && second("TRANSACTION")) return "PREPARE TRANSACTION would take the operation's transaction away";
  if (first("COPY")) return "COPY reads and writes the database server's files and programs";
  if (first("LOAD")) return "LOAD loads a shared library into the server";
  if ((first("SET") || first("RESET")) && (second("ROLE") || second("SESSION"))) return k[0] + " " + k[1] + " changes who the session is";
  for (const auto& id : s.identifiers) {
    std::string folded = id;
    std::transform(folded.begin(), folded.end(), folded.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (folded.starts_with("_patchbay_")) return id + " belongs to the installer";
  }
  return "";
}

class PostgresTarget final : public MigrationTarget {
 public:
  explicit PostgresTarget(PgConnection pg) : MigrationTarget(std::make_unique<PostgresDatabase>(std::move(pg))) {}
  Status runPackageScript(std::string_view script) override {
    auto statements = splitSqlScript(script);
    if (!statements) return statements.error();
    for (const auto& s : *statements) {
      if (std::string why = refusal(s); !why.empty()) {
        return Error::denied("line " + std::to_string(s.line) + ": not allowed in a migration: " + why);
      }
    }
    for (const auto& s : *statements) {
      if (auto ran = pg_.exec(s.text, s.line); !ran) {
        if (ran.error().message.find("(at line ") != std::string::npos) return ran;
        return Error{ran.error().kind, ran.error().message + " (at line " + std::to_string(s.line) + ")"};
      }
    }
    if (!pg_.inTransaction()) return Error::internal(pg_.url() + ": the operation's transaction ended inside a migration");
    return {};
  }

 private:
  PgConnection& pg_ = static_cast<PostgresDatabase&>(*inner_).connection();
};

}  // namespace

Result<std::unique_ptr<MigrationTarget>> openSqliteTarget(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return db.error();
  return std::unique_ptr<MigrationTarget>(std::make_unique<SqliteTarget>(std::move(*db), path));
}

Result<std::unique_ptr<MigrationTarget>> postgresPluginTarget(const std::string& url, const std::string& pluginId, const std::string& tenantId) {
  auto pg = connectAsPlugin(url, pluginId, tenantId);
  if (!pg) return pg.error();
  return std::unique_ptr<MigrationTarget>(std::make_unique<PostgresTarget>(std::move(*pg)));
}

Result<std::unique_ptr<MigrationTarget>> postgresPluginReader(const std::string& url, const std::string& pluginId, const std::string& tenantId) {
  auto pg = PgConnection::connect(url);
  if (!pg) return pg.error();
  auto schema = pluginSchemaName(*pg, pluginId, tenantId);
  if (!schema) return schema.error();
  if (auto s = pg->exec("SET search_path = \"" + *schema + "\""); !s) return s.error();
  return std::unique_ptr<MigrationTarget>(std::make_unique<PostgresTarget>(std::move(*pg)));
}

Result<std::unique_ptr<MigrationTarget>> postgresTarget(const std::string& url) {
  auto pg = PgConnection::connect(url);
  if (!pg) return pg.error();
  return std::unique_ptr<MigrationTarget>(std::make_unique<PostgresTarget>(std::move(*pg)));
}

}  // namespace patchbay::install
