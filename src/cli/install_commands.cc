// patchbay install | uninstall | upgrade | list | info | search: the
// installer on a host data folder (see patchbay/install.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/output.h"
#include "cli/source_flags.h"
#include "patchbay/files.h"
#include "patchbay/data_folder.h"
#include "patchbay/install.h"
#include "patchbay/signature.h"
#include "patchbay/text.h"

namespace patchbay::cli {

namespace {

using json = nlohmann::ordered_json;

struct InstallCliOptions {
  std::string dataDir = "data";
  std::string source;  // local | remote; default from $PLUGIN_SOURCE, then local
  std::string modulesDir;
  std::string registry;
  std::string registryKey;
  std::string downloadKey;
  std::string config;
  bool json = false;
  bool yes = false;
  bool keepData = false;
  bool localCopy = false;
  bool noActivate = false;
  std::string target;  // ID[@RANGE], or a search query
  std::string panel;   // a seed 002 panel layout file instead of a host data folder
  std::vector<std::string> trustedKeys;  // minisign public key files
  bool requireSignature = false;
  bool allowUnsignedMetadata = false;  // for the --registry given: a plain (seed 000) server
};

// Flags over $PLUGIN_SOURCE / $PATCHBAY_REGISTRY / $PLUGIN_MODULES_DIR over
// the --config file's values (applied to the options before this).
Result<SourceConfig> sourceConfig(const InstallCliOptions& o, const InstallCliOptions& fromFlags) {
  auto fromFile = applySourceFlags({}, o.source, o.modulesDir, o.registry);
  if (!fromFile) return fromFile.error();
  auto env = applySourceEnvironment(*fromFile, [](const char* name) { return std::getenv(name); });
  if (!env) return env.error();
  // Flags given on the command line win over the environment.
  auto flagged = applySourceFlags(*env, fromFlags.source, fromFlags.modulesDir, fromFlags.registry);
  if (!flagged) return flagged.error();
  SourceConfig c = *flagged;
  c.registryKey = o.registryKey;
  c.downloadKey = o.downloadKey;
  c.allowUnsignedMetadata = o.allowUnsignedMetadata;
  if (c.downloadKey.empty()) {
    if (const char* key = std::getenv("PATCHBAY_DOWNLOAD_KEY")) c.downloadKey = key;
  }
  return c;
}

// Progress on stderr when it is a terminal: each step as it starts
// ("verify billing"), and a bar while a package downloads: one line,
// redrawn when what it shows changes, ended once (libcurl reports the
// last byte several times).
OperationProgressFn progressBar(bool enabled) {
  if (!enabled || !::isatty(STDERR_FILENO)) return {};
  struct Shown {
    std::string line;
    bool barOpen = false;
  };
  auto shown = std::make_shared<Shown>();
  return [shown](const OperationProgress& p) {
    auto endBar = [&] {
      if (shown->barOpen) std::fprintf(stderr, "\n");
      shown->barOpen = false;
    };
    if (p.step != OperationStep::kDownload || (p.done == 0 && p.total == 0)) {
      endBar();
      std::fprintf(stderr, "  %s %s\n", operationStepName(p.step), p.pluginId.c_str());
      shown->line.clear();
      std::fflush(stderr);
      return;
    }
    constexpr int kWidth = 30;
    int filled = p.total ? static_cast<int>(kWidth * std::min(p.done, p.total) / p.total) : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, ' ');
    std::string line = "  [" + bar + "] " + std::to_string(p.total ? 100 * std::min(p.done, p.total) / p.total : 0) + "% " + humanSize(p.done);
    if (p.total) line += " / " + humanSize(p.total);
    if (line != shown->line) {
      std::fprintf(stderr, "\r%s", line.c_str());
      shown->line = std::move(line);
      shown->barOpen = true;
    }
    std::fflush(stderr);
  };
}

void splitTarget(const std::string& target, std::string& id, std::string& range) {
  auto at = target.find('@');
  id = target.substr(0, at);
  range = at == std::string::npos ? "" : target.substr(at + 1);
}

json reportJson(const OperationReport& r) {
  json j = {{"ok", true}, {"operation", operationName(r.operation)}, {"id", r.id}};
  if (!r.fromVersion.empty()) j["from"] = r.fromVersion;
  if (!r.toVersion.empty()) j["version"] = r.toVersion;
  j["migrations"] = r.migrations;
  j["dependencies"] = r.dependencies;
  if (!r.startError.empty()) j["startError"] = r.startError;
  if (r.operation == OperationKind::kUninstall) j["keptData"] = r.keptData;
  j["milliseconds"] = r.milliseconds;
  return j;
}

// --trusted-key files and --require-signature, for either target.
Result<SignaturePolicy> signaturePolicy(const InstallCliOptions& o) {
  SignaturePolicy policy;
  policy.require = o.requireSignature;
  for (const auto& file : o.trustedKeys) {
    auto text = readFileLimited(file, 64u << 10);
    if (!text) return text.error();
    if (auto key = PublicKey::parse(*text); !key) return Error{key.error().kind, file + ": " + key.error().message};
    policy.trustedKeys.push_back(*text);
  }
  return policy;
}

// Seed 002's panel layout: install and uninstall into its folders, database and addon_registry.json.
int runPanelOperation(const std::string& kind, const InstallCliOptions& o, const InstallCliOptions& fromFlags) {
  auto failWith = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  auto layout = PanelLayout::load(o.panel);
  if (!layout) return failWith(layout.error());
  auto installer = PanelInstaller::open(*layout);
  if (!installer) return failWith(installer.error());
  auto policy = signaturePolicy(o);
  if (!policy) return failWith(policy.error());
  (*installer)->setSignaturePolicy(*policy);
  for (const auto& line : (*installer)->recovered()) {
    if (!o.json) std::cerr << "patchbay: " << line << "\n";
  }
  if (kind == "list") {
    json list = json::array();
    for (const auto& a : (*installer)->installed()) {
      list.push_back({{"id", a.id}, {"name", a.name}, {"version", a.version}, {"installedAt", a.installedAt}, {"backend", a.backendPath},
                      {"frontend", a.frontendPath}});
    }
    if (o.json) {
      printJson({{"addons", list}});
    } else {
      if (list.empty()) std::cout << "no addons installed in " << layout->registryFile << "\n";
      for (const auto& a : list) std::cout << a["id"].get<std::string>() << " " << a["version"].get<std::string>() << "\n";
    }
    return kExitOk;
  }
  std::string id, range;
  splitTarget(o.target, id, range);
  Result<OperationReport> report = Error::internal("no operation");
  if (kind == "uninstall") {
    if (!o.yes) {
      if (!::isatty(STDIN_FILENO)) return failWith(Error::invalid("uninstalling " + id + " drops its tables (down.sql): confirm with --yes"));
      std::cerr << "Uninstall " << id << " from the panel and run its down.sql? [y/N] ";
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes") return failWith(Error::invalid("not uninstalled"));
    }
    report = (*installer)->uninstall(id);
  } else if (kind == "install") {
    auto config = sourceConfig(o, fromFlags);
    if (!config) return failWith(config.error());
    auto source = openSource(*config, (std::filesystem::path(layout->registryFile).parent_path() / ".patchbay-install").string());
    if (!source) return failWith(source.error());
    if (!o.json) std::cerr << "patchbay: install " << o.target << " into the panel from " << (*source)->describe() << "\n";
    auto bar = progressBar(!o.json);
    ProgressFn download;
    if (bar) download = [bar, id](uint64_t done, uint64_t total) { bar({id, OperationStep::kDownload, done, total}); };
    report = (*installer)->install(id, range, **source, download);
  } else {
    return failWith(Error::unsupported(kind + " is not available for a panel layout (only install and uninstall are)"));
  }
  if (!report) return failWith(report.error());
  if (o.json) {
    printJson(reportJson(*report));
  } else {
    std::cout << (kind == "install" ? "installed " + id + " " + report->toVersion : "uninstalled " + id + " " + report->fromVersion) << " in "
              << static_cast<int>(report->milliseconds + 0.5) << " ms\n";
  }
  return kExitOk;
}

// `patchbay upgrade` without an id: every installed plugin to its newest
// version, one operation each (one failing leaves the others done).
int upgradeEverything(Installer& installer, const InstallCliOptions& o, const InstallCliOptions& fromFlags) {
  auto failWith = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  auto config = sourceConfig(o, fromFlags);
  if (!config) return failWith(config.error());
  auto source = openSource(*config, installer.dataFolder().installerDir());
  if (!source) return failWith(source.error());
  json upgraded = json::array(), failed = json::array();
  const auto all = installer.installed();
  if (!o.json) std::cerr << "patchbay: upgrade " << all.size() << " plugin(s) from " << (*source)->describe() << "\n";
  for (const auto& p : all) {
    auto r = installer.upgrade(p.id, "", **source, progressBar(!o.json));
    if (!r) {
      failed.push_back({{"id", p.id}, {"error", r.error().message}});
      if (!o.json) std::cerr << "patchbay: error: " << p.id << ": " << r.error().message << "\n";
      continue;
    }
    upgraded.push_back(reportJson(*r));
    if (!o.json) {
      std::cout << (r->fromVersion == r->toVersion ? "up to date: " + r->id + " " + r->toVersion
                                                   : "upgraded " + r->id + " " + r->fromVersion + " -> " + r->toVersion)
                << "\n";
    }
  }
  if (o.json) printJson({{"upgraded", upgraded}, {"failed", failed}});
  if (!o.json && all.empty()) std::cout << "no plugins installed in " << o.dataDir << "\n";
  return failed.empty() ? kExitOk : kExitFailure;
}

int runOperation(const std::string& kind, const InstallCliOptions& o, const InstallCliOptions& fromFlags) {
  if (!o.panel.empty()) return runPanelOperation(kind, o, fromFlags);
  auto failWith = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  auto installer = Installer::open(o.dataDir);
  if (!installer) return failWith(installer.error());
  for (const auto& line : (*installer)->recovered()) {
    if (!o.json) std::cerr << "patchbay: " << line << "\n";
  }
  auto policy = signaturePolicy(o);
  if (!policy) return failWith(policy.error());
  (*installer)->setSignaturePolicy(*policy);
  if (kind == "upgrade" && o.target.empty()) return upgradeEverything(**installer, o, fromFlags);
  std::string id, range;
  splitTarget(o.target, id, range);
  Result<OperationReport> report = Error::internal("no operation");
  if (kind == "uninstall") {
    auto current = (*installer)->find(id);
    if (!current) return failWith(Error::notFound(id + " is not installed in " + o.dataDir));
    if (!o.yes && !o.keepData && !o.localCopy) {
      if (!::isatty(STDIN_FILENO)) return failWith(Error::invalid("uninstalling " + id + " deletes its data: confirm with --yes (or keep it: --keep-data)"));
      std::cerr << "Uninstall " << id << " " << current->version.toString() << " and delete its data? [y/N] ";
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes") return failWith(Error::invalid("not uninstalled"));
    }
    report = o.localCopy ? (*installer)->removeLocalCopy(id) : (*installer)->uninstall(id, o.keepData);
  } else {
    auto config = sourceConfig(o, fromFlags);
    if (!config) return failWith(config.error());
    auto source = openSource(*config, (*installer)->dataFolder().installerDir());
    if (!source) return failWith(source.error());
    if (!o.json) std::cerr << "patchbay: " << kind << " " << o.target << " from " << (*source)->describe() << "\n";
    report = kind == "install" ? (*installer)->install(id, range, **source, {.activate = !o.noActivate}, progressBar(!o.json))
                               : (*installer)->upgrade(id, range, **source, progressBar(!o.json));
  }
  if (!report) return failWith(report.error());
  if (o.json) {
    printJson(reportJson(*report));
    return kExitOk;
  }
  const OperationReport& r = *report;
  for (const auto& d : r.dependencies) std::cout << "installed dependency " << d << "\n";
  if (r.operation == OperationKind::kInstall) std::cout << "installed " << r.id << " " << r.toVersion;
  if (r.operation == OperationKind::kUpgrade) {
    std::cout << (r.fromVersion == r.toVersion ? "up to date: " + r.id + " " + r.toVersion : "upgraded " + r.id + " " + r.fromVersion + " -> " + r.toVersion);
  }
  if (r.operation == OperationKind::kUninstall) std::cout << "uninstalled " << r.id << " " << r.fromVersion << (r.keptData ? " (data kept)" : "");
  if (!r.migrations.empty()) {
    std::cout << " (migrations:";
    for (const auto& m : r.migrations) std::cout << " " << m;
    std::cout << ")";
  }
  std::cout << " in " << static_cast<int>(r.milliseconds + 0.5) << " ms\n";
  if (!r.startError.empty()) {
    std::cerr << "patchbay: warning: " << r.id << " " << r.toVersion << " is installed but failed to start: " << r.startError << "\n";
  }
  return kExitOk;
}

int runList(const InstallCliOptions& o) {
  auto installer = Installer::openForReading(o.dataDir);
  if (!installer) return o.json ? failJson(installer.error()) : fail(installer.error());
  auto all = (*installer)->installed();
  if (o.json) {
    json list = json::array();
    for (const auto& p : all) {
      list.push_back({{"id", p.id}, {"version", p.version.toString()}, {"active", p.active}, {"source", p.source}, {"sha256", p.sha256},
                      {"installedAt", p.installedAt}, {"migrations", p.migrations}});
    }
    printJson({{"plugins", list}});
    return kExitOk;
  }
  if (all.empty()) std::cout << "no plugins installed in " << o.dataDir << "\n";
  for (const auto& p : all) std::cout << p.id << " " << p.version.toString() << (p.active ? "  active" : "  inactive") << "\n";
  return kExitOk;
}

int runInfo(const InstallCliOptions& o) {
  auto installer = Installer::openForReading(o.dataDir);
  if (!installer) return o.json ? failJson(installer.error()) : fail(installer.error());
  auto p = (*installer)->find(o.target);
  if (!p) {
    Error e = Error::notFound(o.target + " is not installed in " + o.dataDir);
    return o.json ? failJson(e) : fail(e);
  }
  json j = {{"id", p->id}, {"version", p->version.toString()}, {"active", p->active}, {"source", p->source}, {"sha256", p->sha256},
            {"installedAt", p->installedAt}, {"migrations", p->migrations}};
  if (o.json) {
    printJson(j);
    return kExitOk;
  }
  for (const auto& [k, v] : j.items()) std::cout << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  return kExitOk;
}

int runSearch(const InstallCliOptions& o, const InstallCliOptions& fromFlags) {
  auto failWith = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  auto config = sourceConfig(o, fromFlags);
  if (!config) return failWith(config.error());
  auto source = openSource(*config, DataFolder::installerDirIn(o.dataDir));
  if (!source) return failWith(source.error());
  auto all = (*source)->available();
  if (!all) return failWith(all.error());
  const std::string query = asciiLower(o.target);
  json list = json::array();
  for (const auto& p : *all) {
    std::string hay = p.id + " " + p.name + " " + p.description;
    for (char& c : hay) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!query.empty() && hay.find(query) == std::string::npos) continue;
    json versions = json::array();
    for (const auto& v : p.versions) versions.push_back(v.toString());
    list.push_back({{"id", p.id}, {"name", p.name}, {"latest", p.latest.toString()}, {"versions", versions}, {"description", p.description}});
  }
  if (o.json) {
    printJson({{"source", (*source)->describe()}, {"plugins", list}});
    return kExitOk;
  }
  if (list.empty()) std::cout << "nothing matches \"" << o.target << "\" in " << (*source)->describe() << "\n";
  for (const auto& p : list) {
    std::cout << p["id"].get<std::string>() << " " << p["latest"].get<std::string>() << "  " << p["name"].get<std::string>();
    if (!p["description"].get<std::string>().empty()) std::cout << " - " << p["description"].get<std::string>();
    std::cout << "\n";
  }
  return kExitOk;
}

}  // namespace

void addInstallCommands(CLI::App& app, Outcome& outcome) {
  struct Spec {
    const char* name;
    const char* help;
    const char* targetHelp;
    bool needsSource, needsTarget;
  };
  const Spec specs[] = {
      {"install", "Install a plugin (and what it requires) into a host data folder, all or nothing", "ID[@RANGE] (RANGE: 1.2.0, ^1.2, latest)", true, true},
      {"upgrade", "Upgrade an installed plugin (no ID: every one) to the newest version, running the migrations in between", "ID[@RANGE]", true, false},
      {"uninstall", "Uninstall a plugin: down migrations, files, data (unless --keep-data), records", "ID", false, true},
      {"list", "List the plugins installed in a host data folder", "", false, false},
      {"info", "Show an installed plugin's version, source, checksum and migrations", "ID", false, true},
      {"search", "Search the configured plugin source (PLUGIN_SOURCE=local|remote)", "QUERY", true, false},
  };
  for (const Spec& spec : specs) {
    auto o = std::make_shared<InstallCliOptions>();
    auto flags = std::make_shared<InstallCliOptions>();
    auto* cmd = app.add_subcommand(spec.name, spec.help);
    cmd->add_option("--data,-d", o->dataDir, "The host's data folder (config.json, plugins/, plugin-data/)")->capture_default_str();
    cmd->add_flag("--json", o->json, "Print the result as JSON (for scripts)");
    if (std::string(spec.name) == "install" || std::string(spec.name) == "uninstall" || std::string(spec.name) == "list") {
      cmd->add_option("--panel", o->panel, "A panel layout file (its backend, frontend, database and registry folders) instead of --data");
    }
    if (spec.needsTarget) {
      cmd->add_option("target", o->target, spec.targetHelp)->required();
    } else if (std::string(spec.name) == "upgrade") {
      cmd->add_option("target", o->target, "ID[@RANGE] (none: every installed plugin, to its newest version)");
    } else if (std::string(spec.name) == "search") {
      cmd->add_option("query", o->target, "Words to look for in ids, names and descriptions (none: everything)");
    }
    if (spec.needsSource) {
      cmd->add_option("--source", o->source, "local or remote (default: $PLUGIN_SOURCE, else local)");
      cmd->add_option("--modules", o->modulesDir, "The local source's folder of ID_vVERSION.zip files (default: $PLUGIN_MODULES_DIR, else modules)");
      cmd->add_option("--registry", o->registry, "The remote source's URL (default: $PATCHBAY_REGISTRY); implies --source remote");
      cmd->add_option("--registry-key", o->registryKey, "The registry's public key (base64); default: pinned at first use");
      cmd->add_option("--download-key", o->downloadKey, "The registry's download API key (default: $PATCHBAY_DOWNLOAD_KEY)");
      cmd->add_option("--config", o->config, "A TOML file with these options (source, modules, registry, ...)");
    }
    if (std::string(spec.name) == "install") cmd->add_flag("--no-activate", o->noActivate, "Install without adding it to the active set");
    if (std::string(spec.name) == "install" || std::string(spec.name) == "upgrade") {
      cmd->add_option("--trusted-key", o->trustedKeys, "A minisign public key file; a package's .minisig must verify with one of these (repeatable)");
      cmd->add_flag("--require-signature", o->requireSignature, "Refuse packages without a .minisig from a trusted key");
      cmd->add_flag("--allow-unsigned-metadata", o->allowUnsignedMetadata,
                    "Install from a plain plugin server (only /api/plugins and /download/...) that signs no metadata: the download's size is checked, and a .minisig if --require-signature asks");
    }
    if (std::string(spec.name) == "uninstall") {
      cmd->add_flag("--keep-data", o->keepData, "Keep the plugin's tables and data for a later install");
      cmd->add_flag("--local-copy", o->localCopy,
                    "Remove only this data folder's copy (files, installed.json, the active set), nothing of the plugin's data: what a panel of a cluster does when another one uninstalled it")
          ->excludes("--keep-data");
      cmd->add_flag("--yes,-y", o->yes, "Do not ask before deleting the plugin's data");
    }
    const std::string name = spec.name;
    cmd->callback([o, flags, cmd, name, &outcome] {
      *flags = *o;  // what the command line gave, before the config file fills the rest
      if (!o->config.empty()) {
        if (auto s = applyConfigFile(*cmd, o->config); !s) {
          outcome.exitCode = o->json ? failJson(s.error()) : fail(s.error());
          return;
        }
      }
      if (name == "list" && !o->panel.empty()) {
        outcome.exitCode = runPanelOperation("list", *o, *flags);
      } else if (name == "list") {
        outcome.exitCode = runList(*o);
      } else if (name == "info") {
        outcome.exitCode = runInfo(*o);
      } else if (name == "search") {
        outcome.exitCode = runSearch(*o, *flags);
      } else {
        outcome.exitCode = runOperation(name, *o, *flags);
      }
    });
  }
}

}  // namespace patchbay::cli
