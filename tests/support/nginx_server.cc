#include "support/nginx_server.h"

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

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
}

}  // namespace

NginxServer::NginxServer(const fs::path& serverConf, const std::vector<std::pair<std::string, std::string>>& replacements,
                         const std::string& listen, const std::string& cacheFolder) {
  if (!fs::exists("/usr/sbin/nginx")) {
    error_ = "no /usr/sbin/nginx (scripts/setup installs Debian's nginx-light)";
    return;
  }
  std::string tmpl = (fs::temp_directory_path() / "patchbay-nginx-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    error_ = "cannot make a temporary folder";
    return;
  }
  dir_ = tmpl;
  std::string conf = readFile(serverConf);
  if (conf.empty()) {
    error_ = "cannot read " + serverConf.string();
    return;
  }
  port_ = freeLoopbackPort();
  for (const auto& [from, to] : replacements) replaceAll(conf, from, to);
  replaceAll(conf, "listen " + listen + ";", "listen 127.0.0.1:" + std::to_string(port_) + ";");
  replaceAll(conf, cacheFolder, (dir_ / "cache").string());
  writeFile(dir_ / "server.conf", conf);
  // Workers run as root when the test does (the temporary folders are root's).
  const std::string main = std::string(::geteuid() == 0 ? "user root;\n" : "") +
                           "daemon off;\nworker_processes 1;\npid " + (dir_ / "nginx.pid").string() + ";\nerror_log " +
                           (dir_ / "error.log").string() + " warn;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n" +
                           "  client_body_temp_path " + (dir_ / "body").string() + ";\n  proxy_temp_path " + (dir_ / "proxy").string() +
                           ";\n  fastcgi_temp_path " + (dir_ / "fastcgi").string() + ";\n  uwsgi_temp_path " + (dir_ / "uwsgi").string() +
                           ";\n  scgi_temp_path " + (dir_ / "scgi").string() + ";\n  include " + (dir_ / "server.conf").string() + ";\n}\n";
  writeFile(dir_ / "nginx.conf", main);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  pid_ = spawnProcess({"/usr/sbin/nginx", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string()}, env, (dir_ / "output.log").string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "nginx stopped: " + readFile(dir_ / "output.log") + readFile(dir_ / "error.log");
      return;
    }
    auto r = http::fetch({.url = base() + "/nginx-started", .timeout = std::chrono::milliseconds(500)});
    if (r.ok()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  error_ = "nginx did not answer: " + readFile(dir_ / "error.log");
}

NginxServer::~NginxServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGQUIT);  // graceful: the workers finish and go
    waitForProcess(pid_);
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace patchbay::test
