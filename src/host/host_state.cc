// The host's own state, apart from its runtime (no V8 here): the `patchbay`
// binary's admin-token commands use it without loading libnode.
#include "patchbay/host_state.h"

#include <filesystem>

#include "patchbay/data_folder.h"
#include "patchbay/tokens.h"

namespace patchbay {

namespace fs = std::filesystem;

namespace {
const std::vector<std::string> kAdminScopes = {"admin"};
}  // namespace

Result<std::unique_ptr<SqlDatabase>> openHostState(const std::string& dataDir) {
  std::error_code ec;
  fs::create_directories(dataDir, ec);
  if (ec) return Error::io(dataDir + ": cannot create the data folder: " + ec.message());
  auto postgresUrl = configuredPostgresUrl(dataDir + "/config.json");
  if (!postgresUrl) return postgresUrl.error();
  auto db = postgresUrl->empty() ? openSqlDatabase(dataDir + "/host.db") : openSqlDatabase(*postgresUrl, "patchbay_host");
  if (!db) return db.error();
  if (auto s = tokens::ensureSchema(**db); !s) return Error{s.error().kind, (*db)->describe() + ": " + s.error().message};
  return db;
}

Result<std::pair<TokenInfo, std::string>> createAdminToken(SqlDatabase& store, const std::string& name) {
  return tokens::create(store, name, kAdminScopes, kAdminScopes, "");
}

}  // namespace patchbay
