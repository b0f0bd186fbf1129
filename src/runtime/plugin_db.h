// A plugin's own data (sodium.db and its settings): in the embedded default
// one SQLite file per plugin, with PostgreSQL a schema per plugin per tenant
// reached as the plugin's own role (patchbay/postgres.h). A document per
// row. No V8 here: the binding passes JSON text.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

// Where a plugin's data lives.
struct PluginDataPlace {
  std::string folder;       // <dataDir>/<id>: data.db (SQLite) and nothing else with PostgreSQL
  std::string postgresUrl;  // "" = SQLite
  std::string pluginId, tenantId;
};

// What bounds a plugin's own queries: what it reads and writes (one value,
// one result) and how long a statement runs. The runtime sets `interrupt`
// and `statementTimeout`; the installer and settings readers need neither.
struct PluginDbLimits {
  // Becomes true when the running task passes its CPU deadline: a SQLite
  // statement in progress stops ("interrupted"); V8's termination cannot
  // reach into SQLite.
  const std::atomic<bool>* interrupt = nullptr;
  // PostgreSQL's statement_timeout for the plugin's connection; 0: none.
  std::chrono::milliseconds statementTimeout{0};
};
// One string or blob (SQLite's SQLITE_LIMIT_LENGTH), and one result (rows
// of db.sql, documents of db.find) as JSON: a plugin's heap could not hold
// more, and the host would hold it first.
constexpr uint64_t kMaxDbValueBytes = 16u << 20;
constexpr uint64_t kMaxDbResultBytes = 16u << 20;
// What db.find reads into memory to filter one collection.
constexpr uint64_t kMaxDbScanBytes = 4 * kMaxDbResultBytes;
// The error for a result past kMaxDbResultBytes, naming the call.
Error resultTooLarge(const std::string& what);
Error collectionTooLarge(const std::string& collection);

class PluginDb {
 public:
  static Result<std::unique_ptr<PluginDb>> open(const PluginDataPlace& place, const PluginDbLimits& limits = {});
  virtual ~PluginDb() = default;

  // One sodium.db call. `op`: registerCollections, find, findOne, count,
  // insert, update, delete, sql. Arguments and result are JSON text; errors
  // (an unregistered collection, a bad query) name what was wrong.
  Result<std::string> call(const std::string& op, const std::string& collection, const std::string& arg1, const std::string& arg2);

  // The settings store (PluginSettings): a stored value's JSON, or nullopt.
  virtual Result<std::optional<std::string>> setting(const std::string& key) = 0;
  virtual Status storeSetting(const std::string& key, const std::optional<std::string>& valueJson) = 0;
  // Every stored setting as (key, value JSON), by key.
  virtual Result<std::vector<std::pair<std::string, std::string>>> settings() = 0;
  // Runs `body` in one transaction: all of its writes or none.
  virtual Status transaction(const std::function<Status()>& body) = 0;

 protected:
  // The documents of a collection as stored JSON texts, in insertion order.
  // At most kMaxDbScanBytes of them (kLimitExceeded beyond: they are read
  // into memory to be filtered).
  virtual Result<std::vector<std::string>> documents(const std::string& collection, bool firstOnly) = 0;
  virtual Result<int64_t> countDocuments(const std::string& collection) = 0;
  virtual Result<std::optional<std::string>> document(const std::string& collection, const std::string& id) = 0;
  // kConflict when the id is taken.
  virtual Status insertDocument(const std::string& collection, const std::string& id, const std::string& data, const std::string& now) = 0;
  virtual Status replaceDocument(const std::string& collection, const std::string& id, const std::string& data, const std::string& now) = 0;
  virtual Result<bool> deleteDocument(const std::string& collection, const std::string& id) = 0;
  // db.sql(query, params): one statement over the plugin's own tables, rows in and out.
  virtual Result<std::string> runSql(const nlohmann::json& query, const nlohmann::json& params) = 0;

 private:
  std::set<std::string> collections_;  // registered in this activation
};

// The two kinds (plugin_db_sqlite.cc, plugin_db_postgres.cc).
Result<std::unique_ptr<PluginDb>> openSqlitePluginDb(const std::string& file, const PluginDbLimits& limits);
Result<std::unique_ptr<PluginDb>> openPostgresPluginDb(const PluginDataPlace& place, const PluginDbLimits& limits);

}  // namespace patchbay
