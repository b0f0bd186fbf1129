#include "runtime/plugin_db.h"

#include <nlohmann/json.hpp>

#include "patchbay/integrity.h"

namespace patchbay {

namespace {

using json = nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS _documents (
  collection TEXT NOT NULL,
  id         TEXT NOT NULL,
  data       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (collection, id)
);
)sql";

std::string nowIso() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

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

Result<PluginDb> PluginDb::open(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return db.error();
  if (auto s = db->exec(kSchema); !s) return s.error();
  return PluginDb(std::move(*db));
}

Result<std::string> PluginDb::call(const std::string& op, const std::string& collection, const std::string& arg1,
                                   const std::string& arg2) {
  json a = json::parse(arg1, nullptr, false), b = json::parse(arg2, nullptr, false);
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
  if (!collections_.count(collection)) {
    return Error::invalid("db." + op + ": collection \"" + collection + "\" is not registered (call db.registerCollections first)");
  }

  auto loadAll = [&](const json& query) -> Result<std::vector<json>> {
    if (!query.is_object()) return Error::invalid("db." + op + ": the query must be an object");
    auto st = db_.prepare("SELECT data FROM _documents WHERE collection = ? ORDER BY created_at, rowid");
    if (!st) return st.error();
    st->bind(1, collection);
    std::vector<json> out;
    while (st->step()) {
      json record = json::parse(st->getText(0), nullptr, false);
      auto ok = matches(record, query);
      if (!ok) return ok.error();
      if (*ok) out.push_back(std::move(record));
    }
    if (!st->status()) return st->status().error();
    return out;
  };

  if (op == "find" || op == "findOne" || op == "count") {
    auto found = loadAll(a);
    if (!found) return found.error();
    if (op == "count") return std::to_string(found->size());
    if (op == "findOne") return found->empty() ? std::string("null") : found->front().dump();
    return json(*found).dump();
  }
  if (op == "insert") {
    if (!a.is_object()) return Error::invalid("db.insert: the record must be an object");
    if (!a.contains("id") || a["id"].is_null()) a["id"] = randomUuid();
    auto key = idKey(a["id"]);
    if (!key) return Error::invalid("db.insert: " + key.error().message);
    const std::string now = nowIso();
    a["created_at"] = now;
    a["updated_at"] = now;
    auto st = db_.prepare("INSERT INTO _documents (collection, id, data, created_at, updated_at) VALUES (?,?,?,?,?)");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, *key).bind(3, a.dump()).bind(4, now).bind(5, now);
    if (auto s = st->run(); !s) {
      if (s.error().message.find("UNIQUE") != std::string::npos) {
        return Error::conflict("db.insert: \"" + collection + "\" already has a record with id " + a["id"].dump());
      }
      return s.error();
    }
    return a.dump();
  }
  if (op == "update") {
    auto key = idKey(a);
    if (!key) return Error::invalid("db.update: " + key.error().message);
    if (!b.is_object()) return Error::invalid("db.update: the changes must be an object");
    auto st = db_.prepare("SELECT data FROM _documents WHERE collection = ? AND id = ?");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, *key);
    if (!st->step()) return std::string("null");
    json record = json::parse(st->getText(0), nullptr, false);
    for (const auto& [k, v] : b.items()) {
      if (k == "id" || k == "created_at" || k == "updated_at") continue;  // kept by the store
      record[k] = v;
    }
    record["updated_at"] = nowIso();
    auto up = db_.prepare("UPDATE _documents SET data = ?, updated_at = ? WHERE collection = ? AND id = ?");
    if (!up) return up.error();
    up->bind(1, record.dump()).bind(2, record["updated_at"].get<std::string>()).bind(3, collection).bind(4, *key);
    if (auto s = up->run(); !s) return s.error();
    return record.dump();
  }
  if (op == "delete") {
    auto key = idKey(a);
    if (!key) return Error::invalid("db.delete: " + key.error().message);
    auto st = db_.prepare("DELETE FROM _documents WHERE collection = ? AND id = ?");
    if (!st) return st.error();
    st->bind(1, collection).bind(2, *key);
    if (auto s = st->run(); !s) return s.error();
    return std::string(db_.changes() > 0 ? "true" : "false");
  }
  return Error::unsupported("db." + op + " is not available");
}

}  // namespace patchbay
