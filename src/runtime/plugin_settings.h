// A plugin's settings (sodium.config and the admin settings API): values
// stored in the plugin's own database, validated against the manifest's
// settings schema, defaults from the manifest.
#pragma once

#include <string>

#include "patchbay/manifest.h"
#include "patchbay/result.h"
#include "runtime/plugin_db.h"

namespace patchbay {

class PluginSettings {
 public:
  // `db` is the plugin's data (its SQLite file or PostgreSQL schema).
  PluginSettings(const Manifest& manifest, PluginDb& db) : manifest_(manifest), db_(db) {}

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

  static constexpr const char* kMask = "********";

 private:
  const Manifest& manifest_;
  PluginDb& db_;
};

}  // namespace patchbay
