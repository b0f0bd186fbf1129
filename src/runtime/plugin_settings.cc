#include "runtime/plugin_settings.h"

#include <map>
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "patchbay/runtime.h"

namespace patchbay {

namespace {

using json = nlohmann::ordered_json;

json defaultOf(const SettingSpec& s) {
  if (auto* v = std::get_if<std::string>(&s.defaultValue)) return *v;
  if (auto* v = std::get_if<double>(&s.defaultValue)) return *v;
  if (auto* v = std::get_if<bool>(&s.defaultValue)) return *v;
  return nullptr;
}

// What a rejected value was, by its kind only: the message reaches the
// caller, logs and the audit log, and a value (a secret) must never.
std::string kindOf(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a number";
  }
}

Status validate(const SettingSpec& s, const json& v) {
  auto wrong = [&](const std::string& rule) { return Error::invalid("setting \"" + s.key + "\": " + rule + ", got " + kindOf(v)); };
  if (v.is_null()) {
    if (s.required) return wrong("is required");
    return {};
  }
  switch (s.type) {
    case SettingSpec::Type::kString:
      if (!v.is_string()) return wrong("must be a string");
      break;
    case SettingSpec::Type::kNumber:
      if (!v.is_number()) return wrong("must be a number");
      break;
    case SettingSpec::Type::kBoolean:
      if (!v.is_boolean()) return wrong("must be true or false");
      break;
    case SettingSpec::Type::kSelect:
      if (!v.is_string() || std::find(s.options.begin(), s.options.end(), v.get<std::string>()) == s.options.end()) {
        std::string options;
        for (const auto& o : s.options) options += (options.empty() ? "" : ", ") + o;
        return v.is_string() ? Error::invalid("setting \"" + s.key + "\": must be one of " + options + ", got another string")
                             : wrong("must be one of " + options);
      }
      break;
  }
  return {};
}

}  // namespace

Result<std::optional<std::string>> PluginSettings::get(const std::string& key) {
  auto stored = db_.setting(key);
  if (!stored) return stored.error();
  if (*stored) return *stored;
  const SettingSpec* spec = manifest_.setting(key);
  json fallback = spec ? defaultOf(*spec) : json();
  if (fallback.is_null()) return std::optional<std::string>();
  return std::optional<std::string>(fallback.dump());
}

Status PluginSettings::set(const std::string& key, const std::optional<std::string>& valueJson) {
  if (key.empty()) return Error::invalid("a setting's key must not be empty");
  if (key.size() > kMaxKeyBytes) return Error::limit("a setting's key is longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  const SettingSpec* spec = manifest_.setting(key);
  if (!valueJson) {
    if (spec && spec->required && defaultOf(*spec).is_null()) return Error::invalid("setting \"" + key + "\": is required");
    return db_.storeSetting(key, std::nullopt);
  }
  if (!spec && valueJson->size() > kMaxValueBytes) {
    return Error::limit("setting \"" + key + "\": the value is " + std::to_string(valueJson->size()) + " bytes of JSON, more than the " +
                        std::to_string(kMaxValueBytes >> 10) + " KiB a setting holds (keep data in sodium.db)");
  }
  json value = parseJsonOrDiscarded<json>(*valueJson);
  if (value.is_discarded()) return Error::invalid("setting \"" + key + "\": the value is not JSON");
  if (!spec) return db_.storeSetting(key, value.dump());
  if (auto s = validate(*spec, value); !s) return s;
  // A declared setting set to null goes back to its default.
  return db_.storeSetting(key, value.is_null() ? std::nullopt : std::optional<std::string>(value.dump()));
}

namespace {

// The stored settings, by key.
Result<std::map<std::string, json>> storedSettings(PluginDb& db) {
  auto stored = db.settings();
  if (!stored) return stored.error();
  std::map<std::string, json> byKey;
  for (const auto& [key, value] : *stored) byKey[key] = parseJsonOrDiscarded<json>(value);
  return byKey;
}

// Both views: the declared settings first, in the manifest's order, then
// the other stored keys. The plugin's view leaves out a declared key with
// neither a value nor a default (it reads undefined); the administrators'
// shows it as null, and masks secrets when asked.
enum class View { kPlugin, kAdmin, kAdminMasked };

Result<std::string> settingsView(const Manifest& manifest, PluginDb& db, View view) {
  auto byKey = storedSettings(db);
  if (!byKey) return byKey.error();
  json out = json::object();
  for (const auto& s : manifest.settings) {
    auto it = byKey->find(s.key);
    const bool stored = it != byKey->end();
    json value = stored ? std::move(it->second) : defaultOf(s);
    if (stored) byKey->erase(it);
    if (view == View::kPlugin && !stored && value.is_null()) continue;
    const bool masked = view == View::kAdminMasked && s.secret && !value.is_null() && value != "";
    out[s.key] = masked ? json(PluginSettings::kMask) : std::move(value);
  }
  for (auto& [key, value] : *byKey) out[key] = std::move(value);
  return out.dump();
}

}  // namespace

Result<std::string> PluginSettings::values() { return settingsView(manifest_, db_, View::kPlugin); }

Result<std::string> PluginSettings::getAll(bool maskSecrets) {
  return settingsView(manifest_, db_, maskSecrets ? View::kAdminMasked : View::kAdmin);
}

std::string PluginSettings::schemaJson() const { return settingsSchemaJson(manifest_); }

std::string settingsSchemaJson(const Manifest& manifest) {
  json out = json::object();
  for (const auto& s : manifest.settings) {
    json spec = {{"type", settingTypeName(s.type)}, {"label", s.label.empty() ? s.key : s.label}, {"default", defaultOf(s)}};
    if (!s.description.empty()) spec["description"] = s.description;
    if (!s.options.empty()) spec["options"] = s.options;
    if (s.secret) spec["secret"] = true;
    if (s.required) spec["required"] = true;
    out[s.key] = spec;
  }
  return out.dump();
}

}  // namespace patchbay
