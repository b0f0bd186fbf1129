// A plugin's own data (sodium.db and its settings): in the embedded default
// one SQLite file per plugin, with PostgreSQL a schema per plugin per tenant
// reached as the plugin's own role (patchbay/postgres.h). A document per
// row. No V8 here: the binding passes JSON text.
#pragma once

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

class PluginDb {
 public:
  static Result<std::unique_ptr<PluginDb>> open(const PluginDataPlace& place);
  virtual ~PluginDb() = default;

  // One sodium.db call. `op`: registerCollections, find, findOne, count,
  // insert, update, delete, sql. Arguments and result are JSON text; errors
  // (an unregistered collection, a bad query) name what was wrong.
  Result<std::string> call(const std::string& op, const std::string& collection, const std::string& arg1, const std::string& arg2);

  // The settings store (PluginSettings): a stored value's JSON, or nullopt.
  virtual Result<std::optional<std::string>> setting(const std::string& key) = 0;
  virtual Status storeSetting(const std::string& key, const std::optional<std::string>& valueJson) = 0;
  // Runs `body` in one transaction: all of its writes or none.
  virtual Status transaction(const std::function<Status()>& body) = 0;

 protected:
  // The documents of a collection as stored JSON texts, in insertion order.
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
Result<std::unique_ptr<PluginDb>> openSqlitePluginDb(const std::string& file);
Result<std::unique_ptr<PluginDb>> openPostgresPluginDb(const PluginDataPlace& place);

}  // namespace patchbay
