#include "patchbay/tokens.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>
#include <sstream>

#include "patchbay/clock.h"
#include "patchbay/integrity.h"
#include "patchbay/store.h"

namespace patchbay {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
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

TokenInfo fromRow(const Statement& st) {
  TokenInfo t;
  t.id = st.getInt(0);
  t.name = st.getText(1);
  t.scopes = splitScopes(st.getText(2));
  t.createdAt = st.getText(3);
  t.expiresAt = st.getText(4);
  t.lastUsedAt = st.getText(5);
  t.revoked = st.getInt(6) != 0;
  return t;
}

}  // namespace

bool TokenInfo::hasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), "admin") != scopes.end() ||
         std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

namespace tokens {

Status ensureSchema(Database& db) { return db.exec(kSchema); }

Result<std::pair<TokenInfo, std::string>> create(Database& db, const std::string& name, const std::vector<std::string>& scopes,
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
  ensureSodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string secret = "pb_" + toHex(raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  auto st = db.prepare("INSERT INTO tokens (name, token_hash, scopes, created_at, expires_at) VALUES (?,?,?,?,?)");
  if (!st) return st.error();
  const std::string now = utcNow();
  st->bind(1, name).bind(2, sha256Hex(secret)).bind(3, joined).bind(4, now).bind(5, expiresAt);
  if (auto s = st->run(); !s) return s.error();
  TokenInfo info;
  info.id = db.lastInsertId();
  info.name = name;
  info.scopes = scopes;
  info.createdAt = now;
  info.expiresAt = expiresAt;
  return std::make_pair(info, secret);
}

std::vector<TokenInfo> list(Database& db) {
  std::vector<TokenInfo> out;
  auto st = db.prepare(std::string("SELECT ") + kColumns + " FROM tokens ORDER BY id");
  if (!st) return out;
  while (st->step()) out.push_back(fromRow(*st));
  return out;
}

Status revoke(Database& db, int64_t id) {
  auto st = db.prepare("UPDATE tokens SET revoked = 1 WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, id);
  if (auto s = st->run(); !s) return s;
  if (db.changes() == 0) return Error::notFound("no token with id " + std::to_string(id));
  return {};
}

Result<TokenInfo> authenticate(Database& db, std::string_view secret) {
  const Error refused = Error::unauthenticated("the API token is unknown, revoked or expired");
  if (secret.size() != 67 || !secret.starts_with("pb_")) return refused;
  auto st = db.prepare(std::string("SELECT ") + kColumns + " FROM tokens WHERE token_hash = ?");
  if (!st) return st.error();
  st->bind(1, sha256Hex(secret));
  if (!st->step()) return refused;
  TokenInfo t = fromRow(*st);
  if (t.revoked || (!t.expiresAt.empty() && t.expiresAt <= utcNow())) return refused;
  auto used = db.prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?");
  if (used) {
    used->bind(1, utcNow()).bind(2, t.id);
    (void)used->run();  // a missed "last used" note is not worth refusing the request
  }
  return t;
}

}  // namespace tokens
}  // namespace patchbay
