// A plugin's own collections (sodium.db): one SQLite file per plugin, a
// document per row. No V8 here: the binding passes JSON text.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>

#include "patchbay/result.h"
#include "patchbay/store.h"

namespace patchbay {

class PluginDb {
 public:
  // Opens (creating) the plugin's database file.
  static Result<PluginDb> open(const std::string& path);

  // One sodium.db call. `op`: registerCollections, find, findOne, count,
  // insert, update, delete. Arguments and result are JSON text; errors
  // (an unregistered collection, a bad query) name what was wrong.
  Result<std::string> call(const std::string& op, const std::string& collection, const std::string& arg1,
                           const std::string& arg2);
  Database& database() { return db_; }

 private:
  // db.sql(query, params): one statement over the plugin's own tables.
  Result<std::string> runSql(const nlohmann::json& query, const nlohmann::json& params);

 public:

 private:
  explicit PluginDb(Database db) : db_(std::move(db)) {}
  Database db_;
  std::set<std::string> collections_;  // registered in this activation
};

}  // namespace patchbay
