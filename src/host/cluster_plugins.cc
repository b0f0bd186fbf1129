// ClusterPlugins: the desired plugin state in PostgreSQL, and converging to it.
#include "host/cluster_plugins.h"

#include <nlohmann/json.hpp>

namespace patchbay {

namespace {

using json = nlohmann::ordered_json;

// pg_advisory_lock's key for "the cluster's plugins are being changed".
constexpr const char* kLockKey = "7061966117161";
constexpr const char* kChannel = "patchbay_plugins";
// How long an administrator's change waits for another process's.
constexpr auto kChangeWait = std::chrono::seconds(120);

constexpr const char* kTables = R"sql(
CREATE SCHEMA IF NOT EXISTS patchbay_host;
CREATE TABLE IF NOT EXISTS patchbay_host.plugin_generation (
  one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), generation BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS patchbay_host.plugin_desired (
  plugin TEXT PRIMARY KEY, version TEXT NOT NULL, active BOOLEAN NOT NULL);
ALTER TABLE patchbay_host.plugin_desired ADD COLUMN IF NOT EXISTS fetch_grant TEXT, ADD COLUMN IF NOT EXISTS max_body_bytes BIGINT;
CREATE TABLE IF NOT EXISTS patchbay_host.plugin_applied (
  process TEXT PRIMARY KEY, generation BIGINT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now(), problems TEXT NOT NULL DEFAULT '')
)sql";

// A grant as stored and shown: {"fetch": bool, "hosts": [...]}, or null.
json grantJson(const std::optional<FetchGrant>& grant) {
  return grant ? json{{"fetch", grant->allowed}, {"hosts", grant->hosts}} : json(nullptr);
}

std::optional<FetchGrant> grantFrom(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  FetchGrant g;
  g.allowed = j.value("fetch", true);
  for (const auto& h : j.value("hosts", nlohmann::json::array())) {
    if (h.is_string()) g.hosts.push_back(h.get<std::string>());
  }
  return g;
}

Error unavailable(const std::string& what, const Error& e) {
  return Error{ErrorKind::kUnavailable, "the cluster's plugin state (PostgreSQL): " + what + ": " + e.message};
}

}  // namespace

ClusterPlugins::ClusterPlugins(std::string url, std::string process, Local local, std::chrono::milliseconds period)
    : url_(std::move(url)), process_(std::move(process)), local_(std::move(local)), period_(period) {}

Result<std::unique_ptr<ClusterPlugins>> ClusterPlugins::start(const std::string& url, std::string process, Local local,
                                                              std::chrono::milliseconds period) {
  std::unique_ptr<ClusterPlugins> c(new ClusterPlugins(url, std::move(process), std::move(local), period));
  {
    std::lock_guard op(c->opMu_);
    if (auto s = c->connection(); !s) return s.error();
  }
  c->worker_ = std::thread([p = c.get()] { p->run(); });
  c->listener_ = std::make_unique<PgListener>(url, kChannel, PgListener::Callbacks{.connected = [p = c.get()] { p->wake(); },
                                                                                   .notified = [p = c.get()](const PgNotification&) { p->wake(); }});
  return c;
}

ClusterPlugins::~ClusterPlugins() {
  if (listener_) listener_->stop();
  {
    std::lock_guard lock(stateMu_);
    stopping_ = true;
  }
  wakeCv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ClusterPlugins::wake() {
  {
    std::lock_guard lock(stateMu_);
    wakeUp_ = true;
  }
  wakeCv_.notify_all();
}

void ClusterPlugins::run() {
  while (true) {
    {
      std::unique_lock lock(stateMu_);
      wakeCv_.wait_for(lock, period_, [this] { return stopping_ || wakeUp_; });
      if (stopping_) return;
      wakeUp_ = false;
    }
    pass();
  }
}

Status ClusterPlugins::connection() {
  if (pg_ && pg_->connected()) return {};
  pg_.reset();
  auto pg = PgConnection::connect(url_, 2);
  if (!pg) return unavailable("connect", pg.error());
  pg_ = std::move(*pg);
  // The tables, made once (concurrent CREATE ... IF NOT EXISTS can collide).
  if (auto s = lock(); !s) return s;
  Status made = pg_->exec(kTables);
  unlock();
  if (!made) return unavailable("tables", made.error());
  return {};
}

Status ClusterPlugins::lock() {
  const auto deadline = std::chrono::steady_clock::now() + kChangeWait;
  while (true) {
    auto got = pg_->query("SELECT pg_try_advisory_lock($1::bigint)", {kLockKey});
    if (!got) return unavailable("lock", got.error());
    if ((*got)[0][0].value_or("f") == "t") return {};
    {
      std::unique_lock state(stateMu_);
      if (stopping_) return Error{ErrorKind::kUnavailable, "stopping"};
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{ErrorKind::kUnavailable, "another process has been changing the cluster's plugins for over 2 minutes; try again"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void ClusterPlugins::unlock() {
  if (pg_ && pg_->connected()) (void)pg_->query("SELECT pg_advisory_unlock($1::bigint)", {kLockKey});
}

Result<std::pair<int64_t, std::vector<WantedPlugin>>> ClusterPlugins::readDesired() {
  // One snapshot of both (REPEATABLE READ): the generation and the rows it describes.
  if (auto s = pg_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !s) return unavailable("read", s.error());
  auto gen = pg_->query("SELECT generation FROM patchbay_host.plugin_generation");
  auto rows = pg_->query("SELECT plugin, version, active, fetch_grant, max_body_bytes FROM patchbay_host.plugin_desired ORDER BY plugin");
  (void)pg_->exec("COMMIT");
  if (!gen) return unavailable("read", gen.error());
  if (!rows) return unavailable("read", rows.error());
  std::pair<int64_t, std::vector<WantedPlugin>> out{-1, {}};
  if (!gen->empty()) out.first = std::stoll((*gen)[0][0].value_or("0"));
  for (const auto& r : *rows) {
    out.second.push_back({r[0].value_or(""), r[1].value_or(""), r[2].value_or("f") == "t", grantFrom(r[3]),
                          r[4] ? std::optional<uint64_t>(std::stoull(*r[4])) : std::nullopt});
  }
  {
    std::lock_guard lock(stateMu_);
    generation_ = out.first;
    if (out.first >= 0) desired_ = out.second;
  }
  recomputeRefusals();
  return out;
}

Result<int64_t> ClusterPlugins::publish() {
  const auto here = local_.installed();
  auto fail = [&](const Error& e) -> Error {
    (void)pg_->exec("ROLLBACK");
    return unavailable("publish", e);
  };
  if (auto s = pg_->exec("BEGIN"); !s) return unavailable("publish", s.error());
  if (auto s = pg_->exec("DELETE FROM patchbay_host.plugin_desired"); !s) return fail(s.error());
  for (const auto& p : here) {
    auto put = pg_->query(
        "INSERT INTO patchbay_host.plugin_desired (plugin, version, active, fetch_grant, max_body_bytes) "
        "VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, '')::bigint)",  // "": none
        {p.id, p.version, p.active ? "true" : "false", p.grant ? grantJson(p.grant).dump() : "",
         p.maxBodyBytes ? std::to_string(*p.maxBodyBytes) : ""});
    if (!put) return fail(put.error());
  }
  auto gen = pg_->query(
      "INSERT INTO patchbay_host.plugin_generation (one, generation) VALUES (TRUE, 1) "
      "ON CONFLICT (one) DO UPDATE SET generation = patchbay_host.plugin_generation.generation + 1 RETURNING generation");
  if (!gen) return fail(gen.error());
  const std::string generation = (*gen)[0][0].value_or("0");
  if (auto told = pg_->query("SELECT pg_notify($1, $2)", {kChannel, generation}); !told) return fail(told.error());
  if (auto s = pg_->exec("COMMIT"); !s) return unavailable("publish", s.error());
  const int64_t g = std::stoll(generation);
  {
    std::lock_guard lock(stateMu_);
    generation_ = applied_ = g;
    desired_ = here;
  }
  recomputeRefusals();
  reportApplied(g, {});
  return g;
}

void ClusterPlugins::reportApplied(int64_t generation, const std::vector<std::string>& problems) {
  std::string text;
  for (const auto& p : problems) text += (text.empty() ? "" : "\n") + p;
  (void)pg_->query(
      "INSERT INTO patchbay_host.plugin_applied (process, generation, at, problems) VALUES ($1, $2, now(), $3) "
      "ON CONFLICT (process) DO UPDATE SET generation = excluded.generation, at = excluded.at, problems = excluded.problems",
      {process_, std::to_string(generation), text});
}

void ClusterPlugins::recomputeRefusals() {
  std::map<std::string, WantedPlugin> here;
  for (auto& p : local_.installed()) here[p.id] = p;
  std::lock_guard lock(stateMu_);
  here_ = std::move(here);
  refused_.clear();
  if (!desired_) return;
  std::set<std::string> wanted;
  for (const auto& d : *desired_) {
    wanted.insert(d.id);
    auto it = here_.find(d.id);
    if (it == here_.end() || !(it->second == d)) refused_.insert(d.id);
  }
  for (const auto& [id, p] : here_) {
    if (!wanted.contains(id)) refused_.insert(id);
  }
}

std::string ClusterPlugins::refusal(const std::string& id) const {
  std::lock_guard lock(stateMu_);
  if (!refused_.contains(id)) return "";
  return "plugin \"" + id + "\" is being brought to the cluster's state (generation " + std::to_string(generation_) +
         ") on this process; try again in a moment";
}

std::vector<std::string> ClusterPlugins::converge(const std::vector<WantedPlugin>& wanted) {
  std::vector<std::string> problems;
  // `what`: "install 1.0.0", "move to 2.0.0", "uninstall", "activate", "deactivate".
  auto note = [&](const std::string& id, const std::string& what, const Status& s) {
    if (s) {
      local_.log("info", "cluster: " + id + ": " + what + ": done");
    } else {
      problems.push_back(id + ": could not " + what + ": " + s.error().message);
      local_.log("error", "cluster: " + id + ": could not " + what + ": " + s.error().message);
    }
  };
  std::map<std::string, WantedPlugin> here;
  for (auto& p : local_.installed()) here[p.id] = p;
  std::set<std::string> ids;
  for (const auto& w : wanted) ids.insert(w.id);
  for (const auto& [id, p] : here) {
    if (!ids.contains(id)) note(id, "uninstall", local_.removeFiles(id));
  }
  for (const auto& w : wanted) {
    // An install may have brought this one along (a dependency): look again.
    std::optional<WantedPlugin> have;
    for (auto& p : local_.installed()) {
      if (p.id == w.id) have = p;
    }
    if (!have) {
      Status s = local_.install(w);
      note(w.id, "install " + w.version, s);
      if (!s) continue;
    } else if (have->version != w.version) {
      Status s = local_.changeVersion(w);
      note(w.id, "move to " + w.version, s);
      if (!s) continue;
    }
    for (auto& p : local_.installed()) {
      if (p.id != w.id) continue;
      if (p.active != w.active) note(w.id, w.active ? "activate" : "deactivate", local_.setActive(w.id, w.active));
      if (p.grant != w.grant || p.maxBodyBytes != w.maxBodyBytes) note(w.id, "take its grant and body limit", local_.setAccess(w));
    }
  }
  if (local_.converged) local_.converged();
  return problems;
}

void ClusterPlugins::dropPendingChange() {
  pendingPublish_ = false;
  local_.log("error",
             "cluster: a change made here could not be published, and another process changed the plugins since: this process takes the "
             "cluster's state (the change made here is undone)");
}

void ClusterPlugins::pass() {
  std::lock_guard op(opMu_);
  if (auto s = connection(); !s) {
    local_.log("warn", s.error().message);
    return;
  }
  // Read first, without the lock: from now on what is not at the desired state is not served.
  auto desired = readDesired();
  if (!desired) {
    local_.log("warn", desired.error().message);
    return;
  }
  int64_t applied;
  {
    std::lock_guard lock(stateMu_);
    applied = applied_;
  }
  if (desired->first == applied && !pendingPublish_) {
    reportApplied(applied, {});  // alive, and where it stands
    return;
  }
  if (auto s = lock(); !s) {
    local_.log("warn", s.error().message);
    return;
  }
  desired = readDesired();  // again, under the lock: another change may have come in between
  if (!desired) {
    unlock();
    return;
  }
  if (desired->first < 0 || (pendingPublish_ && desired->first == pendingBase_)) {
    // The cluster's first process, or a change made here whose publishing
    // failed and that nothing has come after: this set is the desired one.
    auto g = publish();
    if (g) {
      pendingPublish_ = false;
      local_.log("info", "cluster: this process's plugins are the cluster's (generation " + std::to_string(*g) + ")");
    }
    unlock();
    return;
  }
  if (pendingPublish_) dropPendingChange();
  auto problems = converge(desired->second);
  unlock();
  recomputeRefusals();
  if (problems.empty()) {
    std::lock_guard lock(stateMu_);
    applied_ = desired->first;
  }
  reportApplied(problems.empty() ? desired->first : applied, problems);
  if (!problems.empty()) local_.log("warn", "cluster: generation " + std::to_string(desired->first) + " not applied yet; tried again in " +
                                                std::to_string(period_.count()) + " ms");
}

Status ClusterPlugins::change(const std::function<Status()>& change) {
  std::lock_guard op(opMu_);
  if (auto s = connection(); !s) return s;
  if (auto s = lock(); !s) return s;
  auto desired = readDesired();
  if (!desired) {
    unlock();
    return desired.error();
  }
  if (pendingPublish_ && desired->first != pendingBase_) dropPendingChange();
  if (desired->first >= 0 && !pendingPublish_) {
    int64_t applied;
    {
      std::lock_guard lock(stateMu_);
      applied = applied_;
    }
    if (desired->first != applied) {
      auto problems = converge(desired->second);
      recomputeRefusals();
      if (!problems.empty()) {
        // Publishing this process's set now would take the plugins it could not bring along away from every process.
        unlock();
        reportApplied(applied, problems);
        std::string why;
        for (const auto& p : problems) why += (why.empty() ? "" : "; ") + p;
        return Error::unavailable("this process is not at the cluster's plugin state (" + why +
                                  "), so the change was not made: make it through another process, or fix this one's package source first");
      }
      std::lock_guard lock(stateMu_);
      applied_ = desired->first;
    }
  }
  Status done = change();
  if (!done) {
    unlock();
    return done;  // all or nothing: this process's set is as it was
  }
  auto g = publish();
  unlock();
  if (!g) {
    // Made here but not yet the cluster's: published at the next pass (when no other change came first).
    pendingPublish_ = true;
    pendingBase_ = desired->first;
    local_.log("error", "cluster: " + g.error().message + " (published when PostgreSQL answers again)");
  }
  return done;
}

std::string ClusterPlugins::statusJson() {
  json out = json::object();
  out["process"] = process_;
  {
    std::lock_guard lock(stateMu_);
    out["generation"] = generation_;
    out["applied"] = applied_;
    json desired = json::array();
    for (const auto& d : desired_.value_or(std::vector<WantedPlugin>{})) {
      desired.push_back({{"id", d.id},
                         {"version", d.version},
                         {"active", d.active},
                         {"grant", grantJson(d.grant)},
                         {"maxBodyBytes", d.maxBodyBytes ? json(*d.maxBodyBytes) : json(nullptr)}});
    }
    out["desired"] = desired;
    out["notServed"] = refused_;
  }
  json processes = json::array();
  // A connection of its own: a convergence under way holds the process's.
  if (auto pg = PgConnection::connect(url_, 2)) {
    auto rows = pg->query("SELECT process, generation, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), problems "
                           "FROM patchbay_host.plugin_applied ORDER BY process");
    if (rows) {
      for (const auto& r : *rows) {
        processes.push_back({{"process", r[0].value_or("")}, {"generation", std::stoll(r[1].value_or("0"))}, {"at", r[2].value_or("")},
                             {"problems", r[3].value_or("")}});
      }
    }
  }
  out["processes"] = processes;
  return out.dump();
}

}  // namespace patchbay
