#include "patchbay/postgres.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include <map>

#include <utility>

namespace patchbay {

namespace {

// The server's primary message, without libpq's "ERROR:  " prefix and trailing newline.
std::string messageOf(const PGresult* result, pg_conn* conn) {
  std::string text;
  if (result) {
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    if (primary) text = primary;
    if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) text += std::string(" (") + detail + ")";
  }
  if (text.empty() && conn) text = PQerrorMessage(conn);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "the server gave no reason" : text;
}

// Where in `sql` the error is, as "line N": PostgreSQL reports a character position.
std::string positionOf(const PGresult* result, std::string_view sql, int firstLine = 1) {
  const char* position = result ? PQresultErrorField(result, PG_DIAG_STATEMENT_POSITION) : nullptr;
  if (!position) return "";
  size_t chars = static_cast<size_t>(std::atol(position));
  int line = firstLine;
  size_t seen = 0;
  for (size_t i = 0; i < sql.size() && seen + 1 < chars; ++i) {
    const unsigned char c = static_cast<unsigned char>(sql[i]);
    if ((c & 0xC0) != 0x80) ++seen;  // count characters, not UTF-8 continuation bytes
    if (c == '\n') ++line;
  }
  return " (at line " + std::to_string(line) + ")";
}

struct ResultHolder {
  explicit ResultHolder(PGresult* r) : r(r) {}
  ~ResultHolder() { PQclear(r); }
  ResultHolder(const ResultHolder&) = delete;
  ResultHolder& operator=(const ResultHolder&) = delete;
  PGresult* r;
};

// A failed statement's error, by its SQLSTATE: a taken key is a conflict,
// a missing privilege a denial, a cancelled statement (statement_timeout) a
// limit, a transaction that lost a race (serialization failure, deadlock)
// unavailable for now (run it again); anything else is the statement's fault.
Error statementError(const PGresult* result, pg_conn* conn, std::string_view sql, int firstLine = 1) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view code = state ? state : "";
  std::string message = messageOf(result, conn) + positionOf(result, sql, firstLine);
  if (code == "23505") return Error::conflict(std::move(message));
  if (code == "42501") return Error::denied(std::move(message));
  if (code == "57014") return Error::limit(std::move(message));
  if (code == "40001" || code == "40P01") return Error::unavailable(std::move(message));
  return Error::invalid(std::move(message));
}

}  // namespace

bool isPostgresUrl(std::string_view text) { return text.starts_with("postgres://") || text.starts_with("postgresql://"); }

// Read by libpq's own parser (the one that connects with it), so a password
// in any place it takes one (user info or ?password=) is hidden.
std::string redactedPostgresUrl(std::string_view url) {
  const size_t schemeEnd = url.find("://");
  const std::string scheme(url.substr(0, schemeEnd == std::string_view::npos ? 0 : schemeEnd));
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(url).c_str(), &error);
  if (!options) {
    PQfreemem(error);
    return (scheme.empty() ? std::string("postgresql") : scheme) + "://(a URL libpq cannot read)";
  }
  std::map<std::string, std::string> values;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (o->val && *o->val) values[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  auto take = [&](const char* key) {
    auto it = values.find(key);
    if (it == values.end()) return std::string();
    std::string v = std::move(it->second);
    values.erase(it);
    return v;
  };
  const std::string user = take("user"), password = take("password"), port = take("port"), dbname = take("dbname");
  // A socket folder ("/run/postgresql") stays a query parameter, as it is written.
  const std::string host = values.count("host") && values["host"].find('/') != std::string::npos ? "" : take("host");
  std::string out = (scheme.empty() ? std::string("postgresql") : scheme) + "://";
  if (!user.empty() || !password.empty()) out += user + (password.empty() ? "" : ":***") + "@";
  out += host;
  if (!port.empty()) out += ":" + port;
  if (!dbname.empty()) out += "/" + dbname;
  char separator = '?';
  for (const auto& [key, value] : values) {
    out += separator + key + "=" + value;
    separator = '&';
  }
  return out;
}

Result<PgConnection> PgConnection::connect(const std::string& url, int timeoutSeconds) { return connectAs(url, "", "", timeoutSeconds); }

Result<PgConnection> PgConnection::connectAs(const std::string& url, const std::string& user, const std::string& password, int timeoutSeconds) {
  std::string shown = redactedPostgresUrl(url);
  if (!user.empty()) shown += " (as " + user + ")";
  const std::string timeout = std::to_string(timeoutSeconds);
  // Later keywords override what the URL says (libpq reads them in order).
  std::vector<const char*> keys = {"dbname", "connect_timeout", "application_name", "client_encoding"};
  std::vector<const char*> values = {url.c_str(), timeout.c_str(), "patchbay", "UTF8"};
  if (!user.empty()) {
    keys.insert(keys.end(), {"user", "password"});
    values.insert(values.end(), {user.c_str(), password.c_str()});
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!conn) return Error::internal(shown + ": libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    PQfinish(conn);
    return Error::io(shown + ": cannot connect: " + why);
  }
  PgConnection c(conn, shown);
  // Notices (CREATE TABLE IF NOT EXISTS on a table that exists…) are not errors; keep them off stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return c;
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}
PgConnection::PgConnection(PgConnection&& o) noexcept : conn_(std::exchange(o.conn_, nullptr)), url_(std::move(o.url_)) {}
PgConnection& PgConnection::operator=(PgConnection&& o) noexcept {
  if (this != &o) {
    if (conn_) PQfinish(conn_);
    conn_ = std::exchange(o.conn_, nullptr);
    url_ = std::move(o.url_);
  }
  return *this;
}

Status PgConnection::exec(std::string_view sql, int firstLine) {
  ResultHolder result(PQexec(conn_, std::string(sql).c_str()));
  const auto status = result.r ? PQresultStatus(result.r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return {};
  if (PQstatus(conn_) != CONNECTION_OK) return Error::io(url_ + ": the connection was lost: " + messageOf(result.r, conn_));
  return statementError(result.r, conn_, sql, firstLine);
}

Result<std::vector<PgRow>> PgConnection::query(std::string_view sql, const std::vector<std::string>& params) {
  std::vector<std::optional<std::string>> values(params.begin(), params.end());
  auto result = run(sql, values);
  if (!result) return result.error();
  return std::move(result->rows);
}

namespace {

// One statement with text parameters (nullptr: NULL), its whole result.
Result<std::unique_ptr<ResultHolder>> execute(pg_conn* conn, const std::string& url, std::string_view sql,
                                              const std::vector<const char*>& values) {
  auto result = std::make_unique<ResultHolder>(PQexecParams(conn, std::string(sql).c_str(), static_cast<int>(values.size()), nullptr,
                                                            values.data(), nullptr, nullptr, /*text results*/ 0));
  const auto status = result->r ? PQresultStatus(result->r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    if (PQstatus(conn) != CONNECTION_OK) return Error::io(url + ": the connection was lost: " + messageOf(result->r, conn));
    return statementError(result->r, conn, sql);
  }
  return result;
}

int64_t affectedRows(PGresult* r) {
  const char* affected = PQcmdTuples(r);
  return affected && *affected ? std::atoll(affected) : 0;
}

}  // namespace

Result<int64_t> PgConnection::forEachRow(std::string_view sql, const std::vector<std::string>& params,
                                         const std::function<void(std::vector<std::string>& row)>& onRow) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  auto executed = execute(conn_, url_, sql, values);
  if (!executed) return executed.error();
  PGresult* r = (*executed)->r;
  const int n = PQntuples(r), columns = PQnfields(r);
  std::vector<std::string> row(static_cast<size_t>(columns));
  for (int i = 0; i < n; ++i) {
    for (int c = 0; c < columns; ++c) row[static_cast<size_t>(c)].assign(PQgetvalue(r, i, c), static_cast<size_t>(PQgetlength(r, i, c)));
    onRow(row);
  }
  return affectedRows(r);
}

Result<PgResult> PgConnection::run(std::string_view sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  auto executed = execute(conn_, url_, sql, values);
  if (!executed) return executed.error();
  const ResultHolder& result = **executed;
  PgResult out;
  const int n = PQntuples(result.r), columns = PQnfields(result.r);
  for (int c = 0; c < columns; ++c) {
    out.columns.emplace_back(PQfname(result.r, c));
    out.types.push_back(PQftype(result.r, c));
  }
  out.rows.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    PgRow row;
    row.reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result.r, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result.r, r, c), static_cast<size_t>(PQgetlength(result.r, r, c))));
      }
    }
    out.rows.push_back(std::move(row));
  }
  out.affected = affectedRows(result.r);
  return out;
}

Result<PgResult> PgConnection::runBounded(std::string_view sql, const std::vector<std::optional<std::string>>& params, uint64_t maxResultBytes) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  if (!PQsendQueryParams(conn_, std::string(sql).c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0)) {
    return Error::io(url_ + ": " + messageOf(nullptr, conn_));
  }
  PQsetSingleRowMode(conn_);
  PgResult out;
  uint64_t bytes = 0;
  std::optional<Error> failure;
  auto describe = [&](PGresult* r) {
    if (!out.columns.empty()) return;
    for (int c = 0; c < PQnfields(r); ++c) {
      out.columns.emplace_back(PQfname(r, c));
      out.types.push_back(PQftype(r, c));
    }
  };
  // Every result is read (libpq wants the connection drained), also after
  // a failure or our cancel.
  while (PGresult* raw = PQgetResult(conn_)) {
    ResultHolder result(raw);
    const auto status = PQresultStatus(raw);
    if (failure) continue;
    if (status == PGRES_SINGLE_TUPLE) {
      describe(raw);
      PgRow row;
      for (int c = 0; c < PQnfields(raw); ++c) {
        if (PQgetisnull(raw, 0, c)) {
          row.emplace_back(std::nullopt);
        } else {
          bytes += static_cast<uint64_t>(PQgetlength(raw, 0, c)) + out.columns[static_cast<size_t>(c)].size();
          row.emplace_back(std::string(PQgetvalue(raw, 0, c), static_cast<size_t>(PQgetlength(raw, 0, c))));
        }
      }
      out.rows.push_back(std::move(row));
      if (bytes > maxResultBytes) {
        failure = Error::limit("the result is larger than " + std::to_string(maxResultBytes >> 20) + " MiB; ask for less (LIMIT, fewer columns)");
        if (PGcancel* cancel = PQgetCancel(conn_)) {
          char why[256];
          PQcancel(cancel, why, sizeof why);
          PQfreeCancel(cancel);
        }
        out.rows.clear();
      }
    } else if (status == PGRES_TUPLES_OK) {
      describe(raw);
    } else if (status == PGRES_COMMAND_OK) {
      out.affected = affectedRows(raw);
    } else {
      if (PQstatus(conn_) != CONNECTION_OK) {
        failure = Error::io(url_ + ": the connection was lost: " + messageOf(raw, conn_));
        continue;
      }
      failure = statementError(raw, conn_, sql);
    }
  }
  if (failure) return *failure;
  return out;
}

bool PgConnection::connected() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

bool PgConnection::inTransaction() const {
  const auto state = PQtransactionStatus(conn_);
  return state == PQTRANS_INTRANS || state == PQTRANS_INERROR || state == PQTRANS_ACTIVE;
}

Result<std::vector<PgNotification>> PgConnection::waitForNotifications(std::chrono::milliseconds timeout) {
  std::vector<PgNotification> heard;
  const auto take = [&] {
    while (PGnotify* n = PQnotifies(conn_)) {
      heard.push_back({n->relname ? n->relname : "", n->extra ? n->extra : "", n->be_pid});
      PQfreemem(n);
    }
  };
  if (PQconsumeInput(conn_) == 0) return Error::io(url_ + ": " + PQerrorMessage(conn_));
  take();
  if (!heard.empty()) return heard;
  const int fd = PQsocket(conn_);
  if (fd < 0) return Error::io(url_ + ": the connection is closed");
  pollfd waiting{fd, POLLIN, 0};
  const int ready = ::poll(&waiting, 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) return Error::io(url_ + ": poll: " + std::strerror(errno));
  if (ready > 0) {
    if (PQconsumeInput(conn_) == 0) return Error::io(url_ + ": " + PQerrorMessage(conn_));
    take();
  }
  return heard;
}

}  // namespace patchbay
