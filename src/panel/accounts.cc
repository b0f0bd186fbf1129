// The panel's users and sessions in the host's database (patchbay/panel.h).
#include <sodium.h>
#include <time.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "patchbay/clock.h"
#include "patchbay/files.h"
#include "patchbay/integrity.h"
#include "panel/panel_impl.h"
#include "patchbay/panel.h"
#include "patchbay/sql_database.h"
#include "patchbay/text.h"

namespace patchbay::panel {

namespace {

constexpr const char* kAccountsSchema = R"sql(
CREATE TABLE IF NOT EXISTS panel_users (
  id TEXT PRIMARY KEY, username TEXT NOT NULL, username_key TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL, email_key TEXT NOT NULL, password_hash TEXT NOT NULL,
  role TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS panel_users_email ON panel_users (email_key) WHERE email_key <> '';
CREATE TABLE IF NOT EXISTS panel_sessions (
  token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL, ip TEXT NOT NULL, user_agent TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS panel_sessions_user ON panel_sessions (user_id);
CREATE INDEX IF NOT EXISTS panel_sessions_expiry ON panel_sessions (expires_at);
CREATE TABLE IF NOT EXISTS panel_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

constexpr size_t kSessionIdLength = 32;  // hex digits of the token's hash that name a session
constexpr const char* kUserColumns = "id, username, email, role, created_at";

// Sodium's validateUsername: 3-20 of letters, digits, underscore.
bool validUsername(std::string_view s) {
  if (s.size() < 3 || s.size() > 20) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Sodium's /^[^\s@]+@[^\s@]+\.[^\s@]+$/.
bool validEmail(std::string_view s) {
  if (s.size() > 254) return false;
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) return false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') return false;
  }
  const std::string_view domain = s.substr(at + 1);
  for (size_t dot = domain.find('.'); dot != std::string_view::npos; dot = domain.find('.', dot + 1)) {
    if (dot > 0 && dot + 1 < domain.size()) return true;
  }
  return false;
}

std::string utcIn(std::chrono::seconds fromNow) {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + fromNow);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

User userFrom(const std::vector<std::string>& row) {
  return {row[0], row[1], row[2], row[3] == "admin" ? Role::kAdmin : Role::kUser, row[4]};
}

}  // namespace

const char* roleName(Role role) { return role == Role::kAdmin ? "admin" : "user"; }

nlohmann::ordered_json userObject(const User& user) {
  return {{"id", user.id},
          {"username", user.username},
          {"email", user.email.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(user.email)},
          {"displayName", user.username},
          {"isAdmin", user.isAdmin()},
          {"role", roleName(user.role)},
          {"createdAt", user.createdAt}};
}

std::string userJson(const User& user) { return userObject(user).dump(); }

json requestUserObject(const User& user) {
  return {{"id", user.id}, {"username", user.username}, {"isAdmin", user.isAdmin()}, {"isModerator", user.isAdmin()}, {"role", roleName(user.role)}};
}

std::string requestUserJson(const User& user) { return requestUserObject(user).dump(); }

struct Accounts::Impl {
  std::unique_ptr<SqlDatabase> db;
  std::mutex mu;  // the connection is one thread's at a time

  // A hash to check unknown names against, so that they take as long as known ones.
  std::string decoyHash;
  std::once_flag decoyOnce;

  static Result<std::string> hashPassword(std::string_view password) {
    ensureSodium();
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
      return Error::internal("hashing the password ran out of memory");
    }
    return std::string(out);
  }
};

Accounts::Accounts(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Accounts::~Accounts() = default;

Result<std::unique_ptr<Accounts>> Accounts::open(std::unique_ptr<SqlDatabase> db) {
  if (auto s = db->exec(kAccountsSchema); !s) return s.error().in(db->describe() + ": the panel's tables");
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db);
  return std::unique_ptr<Accounts>(new Accounts(std::move(impl)));
}

Result<User> Accounts::registerUser(const NewUser& request) {
  if (request.username.empty() || request.password.empty()) return Error::invalid("Username and password are required");
  if (!request.email.empty() && !validEmail(request.email)) return Error::invalid("Invalid email format");
  if (!validUsername(request.username)) return Error::invalid("Username must be 3-20 characters (letters, numbers, underscore only)");
  const size_t length = utf8Length(request.password);
  if (length < 6 || length > 128) return Error::invalid("Password must be between 6 and 128 characters");
  auto hash = Impl::hashPassword(request.password);  // before the lock: it takes a while
  if (!hash) return hash.error();

  std::lock_guard lock(impl_->mu);
  SqlDatabase& db = *impl_->db;
  if (auto s = db.begin(); !s) return s.error();
  auto fail = [&](Error e) -> Result<User> {
    (void)db.exec("ROLLBACK");
    return e;
  };
  const std::string nameKey = asciiLower(request.username), emailKey = asciiLower(request.email);
  auto taken = db.query("SELECT username_key FROM panel_users WHERE username_key = $1 OR (email_key = $2 AND $2 <> '')", {nameKey, emailKey});
  if (!taken) return fail(taken.error());
  bool nameTaken = false, emailTaken = false;
  for (const auto& row : *taken) (row[0] == nameKey ? nameTaken : emailTaken) = true;
  auto count = db.query("SELECT COUNT(*) FROM panel_users");
  if (!count) return fail(count.error());
  if (nameTaken) return fail(Error::invalid("Username already exists"));
  if (emailTaken) return fail(Error::invalid("Email already in use"));
  User user{randomUuid(), request.username, request.email, request.admin || count->front()[0] == "0" ? Role::kAdmin : Role::kUser, utcNow()};
  auto inserted = db.query(
      "INSERT INTO panel_users (id, username, username_key, email, email_key, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {user.id, user.username, nameKey, user.email, emailKey, *hash, roleName(user.role), user.createdAt});
  if (!inserted) return fail(inserted.error());
  if (auto s = db.exec("COMMIT"); !s) return fail(s.error());
  return user;
}

Result<User> Accounts::checkPassword(std::string_view username, std::string_view password) {
  std::optional<User> user;
  std::string hash;
  {
    std::lock_guard lock(impl_->mu);
    auto rows = impl_->db->query(std::string("SELECT ") + kUserColumns + ", password_hash FROM panel_users WHERE username_key = $1",
                                 {asciiLower(username)});
    if (!rows) return rows.error();
    if (!rows->empty()) {
      user = userFrom(rows->front());
      hash = rows->front()[5];
    }
  }
  if (!user) {
    std::call_once(impl_->decoyOnce, [&] {
      auto decoy = Impl::hashPassword("patchbay decoy");
      if (decoy) impl_->decoyHash = *decoy;
    });
    hash = impl_->decoyHash;
  }
  const bool ok = !hash.empty() && crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  if (!ok || !user) return Error::unauthenticated("Invalid credentials");
  return *user;
}

Result<std::string> Accounts::createSession(const User& user, std::chrono::seconds lifetime, std::string_view ip, std::string_view userAgent) {
  const std::string token = "pbs_" + randomHex(32);
  std::lock_guard lock(impl_->mu);
  // Expired sessions open nothing; each new one sweeps them away.
  const std::string now = utcNow();
  if (auto swept = impl_->db->query("DELETE FROM panel_sessions WHERE expires_at <= $1", {now}); !swept) return swept.error();
  auto inserted = impl_->db->query(
      "INSERT INTO panel_sessions (token_hash, user_id, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
      {sha256Hex(token), user.id, now, utcIn(lifetime), std::string(ip), std::string(userAgent.substr(0, 512))});
  if (!inserted) return inserted.error();
  return token;
}

Result<User> Accounts::userForSession(std::string_view token) {
  if (!token.starts_with("pbs_") || token.size() != 4 + 64) return Error::unauthenticated("not signed in");
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->db->query(std::string("SELECT u.id, u.username, u.email, u.role, u.created_at FROM panel_sessions s JOIN panel_users u ON u.id = s.user_id "
                                           "WHERE s.token_hash = $1 AND s.expires_at > $2"),
                               {sha256Hex(token), utcNow()});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::unauthenticated("not signed in");
  return userFrom(rows->front());
}

Status Accounts::endSession(std::string_view token) {
  std::lock_guard lock(impl_->mu);
  auto done = impl_->db->query("DELETE FROM panel_sessions WHERE token_hash = $1", {sha256Hex(token)});
  return done ? Status{} : Status{done.error()};
}

Status Accounts::endSessionsOf(const std::string& userId) {
  std::lock_guard lock(impl_->mu);
  auto done = impl_->db->query("DELETE FROM panel_sessions WHERE user_id = $1", {userId});
  return done ? Status{} : Status{done.error()};
}

Result<std::vector<SessionInfo>> Accounts::sessionsOf(const std::string& userId, std::string_view currentToken) {
  const std::string current = sha256Hex(currentToken).substr(0, kSessionIdLength);
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->db->query("SELECT substr(token_hash, 1, 32), ip, user_agent, created_at, expires_at FROM panel_sessions "
                               "WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC",
                               {userId, utcNow()});
  if (!rows) return rows.error();
  std::vector<SessionInfo> out;
  for (auto& r : *rows) out.push_back({r[0], r[1], r[2], r[3], r[4], r[0] == current});
  return out;
}

Status Accounts::endSessionById(const std::string& userId, const std::string& sessionId) {
  if (sessionId.size() != kSessionIdLength) return Error::notFound("Session not found");
  std::lock_guard lock(impl_->mu);
  auto done = impl_->db->query("DELETE FROM panel_sessions WHERE user_id = $1 AND substr(token_hash, 1, 32) = $2", {userId, sessionId});
  if (!done) return done.error();
  if (impl_->db->changes() == 0) return Error::notFound("Session not found");
  return {};
}

Result<size_t> Accounts::endOtherSessions(const std::string& userId, std::string_view keepToken) {
  std::lock_guard lock(impl_->mu);
  auto done = impl_->db->query("DELETE FROM panel_sessions WHERE user_id = $1 AND token_hash <> $2", {userId, sha256Hex(keepToken)});
  if (!done) return done.error();
  return static_cast<size_t>(impl_->db->changes());
}

Status Accounts::changePassword(const std::string& userId, std::string_view current, std::string_view next, std::string_view keepToken) {
  const size_t length = utf8Length(next);
  if (length < 6 || length > 128) return Error::invalid("Password must be between 6 and 128 characters");
  std::string hash;
  {
    std::lock_guard lock(impl_->mu);
    auto rows = impl_->db->query("SELECT password_hash FROM panel_users WHERE id = $1", {userId});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::notFound("User not found");
    hash = rows->front()[0];
  }
  if (crypto_pwhash_str_verify(hash.c_str(), current.data(), current.size()) != 0) return Error::unauthenticated("Current password is incorrect");
  auto fresh = Impl::hashPassword(next);
  if (!fresh) return fresh.error();
  std::lock_guard lock(impl_->mu);
  SqlDatabase& db = *impl_->db;
  if (auto s = db.begin(); !s) return s;
  auto updated = db.query("UPDATE panel_users SET password_hash = $1 WHERE id = $2", {*fresh, userId});
  auto ended = updated ? db.query("DELETE FROM panel_sessions WHERE user_id = $1 AND token_hash <> $2", {userId, sha256Hex(keepToken)}) : updated;
  if (!ended) {
    (void)db.exec("ROLLBACK");
    return ended.error();
  }
  return db.exec("COMMIT");
}

std::optional<User> Accounts::findUser(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->db->query(std::string("SELECT ") + kUserColumns + " FROM panel_users WHERE id = $1", {id});
  if (!rows || rows->empty()) return std::nullopt;
  return userFrom(rows->front());
}

Result<bool> ensureFirstAdministrator(Accounts& accounts, const std::string& passwordFile) {
  if (accounts.userCount() > 0) return false;
  const std::string password = randomHex(12);
  // The file first: an account whose password nobody kept would lock the panel.
  if (auto s = writeFileAtomically(passwordFile, password + "\n", 0600); !s) return s.error();
  auto made = accounts.registerUser({"admin", password, ""});
  if (!made) return made.error();
  return true;
}

Result<std::vector<User>> Accounts::listUsers(std::string_view search) {
  std::lock_guard lock(impl_->mu);
  // LIKE with the search's own % and _ taken literally.
  std::string pattern = "%";
  for (char c : asciiLower(search)) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += "%";
  auto rows = impl_->db->query(std::string("SELECT ") + kUserColumns +
                                   " FROM panel_users WHERE username_key LIKE $1 ESCAPE '\\' OR email_key LIKE $1 ESCAPE '\\' ORDER BY created_at, username_key",
                               {pattern});
  if (!rows) return rows.error();
  std::vector<User> out;
  for (const auto& r : *rows) out.push_back(userFrom(r));
  return out;
}

Result<User> Accounts::setRole(const std::string& userId, Role role) {
  {
    std::lock_guard lock(impl_->mu);
    auto done = impl_->db->query("UPDATE panel_users SET role = $1 WHERE id = $2", {roleName(role), userId});
    if (!done) return done.error();
    if (impl_->db->changes() == 0) return Error::notFound("User not found");
  }
  auto user = findUser(userId);
  if (!user) return Error::notFound("User not found");
  return *user;
}

Status Accounts::deleteUser(const std::string& userId) {
  std::lock_guard lock(impl_->mu);
  SqlDatabase& db = *impl_->db;
  if (auto s = db.begin(); !s) return s;
  auto removed = db.query("DELETE FROM panel_users WHERE id = $1", {userId});
  const int64_t users = removed ? db.changes() : 0;
  auto sessions = removed ? db.query("DELETE FROM panel_sessions WHERE user_id = $1", {userId}) : removed;
  if (!sessions || users == 0) {
    (void)db.exec("ROLLBACK");
    return sessions ? Status{Error::notFound("User not found")} : Status{sessions.error()};
  }
  return db.exec("COMMIT");
}

size_t Accounts::userCount() {
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->db->query("SELECT COUNT(*) FROM panel_users");
  return rows && !rows->empty() ? std::stoul(rows->front()[0]) : 0;
}

std::optional<std::string> Accounts::setting(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->db->query("SELECT value FROM panel_settings WHERE key = $1", {key});
  if (!rows || rows->empty()) return std::nullopt;
  return rows->front()[0];
}

Status Accounts::setSetting(const std::string& key, const std::string& value) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->query("INSERT INTO panel_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            {key, value});
  if (!q) return q.error();
  return {};
}

}  // namespace patchbay::panel
