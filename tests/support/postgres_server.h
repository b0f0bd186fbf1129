// A real PostgreSQL server for a test: Debian's postgresql package, a
// fresh data folder under the temp folder, loopback only, trust
// authentication for the one user it makes. Started by the test that uses
// it and stopped (folder removed) when the object goes. As root it runs as
// the `postgres` user the package creates (initdb refuses root).
//
//   test::PostgresServer pg;
//   if (!pg.ok()) GTEST_SKIP() ... (never: the tests fail instead, see ok())
//   pg.createDatabase("panel");
//   std::string url = pg.url("panel");   // postgresql://patchbay@127.0.0.1:PORT/panel
#pragma once

#include <filesystem>
#include <string>

namespace patchbay::test {

class PostgresServer {
 public:
  // `clockSpeed` > 1: the server's clock (now(), clock_timestamp()) runs
  // that many times faster than the machine's, from the moment it starts
  // (libfaketime): a test of what happens over many minutes by the
  // database's clock, without waiting for them. Not restarted (stop() and
  // start() would set it back).
  explicit PostgresServer(int clockSpeed = 1);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Whether it started; when not, error() says why (the tests assert on it).
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string url(const std::string& database) const;

  // Runs SQL as the server's superuser, connected to `database`; returns
  // "" or the error.
  std::string exec(const std::string& database, const std::string& sql) const;
  void createDatabase(const std::string& name, const std::string& fromTemplate = "") const;
  // Stops the server (a fast shutdown: clients are cut off) and starts it
  // again on the same port with the same data: a database restart.
  void stop();
  bool start();
  void dropDatabase(const std::string& name) const;

 private:
  std::filesystem::path dir_;
  std::string error_;
  int port_ = 0;
  int pid_ = -1;
  int clockSpeed_ = 1;
  std::filesystem::path bin_;
};

// Every table of a PostgreSQL database's schema with its columns and rows
// (as text, sorted by the first column), for state comparisons.
std::string postgresDump(const std::string& url, const std::string& schema = "public");
// The plugin schemas and roles (patchbay/postgres.h) of a database, each
// schema dumped, and the host's record of them.
std::string postgresPluginsDump(const std::string& url);

}  // namespace patchbay::test
