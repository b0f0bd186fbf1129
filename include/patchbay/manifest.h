// patchbay/manifest.h — the plugin manifest: one model for plugin.json
// (seed 004, the Sodium panel's format) and metadata.json (seeds 000-002).
//
// parseManifest() checks every field and reports every problem at once;
// each problem names the file, the field path and the rule:
//   plugin.json: settings.currency.default: must be one of "USD", "EUR", "GBP"; got "JPY"
// Unknown top-level fields are kept out of the model and reported as
// warnings, so manifests written for other panels still load.
//
// Reference: docs/manifest.md (every field, with examples that the tests run).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "patchbay/semver.h"

namespace patchbay {

// The seed 004 kinds. A manifest may instead use a free category word
// ("utility", "integration", ...), which is kept in Manifest::type.
enum class PluginKind { kHook, kWidget, kFeature, kTheme, kOther };

// A setting's value: absent, text, number or boolean.
using SettingValue = std::variant<std::monostate, std::string, double, bool>;

struct SettingSpec {
  enum class Type { kString, kNumber, kBoolean, kSelect };
  std::string key;
  Type type = Type::kString;
  std::string label;        // defaults to the key
  std::string description;
  SettingValue defaultValue;
  std::vector<std::string> options;  // kSelect only
  bool secret = false;      // never shown to non-admins, never logged
  bool required = false;
};

// "string", "number", "boolean", "select": the words manifests use.
const char* settingTypeName(SettingSpec::Type type);

struct PluginRequirement {
  std::string id;
  std::string range = "*";  // npm range the required plugin's version must satisfy
};

struct Manifest {
  std::string file;  // "plugin.json" or "metadata.json"
  std::string id;
  std::string name;
  Version version;
  std::string description;
  std::string author;
  std::string license;
  std::string icon;
  std::string category;
  double price = 0;
  std::string type;  // as written ("hook", "utility", ...); empty if absent
  PluginKind kind = PluginKind::kOther;
  // Host compatibility, e.g. "sodium": ">=1.0.0". hostKey is the field name
  // used ("sodium", "patchbay", or "engines.<name>"); empty when absent.
  std::string hostKey;
  std::string hostRange;
  std::vector<PluginRequirement> requiredPlugins;
  std::vector<std::string> permissions;
  std::vector<std::string> hooks;
  std::vector<SettingSpec> settings;
  struct Backend {
    std::vector<std::string> routes, models, dependencies;
  } backend;
  struct Frontend {
    std::vector<std::string> routes, components, dependencies;
  } frontend;
  std::vector<std::string> extensionPoints;

  bool hasPermission(std::string_view p) const;
  const SettingSpec* setting(std::string_view key) const;
};

struct ManifestProblem {
  std::string file;     // "plugin.json"
  std::string path;     // "settings.currency.default"; empty for the whole file
  std::string message;  // the rule that was broken
  std::string toString() const;  // "plugin.json: settings.currency.default: ..."
};

struct ManifestReport {
  std::optional<Manifest> manifest;  // set when there are no errors
  std::vector<ManifestProblem> errors;
  std::vector<ManifestProblem> warnings;
  bool ok() const { return errors.empty(); }
  // All errors, one a line.
  std::string errorText() const;
};

struct ManifestSource {
  std::string fileName = "plugin.json";  // "plugin.json" or "metadata.json"
  // Name of the folder the manifest sits in, or the id from a package's
  // file name. plugin.json may leave "id" out (it is then this name) and,
  // when given, "id" must equal it. Empty when unknown.
  std::string folderName;
  // A source folder (what `patchbay pack` reads) is named as its author
  // likes: its name stands in for a missing "id" but need not equal one.
  // A host's plugins folder is plugins/<id>, and there it must.
  bool folderNameMustMatch = true;
};

ManifestReport parseManifest(std::string_view jsonText, const ManifestSource& source);

// Reads DIR/plugin.json or DIR/metadata.json (one of them, not both), with
// the folder's name as folderName (which must match "id" unless
// `sourceFolder`: a folder a plugin is written in, not installed in).
ManifestReport loadManifestFromFolder(const std::string& dir, bool sourceFolder = false);

// Manifest file names patchbay looks for, in order.
inline constexpr const char* kManifestFileNames[] = {"plugin.json", "metadata.json"};

// The permissions a manifest may ask for: patchbay/permissions.h.
// The hook points of the reference panel (seed 004). Manifests may name
// others: an embedding application defines its own.
const std::vector<std::string_view>& referenceHookPoints();

// Plugin ids: lowercase letters, digits, "-" and "_", starting with a letter
// or digit, at most 64 characters.
bool isValidPluginId(std::string_view id);

// Seed 000's display name for a plugin without a manifest name:
// "ai_chatbot" -> "Ai Chatbot", "discord-alerts" -> "Discord Alerts".
std::string displayNameFromId(std::string_view id);

}  // namespace patchbay
