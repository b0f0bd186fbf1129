#include "patchbay/tokens.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>
#include <sstream>

#include "patchbay/clock.h"
#include "patchbay/integrity.h"
#include "patchbay/sql_database.h"
#include "patchbay/store.h"

namespace patchbay {

namespace {

// The id column is the one part the two databases spell differently.
constexpr const char* kTokenSchema = R"sql(
CREATE TABLE IF NOT EXISTS tokens (
  id           %ID%,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  scopes       TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL DEFAULT '',
  last_used_at TEXT NOT NULL DEFAULT '',
  revoked      INTEGER NOT NULL DEFAULT 0
);
)sql";
constexpr const char* kColumns = "id, name, scopes, created_at, expires_at, last_used_at, revoked";


std::vector<std::string> splitScopes(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

TokenInfo fromRow(const std::vector<std::string>& row) {
  TokenInfo t;
  t.id = std::stoll(row[0]);
  t.name = row[1];
  t.scopes = splitScopes(row[2]);
  t.createdAt = row[3];
  t.expiresAt = row[4];
  t.lastUsedAt = row[5];
  t.revoked = row[6] != "0";
  return t;
}

}  // namespace

bool TokenInfo::hasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), "admin") != scopes.end() ||
         std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

namespace tokens {

Status ensureSchema(SqlDatabase& db) {
  std::string sql = kTokenSchema;
  sql.replace(sql.find("%ID%"), 4, db.isPostgres() ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
  return db.exec(sql);
}

Result<std::pair<TokenInfo, std::string>> create(SqlDatabase& db, const std::string& name, const std::vector<std::string>& scopes,
                                                 const std::vector<std::string>& allowedScopes, const std::string& expiresAt) {
  std::string allowed;
  for (const auto& s : allowedScopes) allowed += (allowed.empty() ? "" : ", ") + s;
  if (name.empty() || name.size() > 100) return Error::invalid("a token needs a name of 1 to 100 characters");
  if (scopes.empty()) return Error::invalid("a token needs at least one scope: " + allowed);
  std::string joined;
  for (const auto& s : scopes) {
    if (std::find(allowedScopes.begin(), allowedScopes.end(), s) == allowedScopes.end()) {
      return Error::invalid("unknown scope \"" + s + "\": use " + allowed);
    }
    joined += (joined.empty() ? "" : ",") + s;
  }
  if (!expiresAt.empty() && (expiresAt.size() != 20 || expiresAt[10] != 'T' || expiresAt.back() != 'Z')) {
    return Error::invalid("expiry \"" + expiresAt + "\" is not an ISO 8601 UTC time like 2027-01-31T00:00:00Z");
  }
  const std::string secret = "pb_" + randomHex(32);
  const std::string now = utcNow();
  auto inserted = db.query("INSERT INTO tokens (name, token_hash, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                           {name, sha256Hex(secret), joined, now, expiresAt});
  if (!inserted) return inserted.error();
  TokenInfo info;
  info.id = std::stoll(inserted->at(0).at(0));
  info.name = name;
  info.scopes = scopes;
  info.createdAt = now;
  info.expiresAt = expiresAt;
  return std::make_pair(info, secret);
}

std::vector<TokenInfo> list(SqlDatabase& db) {
  std::vector<TokenInfo> out;
  auto rows = db.query(std::string("SELECT ") + kColumns + " FROM tokens ORDER BY id");
  if (!rows) return out;
  for (const auto& row : *rows) out.push_back(fromRow(row));
  return out;
}

Status revoke(SqlDatabase& db, int64_t id) {
  auto done = db.query("UPDATE tokens SET revoked = 1 WHERE id = $1", {std::to_string(id)});
  if (!done) return done.error();
  if (db.changes() == 0) return Error::notFound("no token with id " + std::to_string(id));
  return {};
}

Result<TokenInfo> authenticate(SqlDatabase& db, std::string_view secret) {
  const Error refused = Error::unauthenticated("the API token is unknown, revoked or expired");
  if (secret.size() != 67 || !secret.starts_with("pb_")) return refused;
  auto rows = db.query(std::string("SELECT ") + kColumns + " FROM tokens WHERE token_hash = $1", {sha256Hex(secret)});
  if (!rows) return rows.error();
  if (rows->empty()) return refused;
  TokenInfo t = fromRow(rows->front());
  if (t.revoked || (!t.expiresAt.empty() && t.expiresAt <= utcNow())) return refused;
  // A missed "last used" note is not worth refusing the request.
  (void)db.query("UPDATE tokens SET last_used_at = $1 WHERE id = $2", {utcNow(), std::to_string(t.id)});
  return t;
}

Status ensureSchema(Database& db) {
  SqliteDatabase sql(&db, "");
  return ensureSchema(sql);
}
Result<std::pair<TokenInfo, std::string>> create(Database& db, const std::string& name, const std::vector<std::string>& scopes,
                                                 const std::vector<std::string>& allowedScopes, const std::string& expiresAt) {
  SqliteDatabase sql(&db, "");
  return create(sql, name, scopes, allowedScopes, expiresAt);
}
std::vector<TokenInfo> list(Database& db) {
  SqliteDatabase sql(&db, "");
  return list(sql);
}
Status revoke(Database& db, int64_t id) {
  SqliteDatabase sql(&db, "");
  return revoke(sql, id);
}
Result<TokenInfo> authenticate(Database& db, std::string_view secret) {
  SqliteDatabase sql(&db, "");
  return authenticate(sql, secret);
}

}  // namespace tokens
}  // namespace patchbay
