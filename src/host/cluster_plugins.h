// The plugins a cluster of hosts on one PostgreSQL runs (issue 16), and how
// each process comes to run them.
//
// The desired state (each installed plugin's version, whether it is active,
// and what an administrator set for it: its outbound HTTP grant and request
// body limit) lives in patchbay_host.plugin_desired with a generation counter
// (patchbay_host.plugin_generation). An administrator's change, on any
// process, runs under the cluster's plugin lock (a PostgreSQL advisory
// lock): the process first converges to the desired state, then makes the
// change through its installer (a plugin's migrations run there, in the
// plugin's schema, which every process shares: once per cluster, since the
// others find the steps applied), then writes its installed set as the new
// desired state, bumps the generation and NOTIFYs patchbay_plugins, in one
// transaction.
//
// Every process LISTENs on patchbay_plugins, and re-reads the generation
// after each (re)connect and every `period` (a lost notification costs at
// most one period). When it is ahead of what the process applied, the
// process converges under the lock: installs, upgrades or downgrades to the
// exact versions, activates, deactivates, and uninstalls what is no longer
// wanted (its local files only: the data is the cluster's, and the process
// that uninstalled has dealt with it). Packages come from the host's
// configured source. Each process reports the generation it applied, and
// when, in patchbay_host.plugin_applied.
//
// Until a process runs a plugin at the desired version and activation, it
// does not serve it (refusal(): the host answers 503 with Retry-After).
//
// Tenants' plugins (rows of the shared database) are changed the same way:
// under the lock, then a new generation; every process, converging to it,
// starts and stops its tenant instances to match the rows (Local::converged).
//
// The first process of a cluster (no generation yet) makes its installed set
// the desired state. Plugins placed in the plugins folder by hand (not by the
// installer) are each process's own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "patchbay/postgres.h"
#include "patchbay/result.h"
#include "patchbay/runtime.h"

namespace patchbay {

struct WantedPlugin {
  std::string id;
  std::string version;
  bool active = false;
  std::optional<FetchGrant> grant;           // an administrator's; none: the manifest decides
  std::optional<uint64_t> maxBodyBytes;      // an administrator's; none: the host's default
  bool operator==(const WantedPlugin&) const = default;
};

class ClusterPlugins {
 public:
  // What the process's host does to its own plugins.
  struct Local {
    std::function<std::vector<WantedPlugin>()> installed;  // what the installer installed here
    std::function<Status(const WantedPlugin&)> install;     // at exactly that version
    std::function<Status(const WantedPlugin&)> changeVersion;
    std::function<Status(const std::string& id)> removeFiles;  // uninstall, data kept (it is the cluster's)
    std::function<Status(const std::string& id, bool active)> setActive;
    std::function<Status(const WantedPlugin&)> setAccess;  // its grant and body limit, as wanted
    // After each convergence: what else follows the plugins (the tenants' instances).
    std::function<void()> converged;
    std::function<void(const std::string& level, const std::string& message)> log;
  };

  // Connects, makes the tables (under the lock), and starts listening and
  // converging. `process` names this process in plugin_applied.
  static Result<std::unique_ptr<ClusterPlugins>> start(const std::string& url, std::string process, Local local,
                                                       std::chrono::milliseconds period = std::chrono::seconds(5));
  ~ClusterPlugins();
  ClusterPlugins(const ClusterPlugins&) = delete;
  ClusterPlugins& operator=(const ClusterPlugins&) = delete;

  // Runs `change` (an administrator's install, upgrade, uninstall,
  // activation) as the cluster's: under the lock, after converging; then
  // publishes this process's installed set. `change`'s error is returned
  // (nothing is published for a change that failed); kUnavailable when
  // PostgreSQL cannot be reached (`change` did not run).
  Status change(const std::function<Status()>& change);

  // "" when plugin `id` may be served here now; otherwise why not.
  std::string refusal(const std::string& id) const;

  // {"process", "generation" (the cluster's, as last read), "applied" (this
  //  process's), "desired": [{id, version, active}], "processes": [{process,
  //  generation, at, problems}]}
  std::string statusJson();

  // Converge now (tests; the listener and the timer call it too).
  void wake();

 private:
  ClusterPlugins(std::string url, std::string process, Local local, std::chrono::milliseconds period);
  void run();
  // With the lock held by the caller: brings this process to `wanted`;
  // problems, one line per plugin that could not be brought.
  std::vector<std::string> converge(const std::vector<WantedPlugin>& wanted);
  // Connected (again when the last connection dropped) and with the tables.
  Status connection();
  Status lock();
  void unlock();
  // Reads the generation and the desired set; remembers them for refusal().
  Result<std::pair<int64_t, std::vector<WantedPlugin>>> readDesired();
  // Writes the local installed set as the desired state, generation + 1.
  Result<int64_t> publish();
  void reportApplied(int64_t generation, const std::vector<std::string>& problems);
  void recomputeRefusals();
  // A change made here whose publishing failed gives way to another process's that came after it.
  void dropPendingChange();
  // One pass: the generation read, and converged to when ahead.
  void pass();

  const std::string url_, process_;
  Local local_;
  const std::chrono::milliseconds period_;

  std::mutex opMu_;  // one change or convergence at a time; guards pg_, pendingPublish_
  std::optional<PgConnection> pg_;
  bool pendingPublish_ = false;  // a change ran here but its publishing failed…
  int64_t pendingBase_ = -1;     // …made over this generation (published only if it is still the cluster's)

  mutable std::mutex stateMu_;
  std::condition_variable wakeCv_;
  bool wakeUp_ = false, stopping_ = false;
  int64_t generation_ = -1, applied_ = -1;  // -1: not known yet
  std::optional<std::vector<WantedPlugin>> desired_;
  std::map<std::string, WantedPlugin> here_;  // installed here, as last seen
  std::set<std::string> refused_;

  std::unique_ptr<PgListener> listener_;
  std::thread worker_;
};

}  // namespace patchbay
