// A plugin's settings (sodium.config and the admin settings API): values
// stored in the plugin's own database, validated against the manifest's
// settings schema, defaults from the manifest.
#pragma once

#include <optional>
#include <string>

#include "patchbay/manifest.h"
#include "patchbay/result.h"
#include "runtime/plugin_db.h"

namespace patchbay {

// Sodium keeps free key/values per plugin (config.set('lastSyncTime', ...)),
// and the manifest may declare some of them: those are validated against
// their type and have their defaults; any other key takes any JSON value.
class PluginSettings {
 public:
  // `db` is the plugin's data (its SQLite file or PostgreSQL schema).
  PluginSettings(const Manifest& manifest, PluginDb& db) : manifest_(manifest), db_(db) {}

  // The value as JSON: the stored one, else the manifest's default; nullopt
  // when there is neither (the plugin sees undefined, as in Sodium).
  Result<std::optional<std::string>> get(const std::string& key);
  // Stores the value at once (nullopt removes the key: its default applies
  // again). A declared key is validated against the schema (type, select
  // options, required); another takes any JSON value of at most
  // kMaxValueBytes. Errors name the key and the rule, never the value.
  Status set(const std::string& key, const std::optional<std::string>& valueJson);
  // What the plugin's config.getAll() gives: the stored values and the
  // declared defaults of keys without one, as a JSON object ("{}" when
  // there are neither).
  Result<std::string> values();
  // What administrators see: every declared setting (null when it has no
  // value and no default), then the other stored keys; with maskSecrets,
  // secret settings that have a value show "********".
  Result<std::string> getAll(bool maskSecrets);
  // {"key": {"type", "label", "description", "default", "options", "secret", "required"}}
  std::string schemaJson() const;

  static constexpr const char* kMask = "********";
  // A key's length and one value's JSON: settings, not data (sodium.db
  // holds data).
  static constexpr size_t kMaxKeyBytes = 256;
  static constexpr size_t kMaxValueBytes = 64u << 10;

 private:
  const Manifest& manifest_;
  PluginDb& db_;
};

}  // namespace patchbay
