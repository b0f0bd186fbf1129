#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "patchbay/postgres.h"
#include "support/test_util.h"

extern char** environ;

namespace patchbay::test {

namespace fs = std::filesystem;

namespace {

// The newest installed server's programs, /usr/lib/postgresql/<major>/bin.
fs::path serverBin() {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(e.path() / "bin/initdb")) found.push_back(e.path() / "bin");
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.parent_path().filename().string()) < std::stoi(b.parent_path().filename().string());
  });
  return found.empty() ? fs::path() : found.back();
}

// Runs `args` (as the postgres user when we are root), output to `log`,
// with `extraEnv` added to this process's environment.
pid_t spawnAs(std::vector<std::string> args, const fs::path& log, const std::vector<std::string>& extraEnv = {}) {
  if (::geteuid() == 0) args.insert(args.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.insert(env.end(), extraEnv.begin(), extraEnv.end());
  return test::spawnProcess(args, env, log.string());
}

int waitFor(pid_t pid) { return test::waitForProcess(pid); }

}  // namespace

PostgresServer::PostgresServer(int clockSpeed) : clockSpeed_(clockSpeed) {
  const fs::path bin = serverBin();
  if (bin.empty()) {
    error_ = "no PostgreSQL server under /usr/lib/postgresql (scripts/setup installs Debian's postgresql)";
    return;
  }
  std::string tmpl = (fs::temp_directory_path() / "patchbay-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    error_ = "cannot make a temporary folder";
    return;
  }
  dir_ = tmpl;
  if (::geteuid() == 0) {
    const passwd* user = ::getpwnam("postgres");
    if (!user) {
      error_ = "running as root, and there is no `postgres` user to run the server as";
      return;
    }
    if (::chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      error_ = "cannot hand " + dir_.string() + " to the postgres user";
      return;
    }
  }
  const fs::path log = dir_ / "server.log";
  if (int code = waitFor(spawnAs({(bin / "initdb").string(), "-D", (dir_ / "data").string(), "-A", "trust", "-U", "patchbay", "-E", "UTF8",
                                   "--no-locale", "--no-sync"},
                                  dir_ / "initdb.log"));
      code != 0) {
    error_ = "initdb failed (" + std::to_string(code) + "): " + readFile(dir_ / "initdb.log");
    return;
  }
  bin_ = bin;
  for (int attempt = 0; attempt < 5 && ok(); ++attempt) {
    port_ = freeLoopbackPort();
    if (start()) return;
  }
  error_ = "the PostgreSQL server did not start: " + readFile(log);
}

bool PostgresServer::start() {
  std::vector<std::string> env;
  if (clockSpeed_ != 1) {
    // The wall clock only: the server's timeouts and waits keep real time.
    env = {std::string("LD_PRELOAD=") + kFakeTimeLibrary, "FAKETIME=+0 x" + std::to_string(clockSpeed_), "FAKETIME_DONT_FAKE_MONOTONIC=1"};
  }
  pid_ = spawnAs({(bin_ / "postgres").string(), "-D", (dir_ / "data").string(), "-k", dir_.string(), "-h", "127.0.0.1", "-p",
                  std::to_string(port_), "-c", "fsync=off", "-c", "max_connections=50"},
                 dir_ / "server.log", env);
  const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) + " user=patchbay dbname=postgres connect_timeout=2";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(ping.c_str()) == PQPING_OK) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken, or worse
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  // The postmaster's pid (under runuser it is a child of the one we started).
  std::ifstream pidFile(dir_ / "data/postmaster.pid");
  pid_t postmaster = 0;
  pidFile >> postmaster;
  ::kill(postmaster > 0 ? postmaster : pid_, SIGINT);  // fast shutdown
  waitFor(pid_);
  pid_ = -1;
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql://patchbay@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::exec(const std::string& database, const std::string& sql) const {
  auto pg = PgConnection::connect(url(database));
  if (!pg) return pg.error().message;
  auto s = pg->exec(sql);
  return s ? "" : s.error().message;
}

void PostgresServer::createDatabase(const std::string& name, const std::string& fromTemplate) const {
  std::string e = exec("postgres", "CREATE DATABASE \"" + name + "\"" + (fromTemplate.empty() ? "" : " TEMPLATE \"" + fromTemplate + "\""));
  if (!e.empty()) throw std::runtime_error("CREATE DATABASE " + name + ": " + e);
}

void PostgresServer::dropDatabase(const std::string& name) const {
  std::string e = exec("postgres", "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
  if (!e.empty()) throw std::runtime_error("DROP DATABASE " + name + ": " + e);
}

namespace {

// One schema's tables (and views) with their columns, rows and indexes,
// read through `pg` from pg_catalog: information_schema's views cost the
// server a planner's work per query, and the crash tests dump after every
// killed run.
std::string dumpSchema(PgConnection& pg, const std::string& schema) {
  std::ostringstream out;
  auto columns = pg.query(
      "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
      "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname, a.attnum",
      {schema});
  if (!columns) return "unreadable: " + columns.error().message + "\n";
  // Tables in name order, each with its columns in their order.
  std::vector<std::pair<std::string, std::string>> tables;
  for (const auto& c : *columns) {
    const std::string name = c[0].value_or("");
    if (tables.empty() || tables.back().first != name) tables.emplace_back(name, "");
    if (c[1]) tables.back().second += " " + c[1].value_or("") + " " + c[2].value_or("") + " " + c[3].value_or("") + ",";
  }
  for (const auto& [name, columnList] : tables) {
    out << "  table " << name << ":" << columnList << "\n";
    if (name == "_patchbay_operations") continue;  // operation ids and times differ from run to run
    const std::string table = "\"" + schema + "\".\"" + name + "\"";
    auto rows = pg.query(name == "_patchbay_migrations" ? "SELECT plugin, step FROM " + table + " ORDER BY 1, 2" : "SELECT * FROM " + table + " ORDER BY 1");
    if (!rows) {
      out << "    unreadable: " << rows.error().message << "\n";
      continue;
    }
    for (const auto& row : *rows) {
      out << "    row:";
      for (const auto& v : row) out << " " << v.value_or("NULL");
      out << "\n";
    }
  }
  auto indexes = pg.query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", {schema});
  for (const auto& i : indexes ? *indexes : std::vector<PgRow>{}) out << "  index " << i[0].value_or("") << ": " << i[1].value_or("") << "\n";
  return out.str();
}

}  // namespace

std::string postgresDump(const std::string& url, const std::string& schema) {
  auto pg = PgConnection::connect(url);
  if (!pg) return "unreachable: " + pg.error().message + "\n";
  return dumpSchema(*pg, schema);
}

std::string postgresPluginsDump(const std::string& url) {
  auto pg = PgConnection::connect(url);
  if (!pg) return "unreachable: " + pg.error().message + "\n";
  std::ostringstream out;
  auto schemas = pg->query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'p\\_%' ORDER BY 1");
  for (const auto& s : schemas ? *schemas : std::vector<PgRow>{}) {
    out << "schema " << s[0].value_or("") << "\n" << dumpSchema(*pg, s[0].value_or(""));
  }
  auto roles = pg->query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'p\\_%' ORDER BY 1");
  for (const auto& r : roles ? *roles : std::vector<PgRow>{}) out << "role " << r[0].value_or("") << "\n";
  auto known = pg->query("SELECT schema_name, plugin, tenant FROM patchbay_host.plugin_roles ORDER BY 1");
  for (const auto& k : known ? *known : std::vector<PgRow>{}) out << "recorded " << k[0].value_or("") << " " << k[1].value_or("") << " " << k[2].value_or("") << "\n";
  return out.str();
}

}  // namespace patchbay::test
