// Templates for `patchbay init`. Each one is a small plugin that works on
// the Sodium-compatible API (docs/plugin-api.md) as it is.
#include "patchbay/skeleton.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "patchbay/embedded_asset.h"
#include "patchbay/manifest.h"

extern const patchbay::EmbeddedAsset kSdkFiles[];

namespace patchbay {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHookManifest = R"({
  "id": "{{id}}",
  "name": "{{name}}",
  "version": "0.1.0",
  "type": "hook",
  "author": "",
  "description": "Reacts to server events.",
  "license": "MIT",
  "sodium": ">=1.0.0",
  "permissions": ["servers:read"],
  "hooks": ["server:onCreate", "server:onStatusChange"],
  "settings": {
    "greeting": { "type": "string", "label": "Log message prefix", "default": "Server" }
  }
}
)";

constexpr const char* kHookServer = R"(// {{name}}: runs in its own isolate; `sodium` is the plugin API.
export default function (sodium) {
  sodium.hooks.on('server:onCreate', async (ctx) => {
    const prefix = sodium.config.get('greeting');
    sodium.logger.info(`${prefix} ${ctx.server.name} created by ${ctx.user.username}`);
  });

  sodium.hooks.on('server:onStatusChange', async (ctx) => {
    sodium.logger.info(`${ctx.server.name}: ${ctx.action}`);
  });
}
)";

constexpr const char* kEmptyClient = R"(// {{name}} has no user interface.
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium */
export default function (sodium) {}
)";

constexpr const char* kWidgetManifest = R"({
  "id": "{{id}}",
  "name": "{{name}}",
  "version": "0.1.0",
  "type": "widget",
  "author": "",
  "description": "A dashboard widget.",
  "license": "MIT",
  "sodium": ">=1.0.0",
  "permissions": ["servers:read", "http:routes", "ui:widgets"],
  "hooks": [],
  "settings": {
    "title": { "type": "string", "label": "Widget title", "default": "{{name}}" }
  }
}
)";

constexpr const char* kWidgetServer = R"(// {{name}}: serves the widget's data at /api/plugins/{{id}}/summary.
export default function (sodium) {
  sodium.http.registerRoutes((router) => {
    router.get('/summary', (req, res) => {
      res.json({ title: sodium.config.get('title'), generatedAt: new Date().toISOString() });
    });
  });
}
)";

constexpr const char* kWidgetClient = R"(// {{name}}: a small dashboard widget.
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium */
export default function (sodium) {
  sodium.ui.addDashboardWidget({
    id: '{{id}}',
    title: '{{name}}',
    size: 'small',
    render: async (el) => {
      const res = await fetch('/api/plugins/{{id}}/summary');
      const data = await res.json();
      el.textContent = `${data.title}: updated ${data.generatedAt}`;
    },
  });
}
)";

constexpr const char* kFeatureManifest = R"({
  "id": "{{id}}",
  "name": "{{name}}",
  "version": "0.1.0",
  "type": "feature",
  "author": "",
  "description": "A feature with its own data, routes, page and cron job.",
  "license": "MIT",
  "sodium": ">=1.0.0",
  "permissions": ["db:own", "http:routes", "cron:register", "ui:pages", "ui:sidebar"],
  "hooks": ["server:beforeCreate"],
  "settings": {
    "max_items": { "type": "number", "label": "Maximum items per user", "default": 100 },
    "mode": { "type": "select", "label": "Mode", "options": ["simple", "advanced"], "default": "simple" },
    "api_key": { "type": "string", "label": "API key", "secret": true }
  }
}
)";

constexpr const char* kFeatureServer = R"(// {{name}}: items stored in the plugin's own collection, a REST API
// under /api/plugins/{{id}}/, a nightly cleanup and a creation guard.
export default function (sodium) {
  sodium.db.registerCollections(['items']);

  sodium.http.registerRoutes((router) => {
    router.get('/items', (req, res) => {
      res.json(sodium.db.find('items', { owner: req.user ? req.user.id : null }));
    });
    router.post('/items', (req, res) => {
      if (!req.body || typeof req.body.title !== 'string') {
        return res.status(400).json({ error: 'title (a string) is required' });
      }
      const item = sodium.db.insert('items', { title: req.body.title, owner: req.user ? req.user.id : null });
      res.status(201).json(item);
    });
    router.delete('/items/:id', (req, res) => {
      res.json({ deleted: sodium.db.delete('items', req.params.id) });
    });
  });

  sodium.hooks.on('server:beforeCreate', (ctx) => {
    const count = sodium.db.find('items', { owner: ctx.user.id }).length;
    if (count > sodium.config.get('max_items')) ctx.deny('Too many items.');
  });

  sodium.cron.register('{{id}}:cleanup', '0 3 * * *', () => {
    sodium.logger.info('nightly cleanup ran');
  });

  return {
    countItems: () => sodium.db.find('items').length,
  };
}
)";

constexpr const char* kFeatureClient = R"(// {{name}}: a page and a sidebar entry.
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium */
export default function (sodium) {
  sodium.ui.registerPages({
    '/{{id}}': {
      title: '{{name}}',
      render: async (el) => {
        const res = await fetch('/api/plugins/{{id}}/items');
        const items = await res.json();
        el.innerHTML = '';
        const list = document.createElement('ul');
        for (const item of items) {
          const li = document.createElement('li');
          li.textContent = item.title;
          list.appendChild(li);
        }
        el.appendChild(list);
      },
    },
  });
  sodium.ui.addSidebarItem({ label: '{{name}}', icon: 'box', href: '/{{id}}', position: 'after:servers' });
}
)";

constexpr const char* kFeatureUp = R"(-- Runs when {{name}} is installed.
CREATE TABLE IF NOT EXISTS {{table}}_events (
    id VARCHAR(36) PRIMARY KEY,
    kind VARCHAR(50) NOT NULL,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);
)";

constexpr const char* kFeatureDown = R"(-- Runs when {{name}} is uninstalled.
DROP TABLE IF EXISTS {{table}}_events;
)";

constexpr const char* kThemeManifest = R"({
  "id": "{{id}}",
  "name": "{{name}}",
  "version": "0.1.0",
  "type": "theme",
  "author": "",
  "description": "Changes the panel's appearance.",
  "license": "MIT",
  "sodium": ">=1.0.0",
  "permissions": []
}
)";

constexpr const char* kThemeCss = R"(/* {{name}} */
:root {
  --accent: #7c3aed;
  --background: #0f172a;
  --text: #e2e8f0;
}
)";

constexpr const char* kReadme = R"(# {{name}}

A patchbay plugin of type `{{type}}`.

## Develop

    patchbay pack .            # validate and write {{id}}_v0.1.0.zip
    patchbay inspect {{id}}_v0.1.0.zip

## Files

- `plugin.json`: the manifest (id, version, permissions, hooks, settings)
{{files}}
)";

// What lets an editor and `tsc` check the server code against the SDK.
constexpr const char* kTsconfig = R"({
  "compilerOptions": {
    "target": "ES2022",
    "module": "ES2022",
    "moduleResolution": "bundler",
    "lib": ["ES2022"],
    "types": [],
    "strict": true,
    "noEmit": true,
    "allowJs": true,
    "checkJs": true,
    "paths": { "@patchbay/sdk": ["./.patchbay/sdk/index.d.ts"], "@patchbay/sdk/client": ["./.patchbay/sdk/client.d.ts"] }
  },
  "include": ["{{server}}"]
}
)";

// The server skeleton in the chosen language: typed through JSDoc, or as
// TypeScript.
std::string serverSource(std::string text, SkeletonLanguage language) {
  const std::string entry = "export default function (sodium) {";
  const size_t at = text.find(entry);
  if (at == std::string::npos) return text;
  if (language == SkeletonLanguage::kTypeScript) {
    text.replace(at, entry.size(), "export default function (sodium: Sodium) {");
    text.insert(at, "import type { Sodium } from '@patchbay/sdk';\n\n");
  } else {
    text.insert(at, "/** @param {import('@patchbay/sdk').Sodium} sodium */\n");
  }
  return text;
}

std::string render(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [key, value] : vars) {
    std::string token = "{{" + key + "}}";
    for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size())) {
      text.replace(at, token.size(), value);
    }
  }
  return text;
}

}  // namespace

Result<SkeletonType> parseSkeletonType(std::string_view name) {
  if (name == "hook") return SkeletonType::kHook;
  if (name == "widget") return SkeletonType::kWidget;
  if (name == "feature") return SkeletonType::kFeature;
  if (name == "theme") return SkeletonType::kTheme;
  return Error::invalid("unknown plugin type \"" + std::string(name) + "\": use hook, widget, feature or theme");
}

Result<std::vector<std::string>> writeSkeleton(const std::string& dir, std::string_view id, SkeletonType type,
                                               SkeletonLanguage language) {
  if (!isValidPluginId(id)) {
    return Error::invalid("\"" + std::string(id) + "\" is not a valid plugin id: use 1-64 lowercase letters, digits, \"-\" and \"_\"");
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec))) {
    return Error::invalid(dir + ": already exists and is not empty; choose another --dir");
  }
  const char* typeName[] = {"hook", "widget", "feature", "theme"};
  std::string table(id);
  for (char& c : table) if (c == '-') c = '_';
  std::map<std::string, std::string> vars = {
      {"id", std::string(id)}, {"name", displayNameFromId(id)}, {"type", typeName[static_cast<int>(type)]}, {"table", table}};

  std::map<std::string, std::string> files;
  std::string fileList;
  switch (type) {
    case SkeletonType::kHook:
      files = {{"plugin.json", kHookManifest}, {"server.js", kHookServer}, {"client.js", kEmptyClient}};
      fileList = "- `server.js`: hook handlers\n- `client.js`: (no UI)";
      break;
    case SkeletonType::kWidget:
      files = {{"plugin.json", kWidgetManifest}, {"server.js", kWidgetServer}, {"client.js", kWidgetClient}};
      fileList = "- `server.js`: the widget's data route\n- `client.js`: the dashboard widget";
      break;
    case SkeletonType::kFeature:
      files = {{"plugin.json", kFeatureManifest}, {"server.js", kFeatureServer}, {"client.js", kFeatureClient},
               {"migrations/up.sql", kFeatureUp}, {"migrations/down.sql", kFeatureDown}};
      fileList = "- `server.js`: collections, routes, hook, cron job\n- `client.js`: page and sidebar item\n"
                 "- `migrations/up.sql`, `down.sql`: tables created on install, dropped on uninstall";
      break;
    case SkeletonType::kTheme:
      files = {{"plugin.json", kThemeManifest}, {"assets/theme.css", kThemeCss}};
      fileList = "- `assets/theme.css`: the styles";
      break;
  }
  if (auto server = files.find("server.js"); server != files.end()) {
    const bool ts = language == SkeletonLanguage::kTypeScript;
    const std::string name = ts ? "server.ts" : "server.js";
    std::string source = serverSource(server->second, language);
    files.erase(server);
    files[name] = std::move(source);
    files["tsconfig.json"] = kTsconfig;
    vars["server"] = name;
    for (const EmbeddedAsset* a = kSdkFiles; a->path != nullptr; ++a) {
      files[std::string(".patchbay/sdk/") + a->path] = std::string(reinterpret_cast<const char*>(a->data), a->size);
    }
    if (ts) {
      const std::string js = "`server.js`";
      for (size_t at; (at = fileList.find(js)) != std::string::npos;) fileList.replace(at, js.size(), "`server.ts`");
      fileList += "\n- `server.ts` is compiled into the package's `server.js` (with a source map) by `patchbay pack`";
    }
    fileList += "\n- `tsconfig.json`, `.patchbay/sdk/`: the API's types, for your editor and `tsc -p .` (pack leaves them out)";
  }
  vars["files"] = fileList;
  files["README.md"] = kReadme;

  std::vector<std::string> written;
  for (const auto& [rel, text] : files) {
    fs::path path = fs::path(dir) / rel;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Error::io(path.parent_path().string() + ": " + ec.message());
    std::ofstream out(path, std::ios::binary);
    out << (rel.starts_with(".patchbay/") ? text : render(text, vars));  // the SDK's files as they are
    if (!out) return Error::io(path.string() + ": cannot write");
    written.push_back(rel);
  }
  return written;
}

}  // namespace patchbay
