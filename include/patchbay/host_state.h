// patchbay/host_state.h — the host's own state (admin tokens, audit log,
// tenants), apart from its runtime: data/host.db, or with config.json's
// "database" URL the patchbay_host schema there. `patchbay admin-token`
// and Host::open (patchbay/host.h) both open it here.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "patchbay/result.h"
#include "patchbay/sql_database.h"
#include "patchbay/tokens.h"

namespace patchbay {

// Opens it (making the tokens table when missing).
Result<std::unique_ptr<SqlDatabase>> openHostState(const std::string& dataDir);
// An admin token (scope "admin"); returns it and its secret, shown once.
Result<std::pair<TokenInfo, std::string>> createAdminToken(SqlDatabase& store, const std::string& name);

}  // namespace patchbay
