// A schema and a login role per plugin per tenant (patchbay/postgres.h).
#include <cctype>

#include "patchbay/integrity.h"
#include "patchbay/postgres.h"

namespace patchbay {

namespace {

// The host's own schema: the plugin roles' passwords.
constexpr const char* kHostSchema = R"sql(
CREATE SCHEMA IF NOT EXISTS patchbay_host;
REVOKE ALL ON SCHEMA patchbay_host FROM PUBLIC;
CREATE TABLE IF NOT EXISTS patchbay_host.plugin_roles (
  schema_name TEXT PRIMARY KEY, plugin TEXT NOT NULL, tenant TEXT NOT NULL, password TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())
)sql";

std::string quoteIdentifier(const std::string& name) { return "\"" + name + "\""; }  // names are [a-z0-9_] only

std::string quoteLiteral(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string pluginSchemaName(const std::string& pluginId, const std::string& tenantId, const std::string& database) {
  // Readable, and unique: plugin ids may differ only in - and _, and names are cut at 63 bytes.
  std::string readable = "p_";
  for (char c : pluginId.substr(0, 40)) readable += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  const std::string digest = sha256Hex(database + "\n" + tenantId + "\n" + pluginId);
  return readable + "_" + digest.substr(0, 12);
}

Result<std::string> pluginSchemaName(PgConnection& pg, const std::string& pluginId, const std::string& tenantId) {
  auto database = pg.query("SELECT current_database()");
  if (!database) return database.error();
  return pluginSchemaName(pluginId, tenantId, database->at(0)[0].value_or(""));
}

Result<PgPluginSchema> ensurePluginSchema(PgConnection& host, const std::string& pluginId, const std::string& tenantId) {
  PgPluginSchema out;
  auto named = pluginSchemaName(host, pluginId, tenantId);
  if (!named) return named.error();
  out.schema = *named;
  if (auto s = host.exec(kHostSchema); !s) return Error{s.error().kind, "patchbay_host: " + s.error().message};
  auto known = host.query("SELECT password FROM patchbay_host.plugin_roles WHERE schema_name = $1", {out.schema});
  if (!known) return known.error();
  auto role = host.query("SELECT 1 FROM pg_roles WHERE rolname = $1", {out.schema});
  if (!role) return role.error();
  if (!known->empty() && !role->empty()) {
    out.password = (*known)[0][0].value_or("");
  } else {
    std::string password = randomUuid() + randomUuid();
    std::erase(password, '-');
    out.password = password;
    const std::string name = quoteIdentifier(out.schema);
    const std::string create = role->empty() ? "CREATE ROLE " + name + " LOGIN NOINHERIT PASSWORD " + quoteLiteral(password)
                                             : "ALTER ROLE " + name + " LOGIN PASSWORD " + quoteLiteral(password);
    if (auto s = host.exec(create); !s) {
      return Error{s.error().kind, "cannot make the role of plugin \"" + pluginId + "\" (the database user needs CREATEROLE): " + s.error().message};
    }
    auto stored = host.query(
        "INSERT INTO patchbay_host.plugin_roles (schema_name, plugin, tenant, password) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (schema_name) DO UPDATE SET password = excluded.password",
        {out.schema, pluginId, tenantId, password});
    if (!stored) return stored.error();
  }
  const std::string name = quoteIdentifier(out.schema);
  // The role owns its schema and searches it alone; the host's user may act for it (to make and drop it).
  for (const std::string& sql : {"GRANT " + name + " TO CURRENT_USER", "CREATE SCHEMA IF NOT EXISTS " + name + " AUTHORIZATION " + name,
                                 "ALTER ROLE " + name + " SET search_path = " + name}) {
    if (auto s = host.exec(sql); !s) return Error{s.error().kind, "plugin \"" + pluginId + "\"'s schema " + out.schema + ": " + s.error().message};
  }
  return out;
}

Status dropPluginSchema(PgConnection& host, const std::string& pluginId, const std::string& tenantId) {
  auto named = pluginSchemaName(host, pluginId, tenantId);
  if (!named) return named.error();
  const std::string schema = *named, name = quoteIdentifier(schema);
  auto role = host.query("SELECT 1 FROM pg_roles WHERE rolname = $1", {schema});
  if (!role) return role.error();
  if (auto s = host.exec("DROP SCHEMA IF EXISTS " + name + " CASCADE"); !s) return s;
  if (!role->empty()) {
    if (auto s = host.exec("DROP OWNED BY " + name + " CASCADE"); !s) return s;
    if (auto s = host.exec("DROP ROLE IF EXISTS " + name); !s) return s;
  }
  auto forgot = host.query("DELETE FROM patchbay_host.plugin_roles WHERE schema_name = $1", {schema});
  if (!forgot && forgot.error().message.find("does not exist") == std::string::npos) return forgot.error();
  return {};
}

Result<PgConnection> connectAsPlugin(const std::string& url, const std::string& pluginId, const std::string& tenantId) {
  auto host = PgConnection::connect(url);
  if (!host) return host.error();
  auto schema = ensurePluginSchema(*host, pluginId, tenantId);
  if (!schema) return schema.error();
  auto plugin = PgConnection::connectAs(url, schema->schema, schema->password);
  if (!plugin) return plugin.error();
  // Also for this session, in case the server's role settings are not read (pgbouncer and the like).
  if (auto s = plugin->exec("SET search_path = " + quoteIdentifier(schema->schema)); !s) return s.error();
  return plugin;
}

}  // namespace patchbay
