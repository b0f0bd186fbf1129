// Each cron slot once per cluster: two runtimes (two panel processes' worth)
// run the same plugin's jobs with claims on one PostgreSQL, the clock
// driven as the cron tests drive it. Every slot runs exactly once across
// them; a slot whose holder died is taken over once its lease runs out, and
// the dead holder's late completion is refused (fenced); a holder paused
// past its lease does not start the run it claimed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <unistd.h>

#include "patchbay/cron_claims.h"
#include "patchbay/postgres.h"
#include "patchbay/runtime.h"
#include "support/postgres_server.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Minute = std::chrono::system_clock::time_point;

constexpr auto kLease = std::chrono::milliseconds(400);

constexpr const char* kTicker = R"js(
export default function (sodium) {
  let ticks = 0;
  sodium.cron.register('tick', '* * * * *', async () => { ticks++; await new Promise((r) => setTimeout(r, 5)); });
  sodium.cron.register('hourly', '0 * * * *', () => { ticks += 1000; });
  return { ticks: () => ticks };
}
)js";

class ClusterCronTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pg_.ok()) << pg_.error();
    pg_.createDatabase("panel");
    url_ = pg_.url("panel");
    test::writeFile(dir_ / "plugins" / "ticker" / "plugin.json", json{{"id", "ticker"}, {"name", "Ticker"}, {"version", "1.0.0"}}.dump());
    test::writeFile(dir_ / "plugins" / "ticker" / "server.js", kTicker);
    for (const char* name : {"a", "b"}) runtimes_.push_back(start(name));
  }
  std::shared_ptr<CronClaims> claims() {
    auto c = postgresCronClaims(url_, kLease);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : nullptr;
  }
  std::unique_ptr<Runtime> start(const std::string& name) {
    RuntimeOptions options;
    options.dataDir = (dir_ / ("data-" + name)).string();
    options.cronScheduler = false;  // the test drives the minutes
    options.cronClaims = claims();
    auto rt = Runtime::create(options);
    EXPECT_TRUE(rt.ok()) << rt.error().message;
    EXPECT_TRUE((*rt)->activate((dir_ / "plugins" / "ticker").string()).ok());
    return std::move(*rt);
  }
  // Runs of `job` in both runtimes, once neither has one going.
  uint64_t runs(const std::string& job) {
    uint64_t total = 0;
    for (int i = 0; i < 500; ++i) {
      bool running = false;
      total = 0;
      for (auto& rt : runtimes_) {
        for (const auto& j : rt->cronJobs()) {
          if (j.id != job) continue;
          running = running || j.running;
          total += j.runs;
        }
      }
      if (!running) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return total;
  }
  std::string slotRows(const std::string& where) {
    auto pg = PgConnection::connect(url_);
    if (!pg) return pg.error().message;
    auto rows = pg->query("SELECT count(*) FROM patchbay_host.cron_slots WHERE " + where);
    return rows ? rows->front()[0].value_or("") : rows.error().message;
  }

  test::PostgresServer pg_;
  std::string url_;
  test::TempDir dir_;
  std::vector<std::unique_ptr<Runtime>> runtimes_;
};

// Slots in the last hour count as abandoned when unfinished: those tests
// take the present minute.
Minute thisMinute() { return std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now()); }

Minute at(int minuteOfDay) {
  // 2026-12-01T00:00Z plus whole minutes.
  return Minute(std::chrono::seconds(1'764'547'200)) + std::chrono::minutes(minuteOfDay);
}

TEST_F(ClusterCronTest, EverySlotRunsOnceAcrossTheProcesses) {
  // Both "processes" reach each minute at the same moment.
  constexpr int kSlots = 90;
  for (int m = 0; m < kSlots; ++m) {
    std::thread other([&] { runtimes_[1]->runDueCronJobs(at(m)); });
    runtimes_[0]->runDueCronJobs(at(m));
    other.join();
    runs("tick");  // minutes are a minute apart: the runs end before the next
  }
  EXPECT_EQ(runs("tick"), static_cast<uint64_t>(kSlots));
  EXPECT_EQ(runs("hourly"), 2u);  // 00:00 and 01:00
  uint64_t elsewhere = 0;
  for (auto& rt : runtimes_) {
    for (const auto& j : rt->cronJobs()) elsewhere += j.claimedElsewhere;
  }
  EXPECT_EQ(elsewhere, static_cast<uint64_t>(kSlots + 2)) << "each slot is claimed once and declined once";
  const json a = json::parse(*runtimes_[0]->call("ticker", "ticks")), b = json::parse(*runtimes_[1]->call("ticker", "ticks"));
  EXPECT_EQ(a.get<int>() + b.get<int>(), kSlots + 2000);
  EXPECT_EQ(slotRows("done_at IS NOT NULL AND fence = 1"), std::to_string(kSlots + 2)) << "a slot run twice, or never";
  // The same minute again (a catch-up after a pause): nothing runs twice.
  runtimes_[0]->runDueCronJobs(at(5));
  EXPECT_EQ(runs("tick"), static_cast<uint64_t>(kSlots));
}

TEST_F(ClusterCronTest, ADeadHoldersSlotIsTakenOverAndItsLateCompletionRefused) {
  auto dead = claims();
  const CronSlot slot{"", "ticker", "tick", thisMinute()};
  auto fence = dead->claim(slot);
  ASSERT_TRUE(fence.ok() && fence->has_value());
  EXPECT_EQ(**fence, 1);
  // While its lease holds, nobody else runs the slot.
  for (auto& rt : runtimes_) rt->runDueCronJobs(slot.minute);
  EXPECT_EQ(runs("tick"), 0u);
  for (auto& rt : runtimes_) rt->runAbandonedCronJobs();
  EXPECT_EQ(runs("tick"), 0u) << "taken over while its lease still held";
  // The holder died: after its lease, one of the others runs the slot, once.
  std::this_thread::sleep_for(kLease + std::chrono::milliseconds(200));
  std::thread other([&] { runtimes_[1]->runAbandonedCronJobs(); });
  runtimes_[0]->runAbandonedCronJobs();
  other.join();
  EXPECT_EQ(runs("tick"), 1u);
  EXPECT_EQ(slotRows("done_at IS NOT NULL AND fence = 2"), "1");
  // The old holder comes back: its claim is no longer held, its completion not recorded.
  EXPECT_FALSE(*dead->holds(slot, 1));
  EXPECT_FALSE(*dead->complete(slot, 1, ""));
  // And a completed slot is never claimed again.
  EXPECT_FALSE(dead->claim(slot)->has_value());
}

TEST_F(ClusterCronTest, ARunLongerThanItsLeaseKeepsItsSlotAndAReleasedSlotIsFreeAtOnce) {
  auto holder = claims(), other = claims();
  // One minute for the whole test: read again, it may have turned (the test
  // takes seconds), and "two minutes ago" would be the slot "one minute ago" was.
  const auto minute = thisMinute();
  const CronSlot slot{"", "ticker", "tick", minute};
  auto fence = holder->claim(slot);
  ASSERT_TRUE(fence.ok() && fence->has_value());
  // Renewed (as the scheduler does every few seconds) for three leases: never taken over.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(kLease / 2);
    auto held = holder->renew();
    ASSERT_TRUE(held.ok()) << held.error().message;
    EXPECT_EQ(*held, 1u) << "renewal " << i;
    EXPECT_FALSE(other->claim(slot)->has_value()) << "taken over while renewed, after " << (i + 1) << " half-leases";
  }
  EXPECT_TRUE(*holder->holds(slot, **fence));
  EXPECT_TRUE(*holder->complete(slot, **fence, ""));
  EXPECT_EQ(*holder->renew(), 0u) << "a completed slot is not renewed";
  // A holder that stops renewing (paused past its lease) does not get its slot back.
  const CronSlot next{"", "ticker", "tick", minute - std::chrono::minutes(1)};
  auto late = holder->claim(next);
  ASSERT_TRUE(late.ok() && late->has_value());
  std::this_thread::sleep_for(kLease + std::chrono::milliseconds(200));
  EXPECT_EQ(*holder->renew(), 0u) << "renewed past its lease";
  auto taken = other->claim(next);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ(**taken, 2);
  EXPECT_FALSE(*holder->complete(next, **late, ""));
  // Released (claimed, then not started here): the next process takes it at once.
  const CronSlot third{"", "ticker", "tick", minute - std::chrono::minutes(2)};
  auto given = holder->claim(third);
  ASSERT_TRUE(given.ok() && given->has_value());
  EXPECT_FALSE(other->claim(third)->has_value());
  ASSERT_TRUE(holder->release(third, **given).ok());
  EXPECT_EQ(*holder->renew(), 0u);
  auto after = other->claim(third);
  ASSERT_TRUE(after.ok() && after->has_value()) << "a released slot waited for its lease";
  EXPECT_EQ(slotRows("holder LIKE '%:" + std::to_string(::getpid()) + ":%'"), "3") << "holders are named host:pid:random";
}

TEST_F(ClusterCronTest, AHolderPausedPastItsLeaseDoesNotStartTheRun) {
  // Claimed by a process that then stopped (SIGSTOP) before starting the run.
  auto paused = claims();
  const CronSlot slot{"", "ticker", "tick", thisMinute()};
  ASSERT_TRUE(paused->claim(slot)->has_value());
  std::this_thread::sleep_for(kLease + std::chrono::milliseconds(200));
  runtimes_[0]->runAbandonedCronJobs();
  EXPECT_EQ(runs("tick"), 1u);
  // SIGCONT: before starting, it asks whether it still holds the slot.
  EXPECT_FALSE(*paused->holds(slot, 1));
  // Times are the database's: its clock and this machine's agree here, and
  // the claims never read the process's own.
  auto now = paused->now();
  ASSERT_TRUE(now.ok()) << now.error().message;
  EXPECT_LT(std::chrono::abs(*now - std::chrono::system_clock::now()), std::chrono::seconds(5));
}

}  // namespace
}  // namespace patchbay
