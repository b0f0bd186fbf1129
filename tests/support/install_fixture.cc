#include "support/install_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "patchbay/integrity.h"
#include "patchbay/package.h"
#include "patchbay/postgres.h"
#include "patchbay/store.h"
#include "support/postgres_server.h"
#include "support/test_util.h"

namespace patchbay::test {

namespace fs = std::filesystem;
using nlohmann::json;

std::string makePackage(const fs::path& workDir, const fs::path& modulesDir, const std::string& id, const std::string& version,
                        const std::map<std::string, std::string>& files, const std::string& extraManifestJson) {
  fs::path src = workDir / ("src-" + id + "-" + version) / id;
  fs::remove_all(src);
  json manifest = {{"id", id}, {"name", id}, {"version", version}, {"description", "test plugin " + id}};
  json extra = json::parse(extraManifestJson);
  for (auto& [k, v] : extra.items()) manifest[k] = v;
  writeFile(src / "plugin.json", manifest.dump(2));
  if (!files.count("server.js")) writeFile(src / "server.js", "export default function (sodium) { /* " + id + " " + version + " */ }\n");
  for (const auto& [path, content] : files) writeFile(src / path, content);
  fs::create_directories(modulesDir);
  auto packed = packFolder(src.string(), modulesDir.string());
  EXPECT_TRUE(packed.ok()) << packed.error().message;
  return packed.ok() ? packed->path : "";
}

void makeNotesPackages(const fs::path& workDir, const fs::path& modulesDir) {
  std::map<std::string, std::string> files = {
      {"server.js",
       "export default function (sodium) {\n"
       "  sodium.http.registerRoutes((r) => r.get('/notes', () => sodium.db.sql('SELECT * FROM notes ORDER BY id')));\n"
       "}\n"},
      {"migrations/up.sql", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\nINSERT INTO notes (id, body) VALUES (1, 'welcome');\n"},
      {"migrations/down.sql", "DROP TABLE IF EXISTS notes;\n"},
      {"README.md", "# Notes\n"},
  };
  for (int i = 0; i < 12; ++i) files["assets/part" + std::to_string(i) + ".txt"] = std::string(2000 + i * 97, static_cast<char>('a' + i));
  makePackage(workDir, modulesDir, "notes", "1.0.0", files);
  files["migrations/0001_tags.up.sql"] = "ALTER TABLE notes ADD COLUMN tag TEXT;\nCREATE TABLE tags (name TEXT PRIMARY KEY);\n";
  files["migrations/0001_tags.down.sql"] = "DROP TABLE tags;\nALTER TABLE notes DROP COLUMN tag;\n";
  files["assets/part0.txt"] = "changed in 1.1.0";
  makePackage(workDir, modulesDir, "notes", "1.1.0", files);
  files["migrations/0002_pins.up.sql"] = "CREATE TABLE pins (note INTEGER NOT NULL);\nINSERT INTO pins VALUES (1);\n";
  files["migrations/0002_pins.down.sql"] = "DROP TABLE pins;\n";
  files["assets/part1.txt"] = "changed in 2.0.0";
  files.erase("assets/part11.txt");
  makePackage(workDir, modulesDir, "notes", "2.0.0", files);
}

namespace {

std::string treeDigest(const fs::path& dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = fs::relative(it->path(), dir).string();
    if (it->is_symlink()) {
      lines.push_back(rel + " -> link");
    } else if (it->is_directory()) {
      lines.push_back(rel + "/");
    } else {
      lines.push_back(rel + " " + sha256Hex(readFile(it->path())));
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return sha256Hex(out).substr(0, 16) + " (" + std::to_string(lines.size()) + " entries)";
}

std::string databaseDump(const fs::path& file) {
  auto db = Database::open(file.string());
  if (!db) return "unreadable: " + db.error().message + "\n";
  std::ostringstream out;
  auto tables = db->prepare("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name");
  std::vector<std::pair<std::string, std::string>> list;
  while (tables && tables->step()) list.emplace_back(tables->getText(0), tables->getText(1));
  for (const auto& [name, sql] : list) {
    out << "  table " << name << ": " << sql << "\n";
    if (name.starts_with("sqlite_") || name == "_patchbay_operations" || sql.empty() || sql.starts_with("CREATE INDEX")) continue;
    const bool migrations = name == "_patchbay_migrations";
    auto rows = db->prepare(migrations ? "SELECT step FROM _patchbay_migrations ORDER BY step" : "SELECT * FROM \"" + name + "\" ORDER BY 1");
    if (!rows) {
      out << "    unreadable\n";
      continue;
    }
    while (rows->step()) {
      out << "    row:";
      for (int c = 0; c < rows->columnCount(); ++c) out << " " << rows->getText(c);
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace

std::string installSnapshot(const fs::path& dataDir) {
  std::ostringstream out;
  std::error_code ec;
  const fs::path plugins = dataDir / "plugins";
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(plugins, ec)) entries.push_back(e.path().filename().string());
  std::sort(entries.begin(), entries.end());
  for (const auto& name : entries) {
    fs::path p = plugins / name;
    if (name == ".versions") {
      std::vector<std::string> versions;
      for (const auto& v : fs::directory_iterator(p, ec)) {
        std::string n = v.path().filename().string();
        versions.push_back(n.substr(0, n.size() - 20) + " " + treeDigest(v.path()));  // without "-<op>" (YYYY-MM-DD-xxxxxxxx)
      }
      std::sort(versions.begin(), versions.end());
      for (const auto& v : versions) out << "version folder " << v << "\n";
    } else if (fs::is_symlink(p, ec)) {
      fs::path target = fs::read_symlink(p, ec);
      std::string t = target.filename().string();
      out << "link " << name << " -> " << t.substr(0, t.find('@') + 1) << (fs::exists(p) ? treeDigest(p) : "dangling") << "\n";
    } else {
      out << "entry " << name << "\n";
    }
  }
  for (const auto& e : fs::directory_iterator(dataDir / "plugin-data", ec)) {
    out << "data " << e.path().filename().string() << "\n";
    if (fs::exists(e.path() / "data.db")) out << databaseDump(e.path() / "data.db");
  }
  if (fs::exists(dataDir / "config.json")) {
    const std::string database = json::parse(readFile(dataDir / "config.json")).value("database", "");
    if (isPostgresUrl(database)) out << postgresPluginsDump(database);
  }
  if (fs::exists(dataDir / "installed.json")) {
    json installed = json::parse(readFile(dataDir / "installed.json"));
    for (auto& [id, r] : installed["plugins"].items()) out << "installed " << id << " " << r.value("version", "") << " " << r.value("sha256", "") << "\n";
  }
  if (fs::exists(dataDir / "config.json")) {
    json config = json::parse(readFile(dataDir / "config.json"));
    json plugins = config.value("plugins", json::object());
    out << "active " << plugins.value("active", json::array()).dump() << "\n";
  }
  for (const char* sub : {".install/journal", ".install/staging"}) {
    for (const auto& e : fs::directory_iterator(dataDir / sub, ec)) out << "LEFTOVER " << sub << "/" << e.path().filename().string() << "\n";
  }
  for (const auto& e : fs::directory_iterator(dataDir, ec)) {
    if (e.path().filename().string().find(".tmp-") != std::string::npos) out << "LEFTOVER " << e.path().filename().string() << "\n";
  }
  return out.str();
}

std::string panelLayoutJson() {
  return R"({"backend": "billing-backend/app/addons", "frontend": "billing-frontend/src/addons", "database": "billing-backend/panel.db", "registry": "billing-backend/app/addons/addon_registry.json"})";
}

std::string packAiChatbot(const fs::path& modulesDir) {
  fs::create_directories(modulesDir);
  auto packed = packFolder(std::string(PATCHBAY_SOURCE_DIR) + "/examples/plugins/ai_chatbot", modulesDir.string());
  EXPECT_TRUE(packed.ok()) << packed.error().message;
  return packed.ok() ? packed->path : "";
}

std::string panelSnapshot(const fs::path& root) {
  std::ostringstream out;
  std::error_code ec;
  const fs::path addons = root / "billing-backend/app/addons";
  for (const fs::path& dir : {addons, root / "billing-frontend/src/addons"}) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      if (n == ".patchbay-install" || n == "addon_registry.json") continue;
      out << fs::relative(dir / n, root).string() << " " << (fs::is_directory(dir / n) ? treeDigest(dir / n) : "file") << "\n";
    }
  }
  const std::string database = json::parse(readFile(root / "panel.json")).value("database", "");
  const bool postgres = isPostgresUrl(database);
  if (postgres || fs::exists(root / "billing-backend/panel.db")) {
    std::string dump = postgres ? postgresDump(database) : databaseDump(root / "billing-backend/panel.db");
    // addon_installations rows carry the install time: keep the id and version only.
    std::istringstream lines(dump);
    bool inInstallations = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("  table ")) inInstallations = line.starts_with("  table addon_installations:");
      if (inInstallations && line.starts_with("    row:")) {
        std::istringstream fields(line.substr(8));
        std::string rowId, addon, version;
        fields >> rowId >> addon >> version;
        line = "    row: " + addon + " " + version;
      }
      out << line << "\n";
    }
  }
  if (fs::exists(addons / "addon_registry.json")) {
    json registry = json::parse(readFile(addons / "addon_registry.json"));
    for (auto& [id, e] : registry["addons"].items()) out << "registered " << id << " " << e.value("version", "") << " " << e.value("backend_path", "") << "\n";
  }
  for (const char* sub : {".patchbay-install/journal", ".patchbay-install/staging"}) {
    for (const auto& e : fs::directory_iterator(addons / sub, ec)) out << "LEFTOVER " << sub << "/" << e.path().filename().string() << "\n";
  }
  for (const fs::path& dir : {addons, root / "billing-frontend/src/addons"}) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string n = e.path().filename().string();
      if (n.find(".tmp-") != std::string::npos || n.find(".incoming-") != std::string::npos) out << "LEFTOVER " << n << "\n";
    }
  }
  return out.str();
}

}  // namespace patchbay::test
