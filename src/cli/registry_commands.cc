// patchbay registry serve
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <condition_variable>
#include <iostream>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/server_support.h"
#include "cli/log.h"
#include "cli/output.h"
#include "patchbay/json.h"
#include "patchbay/http_client.h"
#include "patchbay/install.h"
#include "patchbay/integrity.h"
#include "patchbay/package.h"
#include "patchbay/postgres.h"
#include "patchbay/registry.h"

namespace patchbay::cli {

namespace {

using json = nlohmann::ordered_json;

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string dataDir = "registry-data";
  std::string pluginsDir = "plugins";
  std::string portFile;
  std::vector<std::string> trustedKeys;
  bool requireReview = false;
  std::string downloadKey;
  std::string configFile;
  std::string database;
  std::string blobs;
  int64_t garbageGraceSeconds = 3600;
  int threads = 2;
  uint64_t maxUploadBytes = 50ull << 20;
};

Result<std::vector<PublicKey>> loadTrustedKeys(const std::vector<std::string>& paths) {
  std::vector<PublicKey> keys;
  for (const auto& p : paths) {
    auto text = readFileLimited(p, 64 << 10);
    if (!text) return text.error();
    auto key = PublicKey::parse(*text);
    if (!key) return key.error().in(p);
    keys.push_back(*key);
  }
  return keys;
}

int runServe(const ServeOptions& o) {
  // Signals are taken by sigwait below, not by a handler; block them before
  // any thread starts so every thread inherits the mask.
  sigset_t signals = blockStopSignals();
  keepFreedMemoryForReuse();
  setupLogging();

  auto listen = splitListen(o.listen);
  if (!listen) return fail(listen.error());
  std::filesystem::create_directories(o.pluginsDir);
  auto keys = loadTrustedKeys(o.trustedKeys);
  if (!keys) return fail(keys.error());
  auto registry = Registry::open({.dataDir = o.dataDir,
                                  .pluginsDir = o.pluginsDir,
                                  .onFolderProgress = logFolderProgress(o.pluginsDir),
                                  .trustedKeys = *keys,
                                  .requireReview = o.requireReview,
                                  .downloadKey = o.downloadKey,
                                  .maxUploadBytes = o.maxUploadBytes,
                                  .database = o.database,
                                  .blobs = o.blobs,
                                  .garbageGrace = std::chrono::seconds(o.garbageGraceSeconds)});
  if (!registry) return fail(registry.error());

  http::Router router;
  (*registry)->addRoutes(router);
  http::ServerOptions options = serverOptionsFor(*listen, o.threads);
  Registry& reg = **registry;
  options.onAccess = [&reg](const http::AccessRecord& r) {
    reg.observe(r);
    logRequest(r);
  };
  http::Server server(options, router);
  if (auto s = startListening(server, listen->first, o.portFile,
                              {{"data", o.dataDir},
                               {"database", o.database.empty() ? o.dataDir + "/registry.db" : redactedPostgresUrl(o.database)},
                               {"plugins_dir", o.pluginsDir},
                               {"plugins", (*registry)->list({}).total}});
      !s) {
    return fail(s.error());
  }

  // Background upkeep, every second: the drop-in folder, download counts,
  // and (when replicas share PostgreSQL) a check that no change of another
  // replica was missed.
  std::mutex mutex;
  std::condition_variable wake;
  bool done = false;
  std::thread upkeep([&] {
    std::set<std::string> reported;
    auto lastGarbage = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex);
    while (!wake.wait_for(lock, std::chrono::seconds(1), [&] { return done; })) {
      lock.unlock();
      if (std::chrono::steady_clock::now() - lastGarbage > std::chrono::hours(1)) {
        lastGarbage = std::chrono::steady_clock::now();
        auto swept = (*registry)->collectGarbage();
        if (!swept) logError({{"msg", "collecting unreferenced blobs failed"}, {"error", swept.error().message}});
        else if (swept->removed > 0) logInfo({{"msg", "removed unreferenced blobs"}, {"blobs", swept->removed}, {"bytes", swept->bytesRemoved}});
      }
      auto changes = (*registry)->syncFolder();
      if (!changes) logError({{"msg", "folder sync failed"}, {"error", changes.error().message}});
      else if (*changes > 0) logInfo({{"msg", "folder synced"}, {"changes", *changes}});
      std::set<std::string> now;
      for (const auto& p : (*registry)->folderProblems()) {
        std::string key = p.file + "\n" + p.message;
        now.insert(key);
        if (!reported.count(key)) logWarn({{"msg", "invalid package in plugins folder"}, {"file", p.file}, {"error", p.message}});
      }
      reported = std::move(now);
      if (auto s = (*registry)->flush(); !s) logError({{"msg", "saving download counts failed"}, {"error", s.error().message}});
      if (auto s = (*registry)->refresh(); !s) logError({{"msg", "re-reading the catalog failed"}, {"error", s.error().message}});
      lock.lock();
    }
  });
  // Report problems found by the first sync right away.
  for (const auto& p : (*registry)->folderProblems()) logWarn({{"msg", "invalid package in plugins folder"}, {"file", p.file}, {"error", p.message}});

  logInfo({{"msg", "stopping"}, {"signal", waitForStopSignal(signals)}});
  server.stop();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  wake.notify_all();
  upkeep.join();
  if (auto s = (*registry)->flush(); !s) logError({{"msg", "saving download counts failed"}, {"error", s.error().message}});
  logInfo({{"msg", "stopped"}});
  return kExitOk;
}

}  // namespace

struct TokenOptions {
  std::string dataDir = "registry-data";
  std::string database;
  std::string name;
  std::vector<std::string> scopes;
  int expiresInDays = 0;
  int64_t id = 0;
  bool json = false;
};

int runTokenCreate(const TokenOptions& o) {
  auto done = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  auto registry = Registry::open(RegistryOptions{.dataDir = o.dataDir, .database = o.database});
  if (!registry) return done(registry.error());
  std::string expires;
  if (o.expiresInDays > 0) {
    std::time_t t = std::time(nullptr) + static_cast<std::time_t>(o.expiresInDays) * 86400;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    expires = buf;
  }
  auto created = (*registry)->createToken(o.name, o.scopes, expires);
  if (!created) return done(created.error());
  const auto& [info, secret] = *created;
  if (o.json) {
    printJson({{"ok", true}, {"id", info.id}, {"name", info.name}, {"scopes", info.scopes}, {"expires_at", info.expiresAt}, {"token", secret}});
    return kExitOk;
  }
  std::cout << secret << "\n";
  std::cerr << "Token " << info.id << " for \"" << info.name << "\" (scopes:";
  for (const auto& sc : info.scopes) std::cerr << " " << sc;
  std::cerr << (info.expiresAt.empty() ? "" : "; expires " + info.expiresAt) << "). It is shown once: store it now.\n";
  return kExitOk;
}

int runTokenList(const TokenOptions& o) {
  auto registry = Registry::open(RegistryOptions{.dataDir = o.dataDir, .database = o.database});
  if (!registry) return o.json ? failJson(registry.error()) : fail(registry.error());
  auto tokens = (*registry)->listTokens();
  if (o.json) {
    json list = json::array();
    for (const auto& t : tokens) {
      list.push_back({{"id", t.id}, {"name", t.name}, {"scopes", t.scopes}, {"created_at", t.createdAt}, {"expires_at", t.expiresAt},
                      {"last_used_at", t.lastUsedAt}, {"revoked", t.revoked}});
    }
    printJson({{"ok", true}, {"tokens", list}});
    return kExitOk;
  }
  for (const auto& t : tokens) {
    std::string scopes;
    for (const auto& sc : t.scopes) scopes += (scopes.empty() ? "" : ",") + sc;
    std::cout << t.id << "\t" << t.name << "\t" << scopes << "\tcreated " << t.createdAt
              << (t.revoked ? "\trevoked" : t.expiresAt.empty() ? "" : "\texpires " + t.expiresAt) << "\n";
  }
  return kExitOk;
}

int runTokenRevoke(const TokenOptions& o) {
  auto registry = Registry::open(RegistryOptions{.dataDir = o.dataDir, .database = o.database});
  if (!registry) return o.json ? failJson(registry.error()) : fail(registry.error());
  if (auto s = (*registry)->revokeToken(o.id); !s) return o.json ? failJson(s.error()) : fail(s.error());
  if (o.json) printJson({{"ok", true}, {"id", o.id}, {"revoked", true}});
  else std::cout << "Revoked token " << o.id << "\n";
  return kExitOk;
}

struct GarbageOptions {
  std::string dataDir = "registry-data";
  std::string database;
  std::string blobs;
  int64_t graceSeconds = 3600;
  bool json = false;
};

int runGarbage(const GarbageOptions& o) {
  auto done = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  auto registry = Registry::open(RegistryOptions{.dataDir = o.dataDir, .database = o.database, .blobs = o.blobs});
  if (!registry) return done(registry.error());
  auto report = (*registry)->collectGarbage(std::chrono::seconds(o.graceSeconds));
  if (!report) return done(report.error());
  if (o.json) {
    printJson({{"ok", true}, {"examined", report->examined}, {"removed", report->removed}, {"bytes_removed", report->bytesRemoved},
               {"keys", report->removedKeys}, {"skipped", report->skipped}});
    return kExitOk;
  }
  if (report->skipped) {
    std::cout << "Another replica is collecting garbage now; nothing done\n";
    return kExitOk;
  }
  for (const auto& key : report->removedKeys) std::cout << "removed " << key << "\n";
  std::cout << "Removed " << report->removed << " unreferenced blobs (" << report->bytesRemoved << " bytes) of " << report->examined << "\n";
  return kExitOk;
}

struct PublishOptions {
  std::string package;
  std::string registry;
  std::string token;
  bool json = false;
};

int runPublish(const PublishOptions& o) {
  auto done = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  std::string registry = o.registry;
  if (registry.empty()) {
    registry = registryUrlFromEnvironment([](const char* name) { return std::getenv(name); });
    if (registry.empty()) registry = "http://127.0.0.1:8080";
  }
  while (!registry.empty() && registry.back() == '/') registry.pop_back();
  std::string token = o.token;
  if (token.empty()) {
    if (const char* env = std::getenv("PATCHBAY_TOKEN"); env && *env) token = env;
    else return done(Error::invalid("no API token: give --token or set PATCHBAY_TOKEN"));
  }
  // Check locally first: a clear error without a round trip.
  std::string bytes;
  auto info = openPackageFile(o.package, {}, &bytes);
  if (!info) return done(info.error());
  http::ClientRequest req;
  req.method = "POST";
  req.url = registry + "/api/plugins";
  req.body = std::move(bytes);
  req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/zip"}};
  std::error_code ec;
  if (std::filesystem::exists(o.package + ".minisig", ec)) {
    auto sig = readFileLimited(o.package + ".minisig", 64 << 10);
    if (!sig) return done(sig.error());
    req.headers.emplace_back("X-Signature", toBase64(reinterpret_cast<const unsigned char*>(sig->data()), sig->size()));
  }
  auto res = http::fetch(req);
  if (!res) return done(res.error());
  auto body = parseJsonOrDiscarded<json>(res->body);
  if (res->status != 200 && res->status != 201) {
    std::string message = body.is_object() && body.contains("error") ? body["error"].value("message", res->body) : res->body;
    return done(Error::invalid(registry + " refused the package (" + std::to_string(res->status) + "): " + message));
  }
  if (o.json) {
    printJson({{"ok", true}, {"id", info->manifest.id}, {"version", info->manifest.version.toString()}, {"created", res->status == 201},
               {"status", body.value("status", "")}, {"registry", registry}});
    return kExitOk;
  }
  std::cout << (res->status == 201 ? "Published " : "Already published (same bytes): ") << info->manifest.id << " "
            << info->manifest.version.toString() << " to " << registry << " (" << body.value("status", "") << ")\n";
  return kExitOk;
}

void addRegistryCommands(CLI::App& app, Outcome& outcome) {
  auto* registry = app.add_subcommand("registry", "Run and administer a plugin registry");
  registry->require_subcommand(1);
  auto serve = std::make_shared<ServeOptions>();
  auto* serveCmd = registry->add_subcommand("serve", "Serve plugins over HTTP: the catalog, downloads, publishing, review, bundles");
  serveCmd->add_option("--listen,-l", serve->listen, "ADDRESS:PORT to listen on (port 0: any free port)")->capture_default_str();
  serveCmd->add_option("--data,-d", serve->dataDir, "Data folder: registry.db and blobs/")->capture_default_str();
  serveCmd->add_option("--plugins-dir,-p", serve->pluginsDir, "Drop-in folder of {id}_v{version}.zip files")->capture_default_str();
  serveCmd->add_option("--threads", serve->threads, "Threads serving requests")->capture_default_str()->check(CLI::Range(1, 256));
  serveCmd->add_option("--port-file", serve->portFile, "Write the port listened on to this file");
  serveCmd->add_option("--max-upload-bytes", serve->maxUploadBytes, "Largest package an upload may carry (413 above); other requests: 1 MiB")->capture_default_str();
  serveCmd->add_option("--trusted-key", serve->trustedKeys, "Public key file; when given, uploads must be signed by one of these keys");
  serveCmd->add_flag("--require-review", serve->requireReview, "New uploads start pending until reviewed");
  serveCmd->add_option("--download-key", serve->downloadKey, "Downloads need this key in X-API-Key (or ?api_key=)")
      ->envname("PATCHBAY_DOWNLOAD_KEY");
  serveCmd->add_option("--database", serve->database,
                       "Keep the catalog in PostgreSQL (postgresql://…) instead of registry.db: replicas on one database share it")
      ->envname("PATCHBAY_REGISTRY_DATABASE");
  serveCmd->add_option("--blobs", serve->blobs,
                       "Where package bytes live: a folder (default: blobs/ in the data folder), or s3://BUCKET?endpoint=URL&region=R[&presign=SECONDS] "
                       "(credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); replicas share one")
      ->envname("PATCHBAY_REGISTRY_BLOBS");
  serveCmd->add_option("--garbage-grace", serve->garbageGraceSeconds,
                       "Unreferenced bytes in the blob store are removed (every hour) once this many seconds old")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{60}, int64_t{365} * 86400));
  serveCmd->add_option("--config", serve->configFile, "Read options from a TOML file (listen = \"0.0.0.0:8080\", ...); flags win");
  serveCmd->callback([serve, serveCmd, &outcome] {
    if (!serve->configFile.empty()) {
      if (auto s = applyConfigFile(*serveCmd, serve->configFile); !s) {
        outcome.exitCode = fail(s.error());
        return;
      }
    }
    outcome.exitCode = runServe(*serve);
  });

  auto* tokenCmd = registry->add_subcommand("token", "Create, list and revoke API tokens (on the registry's data folder)");
  tokenCmd->require_subcommand(1);
  auto create = std::make_shared<TokenOptions>();
  auto* createCmd = tokenCmd->add_subcommand("create", "Create a token; prints its secret once");
  createCmd->add_option("--data,-d", create->dataDir, "The registry's data folder")->capture_default_str();
  createCmd->add_option("--database", create->database, "The registry's PostgreSQL database, when it keeps its catalog there")
      ->envname("PATCHBAY_REGISTRY_DATABASE");
  createCmd->add_option("--name,-n", create->name, "Who the token is for (the publisher name that owns plugins)")->required();
  createCmd->add_option("--scope,-s", create->scopes, "publish, review or admin (repeat for several)")->required();
  createCmd->add_option("--expires-in-days", create->expiresInDays, "Expire after this many days (default: never)");
  createCmd->add_flag("--json", create->json, "Print the result as JSON");
  createCmd->callback([create, &outcome] { outcome.exitCode = runTokenCreate(*create); });
  auto list = std::make_shared<TokenOptions>();
  auto* listCmd = tokenCmd->add_subcommand("list", "List tokens (never their secrets)");
  listCmd->add_option("--data,-d", list->dataDir, "The registry's data folder")->capture_default_str();
  listCmd->add_option("--database", list->database, "The registry's PostgreSQL database, when it keeps its catalog there")
      ->envname("PATCHBAY_REGISTRY_DATABASE");
  listCmd->add_flag("--json", list->json, "Print the result as JSON");
  listCmd->callback([list, &outcome] { outcome.exitCode = runTokenList(*list); });
  auto revoke = std::make_shared<TokenOptions>();
  auto* revokeCmd = tokenCmd->add_subcommand("revoke", "Revoke a token by id");
  revokeCmd->add_option("id", revoke->id, "Token id (from token list)")->required();
  revokeCmd->add_option("--data,-d", revoke->dataDir, "The registry's data folder")->capture_default_str();
  revokeCmd->add_option("--database", revoke->database, "The registry's PostgreSQL database, when it keeps its catalog there")
      ->envname("PATCHBAY_REGISTRY_DATABASE");
  revokeCmd->add_flag("--json", revoke->json, "Print the result as JSON");
  revokeCmd->callback([revoke, &outcome] { outcome.exitCode = runTokenRevoke(*revoke); });

  auto garbage = std::make_shared<GarbageOptions>();
  auto* gcCmd = registry->add_subcommand("gc", "Remove bytes in the blob store that no version refers to (serve does it every hour)");
  gcCmd->add_option("--data,-d", garbage->dataDir, "The registry's data folder")->capture_default_str();
  gcCmd->add_option("--database", garbage->database, "The registry's PostgreSQL database, when it keeps its catalog there")
      ->envname("PATCHBAY_REGISTRY_DATABASE");
  gcCmd->add_option("--blobs", garbage->blobs, "The registry's blob store (as serve's --blobs)")->envname("PATCHBAY_REGISTRY_BLOBS");
  gcCmd->add_option("--grace", garbage->graceSeconds, "Only bytes at least this many seconds old (a publish under way stores its bytes first)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{365} * 86400));
  gcCmd->add_flag("--json", garbage->json, "Print the result as JSON");
  gcCmd->callback([garbage, &outcome] { outcome.exitCode = runGarbage(*garbage); });

  auto publish = std::make_shared<PublishOptions>();
  auto* publishCmd = app.add_subcommand("publish", "Upload a package (and its .minisig) to a registry");
  publishCmd->add_option("package", publish->package, "Package file ({id}_v{version}.zip)")->required();
  publishCmd->add_option("--registry,-r", publish->registry, "Registry URL (default: $PATCHBAY_REGISTRY, else http://127.0.0.1:8080)");
  publishCmd->add_option("--token,-t", publish->token, "API token with the publish scope (default: $PATCHBAY_TOKEN)");
  publishCmd->add_flag("--json", publish->json, "Print the result as JSON");
  publishCmd->callback([publish, &outcome] { outcome.exitCode = runPublish(*publish); });
}

}  // namespace patchbay::cli
