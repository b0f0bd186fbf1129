// patchbay/tokens.h — API tokens kept in a database (SQLite, or PostgreSQL
// for a host whose state is there; patchbay/sql_database.h): shown once at
// creation ("pb_" + 64 hex digits), stored only as their SHA-256, with
// scopes and an optional expiry. The registry (publish, review, admin) and
// the host (admin) keep theirs this way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

class Database;
class SqlDatabase;

struct TokenInfo {
  int64_t id = 0;
  std::string name;
  std::vector<std::string> scopes;
  std::string createdAt;
  std::string expiresAt;  // "" = never
  std::string lastUsedAt;
  bool revoked = false;
  bool hasScope(std::string_view scope) const;  // admin implies every scope
};

namespace tokens {

// Creates the table if missing.
Status ensureSchema(Database& db);
// Makes a token; returns it and its secret. `allowedScopes` lists the scopes
// this store knows; expiresAt is ISO 8601 UTC ("2027-01-31T00:00:00Z") or "".
// Runs in the caller's transaction, if any.
Result<std::pair<TokenInfo, std::string>> create(Database& db, const std::string& name, const std::vector<std::string>& scopes,
                                                 const std::vector<std::string>& allowedScopes, const std::string& expiresAt);
std::vector<TokenInfo> list(Database& db);
// kNotFound when there is no such token.
Status revoke(Database& db, int64_t id);
// The token a secret belongs to (and its last use noted); kUnauthenticated
// when unknown, revoked or expired, without saying which.
Result<TokenInfo> authenticate(Database& db, std::string_view secret);

// The same over either kind of database (the Database& forms are these on an SQLite file).
Status ensureSchema(SqlDatabase& db);
Result<std::pair<TokenInfo, std::string>> create(SqlDatabase& db, const std::string& name, const std::vector<std::string>& scopes,
                                                 const std::vector<std::string>& allowedScopes, const std::string& expiresAt);
std::vector<TokenInfo> list(SqlDatabase& db);
Status revoke(SqlDatabase& db, int64_t id);
Result<TokenInfo> authenticate(SqlDatabase& db, std::string_view secret);

}  // namespace tokens
}  // namespace patchbay
