// patchbay/postgres.h — a PostgreSQL connection (libpq), for the panels and
// hosts whose data lives in PostgreSQL rather than the embedded SQLite.
//
//   auto pg = PgConnection::connect("postgresql://app@127.0.0.1:5432/panel").value();
//   pg.exec("CREATE TABLE IF NOT EXISTS t (x int)");
//   auto rows = pg.query("SELECT x FROM t WHERE x > $1", {"5"});
//   for (const auto& row : *rows) use(row[0]);   // text; std::nullopt for NULL
//
// One connection is used from one thread at a time. Errors carry the
// server's message (and, for a statement, where in it) but never the
// password of the URL they came from.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"

struct pg_conn;

namespace patchbay {

// Whether `text` is a PostgreSQL connection URL (postgres:// or postgresql://).
bool isPostgresUrl(std::string_view text);
// The URL with its password replaced by "***", for messages and logs.
std::string redactedPostgresUrl(std::string_view url);

using PgRow = std::vector<std::optional<std::string>>;

// A statement's whole outcome: columns (names and type oids), rows, and
// how many rows an INSERT/UPDATE/DELETE touched.
struct PgResult {
  std::vector<std::string> columns;
  std::vector<unsigned> types;
  std::vector<PgRow> rows;
  int64_t affected = 0;
};

// A NOTIFY heard on a LISTENing connection.
struct PgNotification {
  std::string channel;
  std::string payload;
  int senderPid = 0;  // the backend that sent it
};

class PgConnection {
 public:
  // Connects within `timeoutSeconds`; the error says which server refused and why.
  static Result<PgConnection> connect(const std::string& url, int timeoutSeconds = 10);
  // The same server and database as `url`, logged in as `user` (a plugin's role).
  static Result<PgConnection> connectAs(const std::string& url, const std::string& user, const std::string& password, int timeoutSeconds = 10);
  ~PgConnection();
  PgConnection(PgConnection&&) noexcept;
  PgConnection& operator=(PgConnection&&) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One or more statements without parameters (the simple protocol). An
  // error's line counts from `firstLine` (where `sql` starts in its file).
  Status exec(std::string_view sql, int firstLine = 1);
  // One statement with $1, $2… bound as text; the rows as text.
  Result<std::vector<PgRow>> query(std::string_view sql, const std::vector<std::string>& params = {});
  // The same with NULL parameters possible, and the columns described.
  Result<PgResult> run(std::string_view sql, const std::vector<std::optional<std::string>>& params = {});
  // One statement, each row handed to `onRow` straight from libpq's result
  // (NULL as ""; the row's strings are the callee's to move from), with no
  // second copy of every row in memory. Returns the rows affected.
  Result<int64_t> forEachRow(std::string_view sql, const std::vector<std::string>& params,
                             const std::function<void(std::vector<std::string>& row)>& onRow);
  // The same, its rows read one at a time and refused (kLimitExceeded, the
  // statement cancelled) once they pass `maxResultBytes`: libpq would
  // otherwise hold a whole result, however large, in memory.
  Result<PgResult> runBounded(std::string_view sql, const std::vector<std::optional<std::string>>& params, uint64_t maxResultBytes);
  // Whether a transaction block is open (after BEGIN, before COMMIT/ROLLBACK).
  bool inTransaction() const;
  // Whether the connection is still up (false once the server closed it or
  // it broke; a new one must be made).
  bool connected() const;
  // After LISTEN: the notifications that arrive within `timeout` (none is
  // an empty list); an error when the connection is gone.
  Result<std::vector<PgNotification>> waitForNotifications(std::chrono::milliseconds timeout);
  const std::string& url() const { return url_; }  // redacted

 private:
  PgConnection(pg_conn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}
  pg_conn* conn_ = nullptr;
  std::string url_;
};

// Listens on one channel from a thread of its own, on a connection of its
// own, and connects again (every `retry`) whenever that connection drops.
// `connected` runs after each (re)connect, before what arrives on it:
// re-read there whatever may have changed while nobody listened (a lost
// notification is then never lost for good). Both callbacks run on the
// listener's thread. Stops (and joins) when destroyed.
//
//   PgListener changes(url, "patchbay_registry",
//                      {.connected = [&] { reload(); }, .notified = [&](const PgNotification&) { reload(); }});
class PgListener {
 public:
  struct Callbacks {
    std::function<void()> connected;
    std::function<void(const PgNotification&)> notified;
  };
  PgListener(std::string url, std::string channel, Callbacks callbacks,
             std::chrono::milliseconds retry = std::chrono::milliseconds(500));
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// --- a schema per plugin per tenant -------------------------------------------
//
// With its data in PostgreSQL, each plugin (and each tenant's copy of it)
// has a schema and a login role of its own: the role owns the schema, and
// its search_path is that schema. The runtime and the installer work on a
// plugin's data logged in as its role, so its SQL reaches its own schema
// and nothing else (no other plugin's, not the host's). The host's
// connection (the URL's user, which needs CREATEROLE) makes and drops
// them, and keeps the roles' passwords in its own schema, patchbay_host,
// which no plugin role may use.

struct PgPluginSchema {
  std::string schema;  // also the role's name: "p_<id>_<hash>"
  std::string password;
};

// The schema's (and role's) name for plugin `pluginId` of tenant `tenantId`
// ("" = the host's own) in database `database`: roles belong to the whole
// server, so two hosts in two databases of one server never share one.
std::string pluginSchemaName(const std::string& pluginId, const std::string& tenantId, const std::string& database);
// The same, asking the connection which database it is in.
Result<std::string> pluginSchemaName(PgConnection& pg, const std::string& pluginId, const std::string& tenantId);
// Makes the role and schema when missing; returns them.
Result<PgPluginSchema> ensurePluginSchema(PgConnection& host, const std::string& pluginId, const std::string& tenantId);
// Drops the schema (with everything in it) and the role, when there.
Status dropPluginSchema(PgConnection& host, const std::string& pluginId, const std::string& tenantId);
// Connects as the plugin's role (ensurePluginSchema first), search_path set.
Result<PgConnection> connectAsPlugin(const std::string& url, const std::string& pluginId, const std::string& tenantId);

}  // namespace patchbay
