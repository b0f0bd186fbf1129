// Helpers for the installer's tests: plugin packages with migrations, and a
// snapshot of everything an installed plugin consists of, so that a test can
// say "exactly the old state" or "exactly the new state".
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "patchbay/install.h"

namespace patchbay::test {

// Writes plugin `id` at `version` (plugin.json with `extraManifest` merged,
// server.js, and `files`) and packs it into `modulesDir` as
// {id}_v{version}.zip. Returns the package's path.
std::string makePackage(const std::filesystem::path& workDir, const std::filesystem::path& modulesDir, const std::string& id,
                        const std::string& version, const std::map<std::string, std::string>& files,
                        const std::string& extraManifestJson = "{}");

// The notes plugin the installer tests use: 1.0.0 (up.sql/down.sql),
// 1.1.0 (+ 0001_tags), 2.0.0 (+ 0002_pins), each with a few files.
void makeNotesPackages(const std::filesystem::path& workDir, const std::filesystem::path& modulesDir);

// Everything that makes up the installed plugins of a host data folder, in
// a form that compares equal for equal states: the plugins/ links and the
// version folders they point to (contents hashed, not the operation ids in
// their names), every table of each plugin's database with its rows (the
// installer's operation ids and times left out), installed.json without
// times, the active set, and any leftover journal, staging or temporary
// file (there must be none).
std::string installSnapshot(const std::filesystem::path& dataDir);

// The same for a seed 002 panel laid out under `root` as panelLayoutJson()
// says: the backend and frontend folders, the database's tables and rows
// (addon_installations without times), addon_registry.json without times,
// and leftovers.
std::string panelSnapshot(const std::filesystem::path& root);
// {"backend": "billing-backend/app/addons", ...}: the layout the tests use.
std::string panelLayoutJson();
// Seed 001/002's AI chatbot (examples/plugins/ai_chatbot) packed into `modulesDir`.
std::string packAiChatbot(const std::filesystem::path& modulesDir);

}  // namespace patchbay::test
