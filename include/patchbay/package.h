// patchbay/package.h — plugin packages: folder -> {id}_v{version}.zip and back.
//
// A package is a ZIP of a plugin folder with the manifest at its top:
//   plugin.json | metadata.json, server.js, client.js, assets/, migrations/,
//   README.md, and for panels in other languages backend/ and frontend/.
// Packing is deterministic: the same folder gives the same bytes, whatever
// the files' times, owners or modes, and whatever order the file system
// lists them in.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/archive.h"
#include "patchbay/files.h"
#include "patchbay/integrity.h"
#include "patchbay/manifest.h"
#include "patchbay/signature.h"

namespace patchbay {

// "{id}_v{version}.zip", seed 000's naming convention.
std::string packageFileName(std::string_view id, const Version& version);
struct PackageName {
  std::string id;
  Version version;
};
// Parses "{id}_v{version}.zip" (also a path ending in one); nullopt if the
// name does not follow the convention.
std::optional<PackageName> parsePackageFileName(std::string_view fileName);

// Which files of a plugin folder go into its package. Always left out:
// dotfiles and dot-folders (.git, .env, .patchbay/, ...), node_modules/,
// tsconfig.json and jsconfig.json at the top, and earlier packages of this
// plugin at the top ("{id}_v*.zip" and their .minisig).
// A ".patchbayignore" file at the top adds gitignore-style patterns:
//   # comment, *.log, build/ (folders only), /todo.txt (top only),
//   docs/**/draft.md, !keep.log (put back what an earlier line left out)
class IgnoreRules {
 public:
  static IgnoreRules forFolder(const std::string& dir, std::string_view pluginId);
  static IgnoreRules fromText(std::string_view text, std::string_view pluginId = "");
  bool ignored(std::string_view relPath, bool isDirectory) const;

 private:
  struct Rule {
    std::string pattern;
    bool negate = false;
    bool directoryOnly = false;
    bool anchored = false;
  };
  std::vector<Rule> rules_;
  std::string pluginId_;
};

struct PackResult {
  std::string path;      // where the package was written
  std::string fileName;  // {id}_v{version}.zip
  Manifest manifest;
  std::vector<ArchiveEntry> files;
  Digest digest;
  std::vector<ManifestProblem> warnings;
};

// Validates the folder (manifest, files) and writes the package to
// `output`: a path ending in ".zip", or else a folder (created if missing)
// to put {id}_v{version}.zip in; empty: the current folder. Manifest errors are all reported in one error.
// Symbolic links and special files in the folder are errors.
Result<PackResult> packFolder(const std::string& dir, const std::string& output, const ArchiveLimits& limits = {});

// The files packFolder would include, relative and sorted.
Result<std::vector<std::string>> collectPackageFiles(const std::string& dir, std::string_view pluginId);

struct PackageInfo {
  std::string fileName;
  Manifest manifest;
  ArchiveListing listing;
  Digest digest;
  std::vector<ManifestProblem> warnings;
  std::optional<std::string> readme;  // README.md, if present
};

// Opens a package held in memory: checks the archive (all of archive.h's
// rules), reads and validates the manifest at the top, and checks that a
// conventional file name agrees with the manifest's id and version.
// `fileName` may be empty when unknown.
Result<PackageInfo> openPackage(std::string_view zipBytes, std::string_view fileName, const ArchiveLimits& limits = {});
// Reads the file and opens it; `bytesOut`, when given, receives the bytes
// so that callers need not read the file again.
Result<PackageInfo> openPackageFile(const std::string& path, const ArchiveLimits& limits = {},
                                    std::string* bytesOut = nullptr);

struct SignatureCheck {
  enum class State { kUnsigned, kUnverified, kValid, kInvalid };
  State state = State::kUnsigned;
  std::string keyId;    // of the signing key, when signed
  std::string message;  // what was checked, or what failed
};
// Checks PKG.minisig (if present, next to `packagePath`) against the
// package's bytes with `publicKey` (if given), including that the trusted
// comment's id and version match the manifest.
SignatureCheck checkPackageSignature(const std::string& packagePath, std::string_view packageBytes, const PackageInfo& info,
                                     const std::optional<PublicKey>& publicKey);
// The same for a .minisig held in memory (an installer's download).
SignatureCheck checkPackageSignatureText(std::string_view minisigText, std::string_view packageBytes, const Manifest& manifest,
                                         const std::optional<PublicKey>& publicKey);
const char* signatureStateName(SignatureCheck::State state);

// Signs a package file: writes PKG.minisig with patchbay's trusted comment.
Result<SignatureFile> signPackageFile(const std::string& packagePath, const SecretKey& key);

}  // namespace patchbay
