// patchbay/permissions.h — what a plugin has by itself, and what reaches
// outside it. The one table of permission names: manifest validation, the
// runtime, the admin API and docs/manifest.md all read it.
//
// A plugin always has what is confined to it: its own db, routes and
// middleware, hooks, cron jobs, UI, config, logger, meta and its events.
// What reaches outside it is a Capability, opened by a permission in the
// manifest (or, for outbound HTTP, an administrator's grant):
//
//   if (!manifestOpens(manifest, Capability::kReadUsers)) refuse(...);
//
// A manifest that lists no permissions has every capability but outbound
// HTTP (the behaviour plugins had before permissions existed); one that
// lists any has only those its permissions open.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace patchbay {

struct Manifest;

enum class Capability {
  kReadUsers,     // sodium.data.getUsers / findUser
  kReadServers,   // sodium.data.getServers / findServer
  kReadNodes,     // sodium.data.getNodes / findNode
  kOutboundHttp,  // fetch
  kCallPlugins,   // sodium.plugins.call
};

struct PermissionInfo {
  std::string_view name;            // as a manifest writes it
  std::optional<Capability> opens;  // nullopt: confined to the plugin, always there (named for the seeds' manifests)
  std::string_view meaning;         // for people: docs and the admin API
};

// Every permission a manifest may list (seed 004's and seed 001's words).
std::span<const PermissionInfo> permissionTable();
// The entry of `name`, or null when no such permission exists.
const PermissionInfo* findPermission(std::string_view name);
// The permission that names `capability` in messages ("users:read").
std::string_view permissionFor(Capability capability);
// Whether the manifest's permissions open `capability` (see above).
bool manifestOpens(const Manifest& manifest, Capability capability);

}  // namespace patchbay
