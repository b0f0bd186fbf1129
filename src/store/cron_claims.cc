// CronClaims in PostgreSQL: one row per claimed slot, its fence bumped by
// every take-over, leases and times on the database's clock.
#include "patchbay/cron_claims.h"

#include <unistd.h>

#include <mutex>
#include <set>
#include <tuple>

#include "patchbay/integrity.h"
#include "patchbay/sql_database.h"

namespace patchbay {

namespace {

constexpr const char* kCronSchemaLock = "7253010003";

constexpr const char* kCronSchema = R"sql(
CREATE TABLE IF NOT EXISTS cron_slots (
  tenant      TEXT NOT NULL,
  plugin      TEXT NOT NULL,
  job         TEXT NOT NULL,
  slot        TIMESTAMPTZ NOT NULL,
  fence       BIGINT NOT NULL,
  holder      TEXT NOT NULL,
  claimed_at  TIMESTAMPTZ NOT NULL,
  lease_until TIMESTAMPTZ NOT NULL,
  done_at     TIMESTAMPTZ,
  error       TEXT,
  PRIMARY KEY (tenant, plugin, job, slot)
);
CREATE INDEX IF NOT EXISTS cron_slots_open ON cron_slots (tenant, lease_until) WHERE done_at IS NULL;
)sql";

std::string epochSeconds(std::chrono::system_clock::time_point t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

std::chrono::system_clock::time_point fromEpochSeconds(const std::string& text) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(text)));
}

class PostgresCronClaims final : public CronClaims {
 public:
  PostgresCronClaims(std::unique_ptr<SqlDatabase> db, std::chrono::milliseconds lease)
      : db_(std::move(db)), lease_(std::to_string(lease.count())), holder_(holderName()) {}

  Result<std::chrono::system_clock::time_point> now() override {
    std::lock_guard lock(mu_);
    auto rows = db_->query("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint");
    if (!rows) return rows.error();
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(std::stoll(rows->front()[0])));
  }

  Result<std::optional<int64_t>> claim(const CronSlot& s) override {
    std::lock_guard lock(mu_);
    // New: fence 1. Taken over (not completed, lease run out): fence + 1.
    // Anything else: no row comes back.
    auto rows = db_->query(
        "INSERT INTO cron_slots AS c (tenant, plugin, job, slot, fence, holder, claimed_at, lease_until) "
        "VALUES ($1, $2, $3, to_timestamp($4::bigint), 1, $5, now(), now() + $6::bigint * interval '1 millisecond') "
        "ON CONFLICT (tenant, plugin, job, slot) DO UPDATE SET fence = c.fence + 1, holder = excluded.holder, "
        "claimed_at = excluded.claimed_at, lease_until = excluded.lease_until "
        "WHERE c.done_at IS NULL AND c.lease_until < now() RETURNING fence",
        {s.tenant, s.plugin, s.job, epochSeconds(s.minute), holder_, lease_});
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<int64_t>();
    const int64_t fence = std::stoll(rows->front()[0]);
    live_.insert(key(s, fence));
    return std::optional<int64_t>(fence);
  }

  Result<bool> holds(const CronSlot& s, int64_t fence) override {
    std::lock_guard lock(mu_);
    auto rows = db_->query(
        "SELECT 1 FROM cron_slots WHERE tenant = $1 AND plugin = $2 AND job = $3 AND slot = to_timestamp($4::bigint) "
        "AND fence = $5::bigint AND done_at IS NULL AND lease_until > now()",
        {s.tenant, s.plugin, s.job, epochSeconds(s.minute), std::to_string(fence)});
    if (!rows) return rows.error();
    if (rows->empty()) live_.erase(key(s, fence));
    return !rows->empty();
  }

  Result<bool> complete(const CronSlot& s, int64_t fence, const std::string& error) override {
    std::lock_guard lock(mu_);
    auto rows = db_->query(
        "UPDATE cron_slots SET done_at = now(), error = $6 WHERE tenant = $1 AND plugin = $2 AND job = $3 "
        "AND slot = to_timestamp($4::bigint) AND fence = $5::bigint AND done_at IS NULL",
        {s.tenant, s.plugin, s.job, epochSeconds(s.minute), std::to_string(fence), error});
    if (!rows) return rows.error();
    live_.erase(key(s, fence));
    return db_->changes() == 1;
  }

  Status release(const CronSlot& s, int64_t fence) override {
    std::lock_guard lock(mu_);
    live_.erase(key(s, fence));
    auto rows = db_->query(
        "UPDATE cron_slots SET lease_until = now() - interval '1 millisecond' WHERE tenant = $1 AND plugin = $2 AND job = $3 "
        "AND slot = to_timestamp($4::bigint) AND fence = $5::bigint AND done_at IS NULL",
        {s.tenant, s.plugin, s.job, epochSeconds(s.minute), std::to_string(fence)});
    if (!rows) return rows.error();
    return {};
  }

  Result<size_t> renew() override {
    std::lock_guard lock(mu_);
    for (auto it = live_.begin(); it != live_.end();) {
      const auto& [tenant, plugin, job, minute, fence] = *it;
      auto rows = db_->query(
          "UPDATE cron_slots SET lease_until = now() + $6::bigint * interval '1 millisecond' WHERE tenant = $1 AND plugin = $2 "
          "AND job = $3 AND slot = to_timestamp($4::bigint) AND fence = $5::bigint AND done_at IS NULL AND lease_until > now()",
          {tenant, plugin, job, minute, std::to_string(fence), lease_});
      if (!rows) return rows.error();
      it = db_->changes() == 1 ? std::next(it) : live_.erase(it);  // lost: past its lease, or taken over
    }
    return live_.size();
  }

  Result<std::vector<CronSlot>> abandoned(const std::string& tenant) override {
    std::lock_guard lock(mu_);
    auto rows = db_->query(
        "SELECT plugin, job, extract(epoch FROM slot)::bigint FROM cron_slots WHERE tenant = $1 AND done_at IS NULL "
        "AND lease_until < now() AND slot > now() - interval '1 hour' ORDER BY slot",
        {tenant});
    if (!rows) return rows.error();
    std::vector<CronSlot> out;
    for (const auto& row : *rows) out.push_back({tenant, row[0], row[1], fromEpochSeconds(row[2])});
    return out;
  }

 private:
  // A claim: tenant, plugin, job, minute (epoch seconds), fence.
  using Key = std::tuple<std::string, std::string, std::string, std::string, int64_t>;
  static Key key(const CronSlot& s, int64_t fence) { return {s.tenant, s.plugin, s.job, epochSeconds(s.minute), fence}; }
  // host:pid:random: who holds a claim, for people reading the table.
  static std::string holderName() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + randomHex(4);
  }

  std::mutex mu_;
  std::unique_ptr<SqlDatabase> db_;  // guarded by mu_
  const std::string lease_;          // milliseconds
  const std::string holder_;
  std::set<Key> live_;  // claimed here, not completed or released: renewed; guarded by mu_
};

}  // namespace

Result<std::shared_ptr<CronClaims>> postgresCronClaims(const std::string& url, std::chrono::milliseconds lease) {
  if (!isPostgresUrl(url)) return Error::invalid("cron claims need a postgresql:// URL");
  auto db = openSqlDatabase(url, "patchbay_host");
  if (!db) return db.error();
  {
    // Made once per cluster: processes starting together wait for each other.
    SqlTransaction tx(**db);
    if (auto s = tx.begin(); !s) return s.error();
    if (auto r = (*db)->query("SELECT pg_advisory_xact_lock($1)", {kCronSchemaLock}); !r) return r.error();
    if (auto s = (*db)->exec(kCronSchema); !s) return s.error();
    if (auto s = tx.commit(); !s) return s.error();
  }
  return std::shared_ptr<CronClaims>(std::make_shared<PostgresCronClaims>(std::move(*db), lease));
}

}  // namespace patchbay
