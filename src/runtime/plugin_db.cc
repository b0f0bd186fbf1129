#include "runtime/plugin_db.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "patchbay/clock.h"
#include "patchbay/integrity.h"

namespace patchbay {

namespace {

using json = nlohmann::json;

// The key of an id: strings as they are, numbers in their JSON form.
Result<std::string> idKey(const json& id) {
  if (id.is_string()) return id.get<std::string>();
  if (id.is_number_integer() || id.is_number_unsigned()) return id.dump();
  return Error::invalid("an id must be a string or a whole number, not " + id.dump());
}

// Compares JSON values for $gt & co: numbers with numbers, strings with strings.
std::optional<int> compareValues(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.get<std::string>().compare(b.get<std::string>()) < 0 ? -1 : a == b ? 0 : 1;
  return std::nullopt;
}

bool isOperatorObject(const json& v) {
  if (!v.is_object() || v.empty()) return false;
  for (const auto& [k, _] : v.items()) {
    if (k.empty() || k[0] != '$') return false;
  }
  return true;
}

// Whether `record` matches `query` (AND of fields; a field's value is an
// equality or an object of operators). Errors name an unknown operator.
Result<bool> matches(const json& record, const json& query) {
  for (const auto& [field, condition] : query.items()) {
    const json* value = record.contains(field) ? &record[field] : nullptr;
    if (!isOperatorObject(condition)) {
      if (!value || *value != condition) return false;
      continue;
    }
    for (const auto& [op, operand] : condition.items()) {
      bool ok = false;
      if (op == "$ne") {
        ok = !value || *value != operand;
      } else if (op == "$in") {
        if (!operand.is_array()) return Error::invalid("query field \"" + field + "\": $in takes an array");
        ok = value && std::find(operand.begin(), operand.end(), *value) != operand.end();
      } else if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
        auto c = value ? compareValues(*value, operand) : std::nullopt;
        ok = c && ((op == "$gt" && *c > 0) || (op == "$gte" && *c >= 0) || (op == "$lt" && *c < 0) || (op == "$lte" && *c <= 0));
      } else {
        return Error::invalid("query field \"" + field + "\": unknown operator " + op + " (use $gt $gte $lt $lte $ne $in)");
      }
      if (!ok) return false;
    }
  }
  return true;
}

}  // namespace

Error resultTooLarge(const std::string& what) {
  return Error::limit(what + ": the result is larger than " + std::to_string(kMaxDbResultBytes >> 20) +
                      " MiB; ask for less (a filter, db.sql with LIMIT)");
}

Error collectionTooLarge(const std::string& collection) {
  return Error::limit("db.find: collection \"" + collection + "\" holds more than " + std::to_string(kMaxDbScanBytes >> 20) +
                      " MiB to filter in memory; query it with db.sql instead");
}

Result<std::unique_ptr<PluginDb>> PluginDb::open(const PluginDataPlace& place, const PluginDbLimits& limits) {
  if (!place.postgresUrl.empty()) return openPostgresPluginDb(place, limits);
  return openSqlitePluginDb(place.folder + "/data.db", limits);
}

Result<std::string> PluginDb::call(const std::string& op, const std::string& collection, const std::string& arg1,
                                   const std::string& arg2) {
  json a = parseJsonOrDiscarded<json>(arg1), b = parseJsonOrDiscarded<json>(arg2);
  if (a.is_discarded() || b.is_discarded()) return Error::invalid("db." + op + ": arguments must be JSON values");
  if (op == "registerCollections") {
    if (!a.is_array()) return Error::invalid("db.registerCollections takes an array of names");
    for (const auto& name : a) {
      if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 100) {
        return Error::invalid("db.registerCollections: collection names are non-empty strings, got " + name.dump());
      }
      collections_.insert(name.get<std::string>());
    }
    return std::string("true");
  }
  if (op == "sql") return runSql(a, b);
  if (!collections_.count(collection)) {
    return Error::invalid("db." + op + ": collection \"" + collection + "\" is not registered (call db.registerCollections first)");
  }

  if (op == "find" || op == "findOne" || op == "count") {
    if (!a.is_object()) return Error::invalid("db." + op + ": the query must be an object");
    if (a.empty()) {
      // No filter: the stored texts are the records' JSON already; no parse
      // and re-serialization per record.
      if (op == "count") {
        auto n = countDocuments(collection);
        if (!n) return n.error();
        return std::to_string(*n);
      }
      auto texts = documents(collection, op == "findOne");
      if (!texts) return texts.error();
      if (op == "findOne") return texts->empty() ? std::string("null") : texts->front();
      std::string out = "[";
      for (size_t i = 0; i < texts->size(); ++i) {
        if (i) out += ',';
        out += (*texts)[i];
        if (out.size() > kMaxDbResultBytes) return resultTooLarge("db.find");
      }
      return out + "]";
    }
    auto texts = documents(collection, false);
    if (!texts) return texts.error();
    std::vector<json> found;
    uint64_t foundBytes = 0;
    for (const auto& text : *texts) {
      json record = parseJsonOrDiscarded<json>(text);
      auto ok = matches(record, a);
      if (!ok) return ok.error();
      if (!*ok) continue;
      found.push_back(std::move(record));
      if (op == "findOne") break;
      if ((foundBytes += text.size()) > kMaxDbResultBytes && op == "find") return resultTooLarge("db.find");
    }
    if (op == "count") return std::to_string(found.size());
    if (op == "findOne") return found.empty() ? std::string("null") : found.front().dump();
    return json(found).dump();
  }
  if (op == "insert") {
    if (!a.is_object()) return Error::invalid("db.insert: the record must be an object");
    // As Sodium's: a record without a truthy id gets a UUID; the record is
    // stored and answered as given (the times live beside it, not in it).
    const json* id = a.contains("id") ? &a["id"] : nullptr;
    if (!id || id->is_null() || (id->is_boolean() && !id->get<bool>()) || (id->is_string() && id->get<std::string>().empty()) || (id->is_number() && id->get<double>() == 0)) {
      a["id"] = randomUuid();
    }
    auto key = idKey(a["id"]);
    if (!key) return Error::invalid("db.insert: " + key.error().message);
    const std::string now = utcNowMillis();
    if (auto s = insertDocument(collection, *key, a.dump(), now); !s) {
      if (s.error().kind == ErrorKind::kConflict) return Error::conflict("db.insert: \"" + collection + "\" already has a record with id " + a["id"].dump());
      return s.error();
    }
    return a.dump();
  }
  if (op == "update") {
    auto key = idKey(a);
    if (!key) return Error::invalid("db.update: " + key.error().message);
    if (!b.is_object()) return Error::invalid("db.update: the changes must be an object");
    auto text = document(collection, *key);
    if (!text) return text.error();
    if (!*text) return std::string("null");
    json record = parseJsonOrDiscarded<json>(**text);
    // Sodium's {...record, ...changes}, but the id stays: it is the key.
    for (const auto& [k, v] : b.items()) {
      if (k != "id") record[k] = v;
    }
    if (auto s = replaceDocument(collection, *key, record.dump(), utcNowMillis()); !s) return s.error();
    return record.dump();
  }
  if (op == "delete") {
    auto key = idKey(a);
    if (!key) return Error::invalid("db.delete: " + key.error().message);
    auto deleted = deleteDocument(collection, *key);
    if (!deleted) return deleted.error();
    return std::string(*deleted ? "true" : "false");
  }
  return Error::unsupported("db." + op + " is not available");
}

}  // namespace patchbay
