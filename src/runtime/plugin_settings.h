// A plugin's settings (sodium.config and the admin settings API): values
// stored in the plugin's own database, validated against the manifest's
// settings schema, defaults from the manifest.
#pragma once

#include <string>

#include "patchbay/manifest.h"
#include "patchbay/result.h"
#include "patchbay/store.h"

namespace patchbay {

class PluginSettings {
 public:
  // `db` is the plugin's database (PluginDb's file); the table is created if missing.
  PluginSettings(const Manifest& manifest, Database& db) : manifest_(manifest), db_(db) {}

  // The value as JSON: the stored one, else the manifest's default, else null
  // (also null for a key the schema does not know).
  Result<std::string> get(const std::string& key);
  // Validates against the schema (type, select options) and stores at once.
  // Errors name the key and the rule.
  Status set(const std::string& key, const std::string& valueJson);
  // Every setting of the schema as a JSON object; with maskSecrets, secret
  // settings that have a value show "********".
  Result<std::string> getAll(bool maskSecrets);
  // {"key": {"type", "label", "description", "default", "options", "secret", "required"}}
  std::string schemaJson() const;

  static constexpr const char* kSchemaSql =
      "CREATE TABLE IF NOT EXISTS _settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)";
  static constexpr const char* kMask = "********";

 private:
  const Manifest& manifest_;
  Database& db_;
};

}  // namespace patchbay
