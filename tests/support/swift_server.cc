#include "support/swift_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "patchbay/http_client.h"
#include "support/test_util.h"

extern char** environ;

namespace patchbay::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string serverConf(const fs::path& dir, const std::string& kind, int port) {
  return "[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = " + std::to_string(port) + "\nworkers = 0\nuser = " +
         (::geteuid() == 0 ? std::string("root") : std::string(::getlogin() ? ::getlogin() : "nobody")) + "\nswift_dir = " + dir.string() +
         "\ndevices = " + (dir / "devices").string() + "\nmount_check = false\nlog_level = WARNING\n\n[pipeline:main]\npipeline = " + kind +
         "-server\n\n[app:" + kind + "-server]\nuse = egg:swift#" + kind + "\n";
}

}  // namespace

SwiftServer::SwiftServer() {
  for (const char* tool : {"/usr/bin/swift-proxy-server", "/usr/bin/swift-ring-builder", "/usr/bin/memcached"}) {
    if (!fs::exists(tool)) {
      error_ = std::string("no ") + tool + " (scripts/setup installs Debian's swift-proxy, swift-object, swift-container, swift-account, memcached)";
      return;
    }
  }
  std::string tmpl = (fs::temp_directory_path() / "patchbay-swift-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    error_ = "cannot make a temporary folder";
    return;
  }
  dir_ = tmpl;
  fs::create_directories(dir_ / "devices" / "d1");
  const int objectPort = freeLoopbackPort(), containerPort = freeLoopbackPort(), accountPort = freeLoopbackPort();
  const int memcachedPort = freeLoopbackPort();
  proxyPort_ = freeLoopbackPort();
  // One-replica rings (part power 0: one partition) over one device.
  for (const auto& [kind, port] : {std::pair{"object", objectPort}, std::pair{"container", containerPort}, std::pair{"account", accountPort}}) {
    const std::string builder = (dir_ / (std::string(kind) + ".builder")).string();
    auto made = run("swift-ring-builder " + builder + " create 0 1 1 && swift-ring-builder " + builder + " add r1z1-127.0.0.1:" +
                    std::to_string(port) + "/d1 1 && swift-ring-builder " + builder + " rebalance");
    if (made.exitCode != 0) {
      error_ = std::string("swift-ring-builder (") + kind + "): " + made.output;
      return;
    }
    writeFile(dir_ / (std::string(kind) + "-server.conf"), serverConf(dir_, kind, port));
  }
  writeFile(dir_ / "proxy-server.conf",
            "[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = " + std::to_string(proxyPort_) + "\nworkers = 0\nuser = " +
                (::geteuid() == 0 ? std::string("root") : std::string(::getlogin() ? ::getlogin() : "nobody")) + "\nswift_dir = " + dir_.string() +
                "\nlog_level = WARNING\n\n"
                "[pipeline:main]\npipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server\n\n"
                "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
                // A backend still starting refuses the first requests: the proxy must not shun it for a minute.
                "error_suppression_interval = 1\nerror_suppression_limit = 1000\n\n"
                "[filter:catch_errors]\nuse = egg:swift#catch_errors\n[filter:gatekeeper]\nuse = egg:swift#gatekeeper\n"
                "[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:" +
                std::to_string(memcachedPort) +
                "\n[filter:listing_formats]\nuse = egg:swift#listing_formats\n[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\n"
                "[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n"
                "[filter:copy]\nuse = egg:swift#copy\n[filter:slo]\nuse = egg:swift#slo\n[filter:dlo]\nuse = egg:swift#dlo\n");
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  pids_.push_back(spawnProcess({"/usr/bin/memcached", "-u", "root", "-l", "127.0.0.1", "-p", std::to_string(memcachedPort), "-m", "16"}, env,
                               (dir_ / "memcached.log").string()));
  std::string last = "the proxy never answered";
  for (const char* kind : {"object", "container", "account", "proxy"}) {
    pids_.push_back(spawnProcess({std::string("/usr/bin/swift-") + kind + "-server", (dir_ / (std::string(kind) + "-server.conf")).string()}, env,
                                 (dir_ / (std::string(kind) + ".log")).string()));
  }
  // Four Python servers importing at once on a small machine: ~15 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    for (int pid : pids_) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        error_ = "a Swift process stopped: " + readFile(dir_ / "proxy.log") + readFile(dir_ / "object.log") + readFile(dir_ / "memcached.log");
        return;
      }
    }
    // The proxy answers, and the account server behind it too (a bucket can be made).
    auto r = http::fetch({.url = endpoint() + "/healthcheck-started", .timeout = std::chrono::milliseconds(2000)});
    if (r.ok()) {
      last = createBucket("patchbay-probe");
      if (last.empty()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error_ = "Swift did not answer within 60 s (" + dir_.string() + "): " + last;
}

std::string SwiftServer::createBucket(const std::string& bucket) const {
  http::ClientRequest req;
  req.method = "PUT";
  req.url = endpoint() + "/" + bucket;
  req.headers = {{"x-amz-content-sha256", kEmptySha256}};
  req.sigV4 = {"aws:amz:us-east-1:s3", accessKeyId(), secretKey()};
  req.timeout = std::chrono::seconds(10);
  auto r = http::fetch(req);
  if (!r) return r.error().message;
  if (r->status == 409 && r->body.find("BucketAlreadyOwnedByYou") != std::string::npos) return "";  // an earlier try made it
  if (r->status / 100 != 2) return "PUT /" + bucket + ": " + std::to_string(r->status) + " " + r->body;
  return "";
}

SwiftServer::~SwiftServer() {
  for (int pid : pids_) {
    if (pid > 0) ::kill(pid, SIGTERM);
  }
  for (int pid : pids_) {
    if (pid > 0) waitForProcess(pid);
  }
  std::error_code ec;
  if (!dir_.empty() && error_.empty()) fs::remove_all(dir_, ec);  // kept when it failed: its logs say why
}

}  // namespace patchbay::test
