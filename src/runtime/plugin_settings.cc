#include "runtime/plugin_settings.h"

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

Result<std::string> PluginSettings::get(const std::string& key) {
  const SettingSpec* spec = manifest_.setting(key);
  if (!spec) return std::string("null");
  auto stored = db_.setting(key);
  if (!stored) return stored.error();
  if (*stored) return **stored;
  return defaultOf(*spec).dump();
}

Status PluginSettings::set(const std::string& key, const std::string& valueJson) {
  const SettingSpec* spec = manifest_.setting(key);
  if (!spec) {
    std::string known;
    for (const auto& s : manifest_.settings) known += (known.empty() ? "" : ", ") + s.key;
    return Error::invalid("no setting \"" + key + "\" in the manifest (settings: " + (known.empty() ? "none" : known) + ")");
  }
  json value = parseJsonOrDiscarded<json>(valueJson);
  if (value.is_discarded()) return Error::invalid("setting \"" + key + "\": the value is not JSON");
  if (auto s = validate(*spec, value); !s) return s;
  return db_.storeSetting(key, value.is_null() ? std::nullopt : std::optional<std::string>(value.dump()));
}

Result<std::string> PluginSettings::getAll(bool maskSecrets) {
  json out = json::object();
  for (const auto& s : manifest_.settings) {
    auto v = get(s.key);
    if (!v) return v.error();
    json value = parseJsonOrDiscarded<json>(*v);
    out[s.key] = (maskSecrets && s.secret && !value.is_null() && value != "") ? json(kMask) : value;
  }
  return out.dump();
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
