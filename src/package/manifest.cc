// Manifest parsing and validation. Every rule adds a problem and goes on, so
// one run reports everything that is wrong.
#include "patchbay/manifest.h"

#include "patchbay/permissions.h"
#include "patchbay/text.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace patchbay {

using json = nlohmann::ordered_json;

namespace {

constexpr size_t kMaxManifestBytes = 1 << 20;
constexpr size_t kMaxIdLength = 64;

// "a string", "a number (42)", ... for messages that say what was found.
std::string describe(const json& v) {
  std::string shown = v.dump();
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean (" + shown + ")";
    case json::value_t::string: return "a string (" + shown + ")";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::binary: return "binary data";
    case json::value_t::discarded: return "nothing";
    default: return "a number (" + shown + ")";
  }
}

std::string quoteList(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", \"" : "\"") + items[i] + "\"";
  return out;
}

// " (did you mean \"servers:read\"?)" when something known is close.
std::string suggestion(std::string_view word, const std::vector<std::string_view>& known) {
  std::string_view best = nearestName(word, known);
  return best.empty() ? "" : " (did you mean \"" + std::string(best) + "\"?)";
}

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

class Checker {
 public:
  Checker(ManifestReport& report, std::string file) : report_(report), file_(std::move(file)) {}

  void error(const std::string& path, std::string message) { report_.errors.push_back({file_, path, std::move(message)}); }
  void warn(const std::string& path, std::string message) { report_.warnings.push_back({file_, path, std::move(message)}); }

  // A string field. Absent: nullopt (an error when required).
  std::optional<std::string> str(const json& obj, const std::string& path, const char* key, bool required,
                                 bool nonEmpty = true) {
    auto it = obj.find(key);
    std::string p = join(path, key);
    if (it == obj.end()) {
      if (required) error(p, "is required");
      return std::nullopt;
    }
    if (!it->is_string()) {
      error(p, std::string("must be a string, got ") + describe(*it));
      return std::nullopt;
    }
    std::string s = it->get<std::string>();
    if (nonEmpty && s.empty()) {
      error(p, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  // A list of non-empty strings.
  std::vector<std::string> strings(const json& v, const std::string& p) {
    std::vector<std::string> out;
    if (!v.is_array()) {
      error(p, "must be an array of strings, got " + describe(v));
      return out;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      std::string ip = p + "[" + std::to_string(i) + "]";
      if (!v[i].is_string()) error(ip, "must be a string, got " + describe(v[i]));
      else if (v[i].get<std::string>().empty()) error(ip, "must not be empty");
      else out.push_back(v[i].get<std::string>());
    }
    return out;
  }

  // A list of strings, or an object name -> version (seed 001's
  // "dependencies": {} form), kept as "name@version".
  std::vector<std::string> dependencies(const json& v, const std::string& p) {
    if (v.is_array()) return strings(v, p);
    std::vector<std::string> out;
    if (!v.is_object()) {
      error(p, "must be an array of strings or an object of name: version, got " + describe(v));
      return out;
    }
    for (auto& [name, ver] : v.items()) {
      if (!ver.is_string()) error(join(p, name), "must be a version string, got " + describe(ver));
      else out.push_back(name + "@" + ver.get<std::string>());
    }
    return out;
  }

 private:
  ManifestReport& report_;
  std::string file_;
};

// Parses JSON, refusing duplicate keys (a second "id" must not silently win)
// and reporting syntax errors with line and column.
std::optional<json> parseJsonStrict(std::string_view text, Checker& check) {
  // Bounded first: every later step (the checks, copies, dumps) recurses.
  if (jsonNestsDeeperThan(text)) {
    check.error("", "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels; a manifest is a few levels deep");
    return std::nullopt;
  }
  std::vector<std::set<std::string>> keysSeen;
  std::vector<std::string> duplicates;
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: keysSeen.emplace_back(); break;
      case json::parse_event_t::object_end: if (!keysSeen.empty()) keysSeen.pop_back(); break;
      case json::parse_event_t::key: {
        const std::string& k = parsed.get_ref<const std::string&>();
        if (!keysSeen.empty() && !keysSeen.back().insert(k).second) duplicates.push_back(k);
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    json doc = json::parse(text.begin(), text.end(), cb);
    for (const auto& k : duplicates) check.error("", "duplicate key \"" + k + "\"");
    if (!duplicates.empty()) return std::nullopt;
    return doc;
  } catch (const json::parse_error& e) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    std::string what = e.what();
    size_t cut = what.find("parse error");
    check.error("", "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) + ": " +
                        (cut == std::string::npos ? what : what.substr(cut)));
    return std::nullopt;
  } catch (const json::exception& e) {  // e.g. out_of_range: a number too large for a double ("1E999")
    std::string what = e.what();
    size_t cut = what.find(']');
    check.error("", "invalid JSON: " + (cut == std::string::npos ? what : what.substr(cut + 2)));
    return std::nullopt;
  }
}

void checkSettings(const json& v, Checker& check, Manifest& m) {
  const std::string p = "settings";
  if (!v.is_object()) {
    check.error(p, "must be an object of setting name: descriptor, got " + describe(v));
    return;
  }
  static const std::set<std::string> kKnownKeys = {"type", "label", "default", "options", "secret",
                                                   "description", "required", "placeholder", "min", "max"};
  for (auto& [key, d] : v.items()) {
    std::string sp = join(p, key);
    if (key.empty()) { check.error(sp, "setting names must not be empty"); continue; }
    if (!d.is_object()) { check.error(sp, "must be an object with \"type\" and \"label\", got " + describe(d)); continue; }
    SettingSpec s;
    s.key = key;
    s.label = key;
    for (auto& [field, _] : d.items()) {
      if (!kKnownKeys.count(field)) check.warn(join(sp, field), "unknown setting field, ignored");
    }
    auto type = check.str(d, sp, "type", true);
    if (type) {
      if (*type == "string" || *type == "text") s.type = SettingSpec::Type::kString;
      else if (*type == "number") s.type = SettingSpec::Type::kNumber;
      else if (*type == "boolean") s.type = SettingSpec::Type::kBoolean;
      else if (*type == "select") s.type = SettingSpec::Type::kSelect;
      else {
        check.error(join(sp, "type"), "must be one of \"string\" (or \"text\"), \"number\", \"boolean\", \"select\"; got \"" + *type + "\"");
        type.reset();
      }
    }
    if (auto label = check.str(d, sp, "label", false)) s.label = *label;
    if (auto desc = check.str(d, sp, "description", false, false)) s.description = *desc;
    for (const char* flag : {"secret", "required"}) {
      if (auto it = d.find(flag); it != d.end()) {
        if (!it->is_boolean()) check.error(join(sp, flag), "must be true or false, got " + describe(*it));
        else (std::string(flag) == "secret" ? s.secret : s.required) = it->get<bool>();
      }
    }
    if (auto it = d.find("options"); it != d.end()) {
      if (type && s.type != SettingSpec::Type::kSelect) check.warn(join(sp, "options"), "only \"select\" settings use options");
      if (!it->is_array()) {
        check.error(join(sp, "options"), "must be an array of strings, got " + describe(*it));
      } else {
        for (size_t i = 0; i < it->size(); ++i) {
          const json& o = (*it)[i];
          std::string op = join(sp, "options") + "[" + std::to_string(i) + "]";
          if (o.is_string()) s.options.push_back(o.get<std::string>());
          else if (o.is_number()) s.options.push_back(o.dump());
          else check.error(op, "must be a string, got " + describe(o));
        }
        std::set<std::string> unique(s.options.begin(), s.options.end());
        if (unique.size() != s.options.size()) check.error(join(sp, "options"), "lists the same option twice");
      }
    } else if (type && s.type == SettingSpec::Type::kSelect) {
      check.error(join(sp, "options"), "is required for a \"select\" setting");
    }
    if (type && s.type == SettingSpec::Type::kSelect && d.contains("options") && d["options"].is_array() && d["options"].empty()) {
      check.error(join(sp, "options"), "must list at least one option");
    }
    if (auto it = d.find("default"); it != d.end() && type && !it->is_null()) {
      std::string dp = join(sp, "default");
      switch (s.type) {
        case SettingSpec::Type::kString:
          if (it->is_string()) s.defaultValue = it->get<std::string>();
          else check.error(dp, "must be a string (the setting's type), got " + describe(*it));
          break;
        case SettingSpec::Type::kNumber:
          if (it->is_number()) s.defaultValue = it->get<double>();
          else check.error(dp, "must be a number (the setting's type), got " + describe(*it));
          break;
        case SettingSpec::Type::kBoolean:
          if (it->is_boolean()) s.defaultValue = it->get<bool>();
          else check.error(dp, "must be true or false (the setting's type), got " + describe(*it));
          break;
        case SettingSpec::Type::kSelect: {
          std::string value = it->is_string() ? it->get<std::string>() : it->dump();
          if (!it->is_string() && !it->is_number()) {
            check.error(dp, "must be one of the options, got " + describe(*it));
          } else if (std::find(s.options.begin(), s.options.end(), value) == s.options.end()) {
            check.error(dp, "must be one of the options (" + quoteList(s.options) + "); got \"" + value + "\"");
          } else {
            s.defaultValue = value;
          }
          break;
        }
      }
    }
    m.settings.push_back(std::move(s));
  }
}

// A section of string lists, seed 001's "backend" and "frontend":
// {"routes": [...], "models": [...], "dependencies": [...] or {...}}.
struct SectionList {
  const char* key;
  std::vector<std::string>* out;
  bool dependencies;  // also accepts an object name -> version
};

void checkSection(const json& doc, const std::string& name, std::initializer_list<SectionList> lists, Checker& check) {
  auto it = doc.find(name);
  if (it == doc.end()) return;
  std::string expected;
  for (const auto& l : lists) expected += (expected.empty() ? "" : ", ") + std::string(l.key);
  if (!it->is_object()) {
    check.error(name, "must be an object with " + expected + "; got " + describe(*it));
    return;
  }
  for (auto& [k, v] : it->items()) {
    const SectionList* list = nullptr;
    for (const auto& l : lists) {
      if (k == l.key) list = &l;
    }
    std::string path = name + "." + k;
    if (!list) check.warn(path, "unknown field, ignored");
    else *list->out = list->dependencies ? check.dependencies(v, path) : check.strings(v, path);
  }
}

bool isValidHookName(std::string_view h) {
  if (h.empty() || h.size() > 128) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '.' ||
           c == '_' || c == '-' || c == '*';
  });
}

bool isValidTypeWord(std::string_view t) {
  if (t.empty() || t.size() > 32 || !(t[0] >= 'a' && t[0] <= 'z')) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; });
}

}  // namespace

bool isValidPluginId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; };
  if (id[0] == '-' || id[0] == '_') return false;
  return std::all_of(id.begin(), id.end(), ok);
}

std::string displayNameFromId(std::string_view id) {
  std::string out;
  bool startOfWord = true;
  for (char c : id) {
    if (c == '_' || c == '-') {
      if (!out.empty() && out.back() != ' ') out += ' ';
      startOfWord = true;
      continue;
    }
    out += (startOfWord && c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    startOfWord = false;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

const std::vector<std::string_view>& referenceHookPoints() {
  static const std::vector<std::string_view> kHooks = {
      "server:beforeCreate", "server:onCreate",  "server:onDelete", "server:onStatusChange",
      "server:resourceUsage", "auth:afterLogin", "auth:afterRegister", "route:register",
      "ws:message",          "db:afterSave",     "sidebar:items",   "admin:tabs"};
  return kHooks;
}

const char* settingTypeName(SettingSpec::Type t) {
  switch (t) {
    case SettingSpec::Type::kString: return "string";
    case SettingSpec::Type::kNumber: return "number";
    case SettingSpec::Type::kBoolean: return "boolean";
    case SettingSpec::Type::kSelect: return "select";
  }
  return "string";
}

bool Manifest::hasPermission(std::string_view p) const {
  return std::find(permissions.begin(), permissions.end(), p) != permissions.end();
}

const SettingSpec* Manifest::setting(std::string_view key) const {
  for (const auto& s : settings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string ManifestProblem::toString() const {
  std::string out = file;
  if (!path.empty()) out += ": " + path;
  return out + ": " + message;
}

std::string ManifestReport::errorText() const {
  std::string out;
  for (const auto& e : errors) out += e.toString() + "\n";
  return out;
}

ManifestReport parseManifest(std::string_view text, const ManifestSource& source) {
  ManifestReport report;
  Checker check(report, source.fileName);
  if (text.size() > kMaxManifestBytes) {
    check.error("", "is " + std::to_string(text.size()) + " bytes; a manifest may be at most 1 MiB");
    return report;
  }
  auto parsed = parseJsonStrict(text, check);
  if (!parsed) return report;
  const json& doc = *parsed;
  if (!doc.is_object()) {
    check.error("", "must be a JSON object, got " + describe(doc));
    return report;
  }

  Manifest m;
  m.file = source.fileName;
  const bool sodiumStyle = source.fileName == "plugin.json";

  // id: required in metadata.json; in plugin.json it may be left out and is
  // then the folder's name (Sodium), and when given must match it.
  if (auto id = check.str(doc, "", "id", !sodiumStyle || source.folderName.empty())) {
    if (!isValidPluginId(*id)) {
      check.error("id", "\"" + *id + "\" is not a valid plugin id: use 1-64 lowercase letters, digits, \"-\" and \"_\", starting with a letter or digit");
    } else if (sodiumStyle && source.folderNameMustMatch && !source.folderName.empty() && *id != source.folderName) {
      check.error("id", "is \"" + *id + "\" but the plugin's folder is \"" + source.folderName + "\"; they must match");
    }
    m.id = *id;
  } else if (!doc.contains("id") && sodiumStyle && !source.folderName.empty()) {
    if (isValidPluginId(source.folderName)) m.id = source.folderName;
    else check.error("id", "is missing and the folder name \"" + source.folderName + "\" is not a valid plugin id");
  }

  if (auto name = check.str(doc, "", "name", true)) m.name = *name;
  if (auto ver = check.str(doc, "", "version", true)) {
    auto v = Version::parse(*ver);
    if (!v) check.error("version", "\"" + *ver + "\" is not a SemVer 2.0 version (MAJOR.MINOR.PATCH, e.g. \"1.0.0\")");
    else if (!v->build.empty()) check.error("version", "\"" + *ver + "\" carries build metadata (\"+...\"); package versions must not, so that each version names one package");
    else m.version = v.value();
  }
  if (auto s = check.str(doc, "", "description", false, false)) m.description = *s;
  if (auto it = doc.find("author"); it != doc.end()) {
    if (it->is_string()) m.author = it->get<std::string>();
    else if (it->is_object() && it->contains("name") && (*it)["name"].is_string()) m.author = (*it)["name"].get<std::string>();
    else check.error("author", "must be a string or an object with \"name\", got " + describe(*it));
  }
  if (auto s = check.str(doc, "", "license", false)) m.license = *s;
  if (auto s = check.str(doc, "", "icon", false, false)) m.icon = *s;
  if (auto s = check.str(doc, "", "category", false)) m.category = *s;
  if (auto it = doc.find("price"); it != doc.end()) {
    if (!it->is_number() || it->get<double>() < 0) check.error("price", "must be a number of at least 0, got " + describe(*it));
    else m.price = it->get<double>();
  }
  if (auto t = check.str(doc, "", "type", false)) {
    m.type = *t;
    if (*t == "hook") m.kind = PluginKind::kHook;
    else if (*t == "widget") m.kind = PluginKind::kWidget;
    else if (*t == "feature") m.kind = PluginKind::kFeature;
    else if (*t == "theme") m.kind = PluginKind::kTheme;
    else if (!isValidTypeWord(*t)) check.error("type", "must be \"hook\", \"widget\", \"feature\", \"theme\" or a lowercase category word like \"utility\"; got \"" + *t + "\"");
  }

  // Host range: "sodium": ">=1.0.0" (seed 004), "patchbay": "...", or engines.{name}.
  std::vector<std::pair<std::string, const json*>> hostFields;
  for (const char* key : {"sodium", "patchbay"}) {
    if (auto it = doc.find(key); it != doc.end()) hostFields.emplace_back(key, &*it);
  }
  if (auto it = doc.find("engines"); it != doc.end()) {
    if (!it->is_object()) check.error("engines", "must be an object of host name: version range, got " + describe(*it));
    else for (auto& [k, v] : it->items()) hostFields.emplace_back("engines." + k, &v);
  }
  if (hostFields.size() > 1) check.error(hostFields[1].first, "a second host range; give the host range once (\"" + hostFields[0].first + "\" is already set)");
  if (!hostFields.empty()) {
    const auto& [key, v] = hostFields[0];
    if (!v->is_string()) {
      check.error(key, "must be a version range string like \">=1.0.0\", got " + describe(*v));
    } else if (auto r = Range::parse(v->get<std::string>()); !r) {
      check.error(key, r.error().message);
    } else {
      m.hostKey = key;
      m.hostRange = v->get<std::string>();
    }
  }

  if (auto it = doc.find("requires"); it != doc.end()) {
    std::set<std::string> seen;
    auto add = [&](const std::string& path, const std::string& id, const std::string& range) {
      if (!isValidPluginId(id)) { check.error(path, "\"" + id + "\" is not a valid plugin id"); return; }
      if (id == m.id) { check.error(path, "a plugin cannot require itself"); return; }
      if (!seen.insert(id).second) { check.error(path, "requires \"" + id + "\" twice"); return; }
      if (auto r = Range::parse(range); !r) { check.error(path, r.error().message); return; }
      m.requiredPlugins.push_back({id, range});
    };
    if (it->is_array()) {
      for (size_t i = 0; i < it->size(); ++i) {
        std::string p = "requires[" + std::to_string(i) + "]";
        if (!(*it)[i].is_string()) check.error(p, "must be a plugin id, got " + describe((*it)[i]));
        else add(p, (*it)[i].get<std::string>(), "*");
      }
    } else if (it->is_object()) {
      for (auto& [id, range] : it->items()) {
        if (!range.is_string()) check.error("requires." + id, "must be a version range string, got " + describe(range));
        else add("requires." + id, id, range.get<std::string>());
      }
    } else {
      check.error("requires", "must be a list of plugin ids or an object of id: version range, got " + describe(*it));
    }
  }

  if (auto it = doc.find("permissions"); it != doc.end()) {
    auto list = check.strings(*it, "permissions");
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      static const std::vector<std::string_view> known = [] {
        std::vector<std::string_view> names;
        for (const auto& p : permissionTable()) names.push_back(p.name);
        return names;
      }();
      if (!findPermission(list[i])) {
        check.error("permissions", "unknown permission \"" + list[i] + "\"" + suggestion(list[i], known) +
                                       "; see docs/manifest.md for the list");
      } else if (!seen.insert(list[i]).second) {
        check.warn("permissions", "\"" + list[i] + "\" is listed twice");
      } else {
        m.permissions.push_back(list[i]);
      }
    }
  }

  if (auto it = doc.find("hooks"); it != doc.end()) {
    for (const auto& h : check.strings(*it, "hooks")) {
      if (!isValidHookName(h)) {
        check.error("hooks", "\"" + h + "\" is not a hook name (letters, digits and \":._-*\", like \"server:onCreate\")");
      } else if (std::find(m.hooks.begin(), m.hooks.end(), h) != m.hooks.end()) {
        check.warn("hooks", "\"" + h + "\" is listed twice");
      } else {
        m.hooks.push_back(h);
      }
    }
  }

  if (auto it = doc.find("settings"); it != doc.end()) checkSettings(*it, check, m);

  checkSection(doc, "backend", {{"routes", &m.backend.routes, false}, {"models", &m.backend.models, false},
                                 {"dependencies", &m.backend.dependencies, true}}, check);
  checkSection(doc, "frontend", {{"routes", &m.frontend.routes, false}, {"components", &m.frontend.components, false},
                                  {"dependencies", &m.frontend.dependencies, true}}, check);
  for (const char* key : {"extensionPoints", "extension_points"}) {
    if (auto it = doc.find(key); it != doc.end()) m.extensionPoints = check.strings(*it, key);
  }

  static const std::set<std::string> kKnown = {
      "id", "name", "version", "description", "author", "license", "icon", "category", "price", "type",
      "sodium", "patchbay", "engines", "requires", "permissions", "hooks", "settings", "backend", "frontend",
      "extensionPoints", "extension_points", "$schema", "homepage", "repository", "keywords", "tags", "screenshots"};
  for (auto& [k, _] : doc.items()) {
    if (!kKnown.count(k)) check.warn(k, "unknown field, ignored");
  }

  if (report.errors.empty()) report.manifest = std::move(m);
  return report;
}

ManifestReport loadManifestFromFolder(const std::string& dir, bool sourceFolder) {
  namespace fs = std::filesystem;
  ManifestReport report;
  std::vector<std::string> found;
  for (const char* name : kManifestFileNames) {
    std::error_code ec;
    if (fs::is_regular_file(fs::path(dir) / name, ec)) found.push_back(name);
  }
  if (found.empty()) {
    report.errors.push_back({dir, "", "no plugin.json or metadata.json in this folder"});
    return report;
  }
  if (found.size() > 1) {
    report.errors.push_back({dir, "", "has both plugin.json and metadata.json; keep one manifest"});
    return report;
  }
  fs::path file = fs::path(dir) / found[0];
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    report.errors.push_back({file.string(), "", "cannot be read"});
    return report;
  }
  // The folder's name as given, links not followed: an installed plugin is
  // plugins/<id>, a link to plugins/.versions/<id>@<version>-<op>.
  fs::path named = fs::absolute(dir).lexically_normal();
  if (named.filename().empty()) named = named.parent_path();
  std::string folderName = named.filename().string();
  return parseManifest(text.str(), {found[0], folderName, !sourceFolder});
}

}  // namespace patchbay
