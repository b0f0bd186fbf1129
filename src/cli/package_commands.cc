// patchbay init | pack | inspect | keygen | sign | verify
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "patchbay/files.h"
#include "patchbay/package.h"
#include "patchbay/skeleton.h"

namespace patchbay::cli {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

json problemsJson(const std::vector<ManifestProblem>& problems) {
  json out = json::array();
  for (const auto& p : problems) out.push_back({{"file", p.file}, {"path", p.path}, {"message", p.message}});
  return out;
}

void printWarnings(const std::vector<ManifestProblem>& warnings) {
  for (const auto& w : warnings) std::cerr << "patchbay: warning: " << w.toString() << "\n";
}

// --- init ---------------------------------------------------------------------

struct InitOptions {
  std::string id;
  std::string type = "hook";
  std::string dir;
  bool typescript = false;
  bool json = false;
};

int runInit(const InitOptions& o) {
  auto type = parseSkeletonType(o.type);
  if (!type) return o.json ? failJson(type.error()) : fail(type.error());
  std::string dir = o.dir.empty() ? o.id : o.dir;
  auto files = writeSkeleton(dir, o.id, *type, o.typescript ? SkeletonLanguage::kTypeScript : SkeletonLanguage::kJavaScript);
  if (!files) return o.json ? failJson(files.error()) : fail(files.error());
  if (o.json) {
    printJson({{"ok", true}, {"id", o.id}, {"type", o.type}, {"dir", dir}, {"files", *files}});
    return kExitOk;
  }
  std::cout << "Created " << o.type << " plugin \"" << o.id << "\" in " << dir << "/\n";
  for (const auto& f : *files) std::cout << "  " << f << "\n";
  std::cout << "Next: patchbay pack " << dir << "\n";
  return kExitOk;
}

// --- pack ---------------------------------------------------------------------

struct PackOptions {
  std::string dir = ".";
  std::string output;
  bool json = false;
};

int runPack(const PackOptions& o) {
  auto r = packFolder(o.dir, o.output);
  if (!r) return o.json ? failJson(r.error()) : fail(r.error());
  if (o.json) {
    json files = json::array();
    for (const auto& f : r->files) files.push_back({{"path", f.path}, {"size", f.size}});
    printJson({{"ok", true}, {"id", r->manifest.id}, {"version", r->manifest.version.toString()}, {"path", r->path},
               {"file", r->fileName}, {"size", r->digest.size}, {"sha256", r->digest.sha256}, {"integrity", r->digest.sri},
               {"files", files}, {"warnings", problemsJson(r->warnings)}});
    return kExitOk;
  }
  printWarnings(r->warnings);
  std::cout << "Packed " << r->manifest.id << " " << r->manifest.version.toString() << " -> " << r->path << "\n"
            << "  size:      " << r->digest.size << " bytes (" << humanSize(r->digest.size) << ", " << r->files.size() << " files)\n"
            << "  sha256:    " << r->digest.sha256 << "\n"
            << "  integrity: " << r->digest.sri << "\n";
  return kExitOk;
}

// --- keys ---------------------------------------------------------------------

// The password for a secret key: --password-file, else PATCHBAY_KEY_PASSWORD.
Result<std::optional<std::string>> keyPassword(const std::string& passwordFile) {
  if (!passwordFile.empty()) {
    std::ifstream in(passwordFile);
    if (!in) return Error::io(passwordFile + ": cannot read the password file");
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return Error::invalid(passwordFile + ": the password file is empty");
    return std::optional<std::string>(line);
  }
  if (const char* env = std::getenv("PATCHBAY_KEY_PASSWORD"); env && *env) return std::optional<std::string>(env);
  return std::optional<std::string>();
}

Result<PublicKey> loadPublicKey(const std::string& given) {
  std::string source = given;
  if (source.empty()) {
    if (const char* env = std::getenv("PATCHBAY_PUBKEY"); env && *env) source = env;
    else if (fs::exists("patchbay.pub")) source = "patchbay.pub";
    else return Error::invalid("no public key: give --pubkey FILE (or a key string), set PATCHBAY_PUBKEY, or put patchbay.pub here");
  }
  std::error_code ec;
  if (fs::is_regular_file(source, ec)) {
    auto text = readFileLimited(source, 64 << 10);
    if (!text) return text.error();
    auto pk = PublicKey::parse(*text);
    if (!pk) return pk.error().in(source);
    return pk;
  }
  auto pk = PublicKey::parse(source);  // a bare base64 key, as `minisign -P` takes
  if (!pk) return Error::invalid("\"" + source + "\" is neither a public key file nor a public key");
  return pk;
}

struct KeygenOptions {
  std::string publicPath = "patchbay.pub";
  std::string secretPath = "patchbay.key";
  std::string passwordFile;
  bool force = false;
  bool json = false;
};

int runKeygen(const KeygenOptions& o) {
  auto done = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  for (const auto& p : {o.publicPath, o.secretPath}) {
    if (fs::exists(p) && !o.force) return done(Error::invalid(p + ": already exists; use --force to replace it"));
  }
  auto password = keyPassword(o.passwordFile);
  if (!password) return done(password.error());
  SecretKey sk = SecretKey::generate();
  auto secretText = sk.toFileText(*password);
  if (!secretText) return done(secretText.error());
  if (auto s = writeFileAtomically(o.secretPath, *secretText, 0600); !s) return done(s.error());
  if (auto s = writeFileAtomically(o.publicPath, sk.publicKey().toFileText()); !s) return done(s.error());
  PublicKey pk = sk.publicKey();
  if (o.json) {
    printJson({{"ok", true}, {"key_id", pk.keyIdHex()}, {"public_key", pk.base64()}, {"public_key_file", o.publicPath},
               {"secret_key_file", o.secretPath}, {"encrypted", password->has_value()}});
    return kExitOk;
  }
  std::cout << "Key " << pk.keyIdHex() << "\n"
            << "  public key: " << o.publicPath << "  (" << pk.base64() << ")\n"
            << "  secret key: " << o.secretPath << (password->has_value() ? " (encrypted)" : " (not encrypted: keep it private)") << "\n"
            << "Verify with minisign too: minisign -V -P " << pk.base64() << " -m PKG\n";
  return kExitOk;
}

struct SignOptions {
  std::string package;
  std::string keyPath;
  std::string passwordFile;
  bool json = false;
};

int runSign(const SignOptions& o) {
  auto done = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  auto text = readFileLimited(o.keyPath, 64 << 10);
  if (!text) return done(text.error());
  std::optional<std::string> password;
  if (SecretKey::isEncrypted(*text)) {
    auto p = keyPassword(o.passwordFile);
    if (!p) return done(p.error());
    password = *p;
  }
  auto sk = SecretKey::parse(*text, password ? std::optional<std::string_view>(*password) : std::nullopt);
  if (!sk) return done(sk.error().in(o.keyPath));
  auto sig = signPackageFile(o.package, *sk);
  if (!sig) return done(sig.error());
  if (o.json) {
    printJson({{"ok", true}, {"signature_file", o.package + ".minisig"}, {"key_id", sk->publicKey().keyIdHex()},
               {"trusted_comment", sig->trustedComment}});
    return kExitOk;
  }
  std::cout << "Signed " << o.package << " -> " << o.package << ".minisig\n"
            << "  key:             " << sk->publicKey().keyIdHex() << "\n"
            << "  trusted comment: " << sig->trustedComment << "\n";
  return kExitOk;
}

struct VerifyOptions {
  std::string package;
  std::string pubkey;
  bool json = false;
};

int runVerify(const VerifyOptions& o) {
  auto done = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  auto pk = loadPublicKey(o.pubkey);
  if (!pk) return done(pk.error());
  std::string bytes;
  auto info = openPackageFile(o.package, {}, &bytes);
  if (!info) return done(info.error());
  SignatureCheck check = checkPackageSignature(o.package, bytes, *info, *pk);
  bool ok = check.state == SignatureCheck::State::kValid;
  if (o.json) {
    printJson({{"ok", ok}, {"signature", signatureStateName(check.state)}, {"key_id", check.keyId}, {"message", check.message},
               {"id", info->manifest.id}, {"version", info->manifest.version.toString()}, {"sha256", info->digest.sha256}});
    return ok ? kExitOk : kExitFailure;
  }
  if (!ok) return fail(o.package + ": " + (check.state == SignatureCheck::State::kUnsigned ? "not signed (" + check.message + ")" : check.message));
  std::cout << o.package << ": " << check.message << "\n";
  return kExitOk;
}

// --- inspect ------------------------------------------------------------------

struct InspectOptions {
  std::string package;
  std::string pubkey;
  bool json = false;
};

json settingValueJson(const SettingValue& v) {
  if (auto s = std::get_if<std::string>(&v)) return *s;
  if (auto d = std::get_if<double>(&v)) return *d;
  if (auto b = std::get_if<bool>(&v)) return *b;
  return nullptr;
}

int runInspect(const InspectOptions& o) {
  auto done = [&](const Error& e) { return o.json ? failJson(e) : fail(e); };
  std::string bytes;
  auto info = openPackageFile(o.package, {}, &bytes);
  if (!info) return done(info.error());
  std::optional<PublicKey> pk;
  if (!o.pubkey.empty()) {
    auto loaded = loadPublicKey(o.pubkey);
    if (!loaded) return done(loaded.error());
    pk = *loaded;
  }
  SignatureCheck sig = checkPackageSignature(o.package, bytes, *info, pk);
  const Manifest& m = info->manifest;
  if (o.json) {
    json files = json::array();
    for (const auto& e : info->listing.entries) {
      if (!e.isDirectory) files.push_back({{"path", e.path}, {"size", e.size}, {"compressed_size", e.compressedSize}});
    }
    json settings = json::object();
    for (const auto& s : m.settings) {
      settings[s.key] = {{"type", settingTypeName(s.type)}, {"label", s.label}, {"default", settingValueJson(s.defaultValue)},
                         {"secret", s.secret}};
      if (!s.options.empty()) settings[s.key]["options"] = s.options;
    }
    json required = json::object();
    for (const auto& r : m.requiredPlugins) required[r.id] = r.range;
    printJson({{"ok", true},
               {"file", info->fileName},
               {"manifest_file", m.file},
               {"id", m.id},
               {"name", m.name},
               {"version", m.version.toString()},
               {"type", m.type},
               {"description", m.description},
               {"author", m.author},
               {"host", m.hostKey.empty() ? json(nullptr) : json{{"key", m.hostKey}, {"range", m.hostRange}}},
               {"requires", required},
               {"permissions", m.permissions},
               {"hooks", m.hooks},
               {"settings", settings},
               {"files", files},
               {"size", info->digest.size},
               {"unpacked_size", info->listing.totalBytes},
               {"sha256", info->digest.sha256},
               {"integrity", info->digest.sri},
               {"signature", {{"state", signatureStateName(sig.state)}, {"key_id", sig.keyId}, {"message", sig.message}}},
               {"warnings", problemsJson(info->warnings)}});
    return kExitOk;
  }
  printWarnings(info->warnings);
  std::cout << m.name << " (" << m.id << ") " << m.version.toString() << "\n";
  if (!m.description.empty()) std::cout << "  " << m.description << "\n";
  std::cout << "  manifest:    " << m.file << "\n";
  if (!m.type.empty()) std::cout << "  type:        " << m.type << "\n";
  if (!m.author.empty()) std::cout << "  author:      " << m.author << "\n";
  if (!m.hostKey.empty()) std::cout << "  host:        " << m.hostKey << " " << m.hostRange << "\n";
  if (!m.requiredPlugins.empty()) {
    std::cout << "  requires:   ";
    for (const auto& r : m.requiredPlugins) std::cout << " " << r.id << "@" << r.range;
    std::cout << "\n";
  }
  if (!m.permissions.empty()) {
    std::cout << "  permissions:";
    for (const auto& p : m.permissions) std::cout << " " << p;
    std::cout << "\n";
  }
  if (!m.hooks.empty()) {
    std::cout << "  hooks:      ";
    for (const auto& h : m.hooks) std::cout << " " << h;
    std::cout << "\n";
  }
  for (const auto& s : m.settings) {
    std::cout << "  setting:     " << s.key << " (" << settingTypeName(s.type) << (s.secret ? ", secret" : "") << ") " << s.label << "\n";
  }
  std::cout << "  files:\n";
  for (const auto& e : info->listing.entries) {
    if (!e.isDirectory) std::cout << "    " << std::setw(10) << e.size << "  " << e.path << "\n";
  }
  std::cout << "  size:        " << info->digest.size << " bytes (" << humanSize(info->listing.totalBytes) << " unpacked)\n"
            << "  sha256:      " << info->digest.sha256 << "\n"
            << "  integrity:   " << info->digest.sri << "\n"
            << "  signature:   " << signatureStateName(sig.state) << ": " << sig.message << "\n";
  return sig.state == SignatureCheck::State::kInvalid ? kExitFailure : kExitOk;
}

}  // namespace

void addPackageCommands(CLI::App& app, Outcome& outcome) {
  auto init = std::make_shared<InitOptions>();
  auto* initCmd = app.add_subcommand("init", "Create a working plugin skeleton");
  initCmd->add_option("id", init->id, "Plugin id (lowercase letters, digits, - and _)")->required();
  initCmd->add_option("--type,-t", init->type, "hook, widget, feature or theme")->capture_default_str();
  initCmd->add_option("--dir,-d", init->dir, "Folder to create (default: the id)");
  initCmd->add_flag("--ts", init->typescript, "Write the server code as server.ts (pack compiles it with esbuild)");
  initCmd->add_flag("--json", init->json, "Print the result as JSON");
  initCmd->callback([init, &outcome] { outcome.exitCode = runInit(*init); });

  auto pack = std::make_shared<PackOptions>();
  auto* packCmd = app.add_subcommand("pack", "Validate a plugin folder and write {id}_v{version}.zip");
  packCmd->add_option("dir", pack->dir, "Plugin folder")->capture_default_str();
  packCmd->add_option("-o,--output", pack->output, "Output file (ending in .zip), or folder for {id}_v{version}.zip (default: here)");
  packCmd->add_flag("--json", pack->json, "Print the result as JSON");
  packCmd->callback([pack, &outcome] { outcome.exitCode = runPack(*pack); });

  auto inspect = std::make_shared<InspectOptions>();
  auto* inspectCmd = app.add_subcommand("inspect", "Show a package's manifest, files, integrity and signature");
  inspectCmd->add_option("package", inspect->package, "Package file ({id}_v{version}.zip)")->required();
  inspectCmd->add_option("--pubkey,-p", inspect->pubkey, "Public key file or key string to verify PKG.minisig with");
  inspectCmd->add_flag("--json", inspect->json, "Print the result as JSON");
  inspectCmd->callback([inspect, &outcome] { outcome.exitCode = runInspect(*inspect); });

  auto keygen = std::make_shared<KeygenOptions>();
  auto* keygenCmd = app.add_subcommand("keygen", "Create an Ed25519 key pair in minisign's format");
  keygenCmd->add_option("--public,-p", keygen->publicPath, "Public key file")->capture_default_str();
  keygenCmd->add_option("--secret,-s", keygen->secretPath, "Secret key file")->capture_default_str();
  keygenCmd->add_option("--password-file", keygen->passwordFile,
                        "Encrypt the secret key with the password in this file (or set PATCHBAY_KEY_PASSWORD)");
  keygenCmd->add_flag("--force", keygen->force, "Replace existing key files");
  keygenCmd->add_flag("--json", keygen->json, "Print the result as JSON");
  keygenCmd->callback([keygen, &outcome] { outcome.exitCode = runKeygen(*keygen); });

  auto sign = std::make_shared<SignOptions>();
  auto* signCmd = app.add_subcommand("sign", "Sign a package: writes PKG.minisig");
  signCmd->add_option("package", sign->package, "Package file")->required();
  signCmd->add_option("--key,-k", sign->keyPath, "Secret key file (patchbay's or minisign's)")->required();
  signCmd->add_option("--password-file", sign->passwordFile, "Password for an encrypted key (or set PATCHBAY_KEY_PASSWORD)");
  signCmd->add_flag("--json", sign->json, "Print the result as JSON");
  signCmd->callback([sign, &outcome] { outcome.exitCode = runSign(*sign); });

  auto verify = std::make_shared<VerifyOptions>();
  auto* verifyCmd = app.add_subcommand("verify", "Verify PKG.minisig against a public key");
  verifyCmd->add_option("package", verify->package, "Package file")->required();
  verifyCmd->add_option("--pubkey,-p", verify->pubkey,
                        "Public key file or key string (default: $PATCHBAY_PUBKEY, else ./patchbay.pub)");
  verifyCmd->add_flag("--json", verify->json, "Print the result as JSON");
  verifyCmd->callback([verify, &outcome] { outcome.exitCode = runVerify(*verify); });
}

}  // namespace patchbay::cli
