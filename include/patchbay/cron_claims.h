// patchbay/cron_claims.h — each plugin cron slot runs once in a cluster.
//
// Panels that run the same plugins on one database (docs/scale.md) would
// each start every due cron job. Given claims (RuntimeOptions::cronClaims),
// a runtime runs a slot — one job of one plugin (of one tenant) at one
// minute — only after claiming it, and the first process to claim it is
// the one that runs it:
//
//   auto claims = postgresCronClaims("postgresql://panel@db/panel");
//   auto fence = claims->claim({"", "billing", "invoices", minute});   // nullopt: another process has it
//   ... just before the run: claims->holds(slot, *fence) ...
//   claims->complete(slot, *fence, "");   // false: the lease ran out and another took the slot over
//
// A claim is a lease, renewed while the run goes on. A holder that goes
// quiet past it (killed, paused) loses the slot to the next process that
// asks (abandoned() lists such slots), and what it does after is refused:
// it no longer holds() the slot and its late complete() is not recorded,
// because every claim of a slot carries a higher fence number than the
// one before. Times are the
// database's (now()), never the processes' own clocks, so a process whose
// clock is off still runs the right minutes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

struct CronSlot {
  std::string tenant;  // "" for the host's own plugins
  std::string plugin;
  std::string job;
  std::chrono::system_clock::time_point minute;  // whole minute, UTC
};

class CronClaims {
 public:
  virtual ~CronClaims() = default;
  // The shared clock (the database's) now.
  virtual Result<std::chrono::system_clock::time_point> now() = 0;
  // The slot for this process: its fence number when this process is to
  // run it, nullopt when another holds it or has run it. A slot whose
  // holder's lease ran out before it completed is taken over.
  virtual Result<std::optional<int64_t>> claim(const CronSlot& slot) = 0;
  // Whether this process still holds the slot under `fence`, its lease not
  // run out: checked just before a run starts.
  virtual Result<bool> holds(const CronSlot& slot, int64_t fence) = 0;
  // A run ended (`error` "" when it succeeded): true when recorded, false
  // when the slot was taken over meanwhile (this run does not count).
  virtual Result<bool> complete(const CronSlot& slot, int64_t fence, const std::string& error) = 0;
  // A claimed slot this process will not run after all: given up at once,
  // so another process takes it over without waiting out the lease.
  virtual Status release(const CronSlot& slot, int64_t fence) = 0;
  // Extends the lease of every slot this process claimed and has not
  // completed or released (runs going on), so that a run longer than the
  // lease is not taken over while it goes on. Called every few seconds by
  // the scheduler; a process paused past its lease finds its claims gone
  // (taken over, or takeable) and does not get them back. Returns how many
  // are still held.
  virtual Result<size_t> renew() = 0;
  // The last hour's slots of `tenant` claimed and never completed whose
  // lease ran out (their holder died mid-run): to be claimed again.
  virtual Result<std::vector<CronSlot>> abandoned(const std::string& tenant) = 0;
};

// Claims in a PostgreSQL database (table cron_slots in schema patchbay_host),
// shared by every process given the same URL. `lease`: how long a claim
// holds without being renewed (renew()); a dead holder's slot is run by
// another process that long after its claim, at most. Holders are named
// `host:pid:random` in the table, for people reading it.
Result<std::shared_ptr<CronClaims>> postgresCronClaims(const std::string& url,
                                                       std::chrono::milliseconds lease = std::chrono::seconds(30));

}  // namespace patchbay
