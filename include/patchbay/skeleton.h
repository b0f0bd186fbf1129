// patchbay/skeleton.h — new plugins: `patchbay init`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

// The four kinds of seed 004.
//   hook     reacts to events (server:onCreate ...), no UI
//   widget   a dashboard widget fed by one route
//   feature  own data (collections + SQL migrations), routes, cron, pages
//   theme    CSS and assets only
enum class SkeletonType { kHook, kWidget, kFeature, kTheme };

Result<SkeletonType> parseSkeletonType(std::string_view name);

// The language of the server code: server.js (typed through JSDoc) or
// server.ts (compiled into server.js by packFolder).
enum class SkeletonLanguage { kJavaScript, kTypeScript };

// Writes a working plugin into `dir`, which must not exist or be empty:
// plugin.json, server.js (or server.ts), client.js, README.md, and
// migrations/ for a feature (a theme has assets/theme.css and no server
// code). Plugins with server code also get tsconfig.json and the SDK's
// declarations in .patchbay/sdk/ (sdk/ of this binary), so that an editor
// or `tsc` checks every call to the API; pack leaves both out. The result
// is accepted by packFolder as it is. Returns the files written, sorted.
Result<std::vector<std::string>> writeSkeleton(const std::string& dir, std::string_view id, SkeletonType type,
                                               SkeletonLanguage language = SkeletonLanguage::kJavaScript);

}  // namespace patchbay
