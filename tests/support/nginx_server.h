// Debian's nginx for a test, on loopback with a temporary prefix folder:
// a server block file (deploy/nginx/*.conf) included in a main
// configuration of its own, with the file's example addresses replaced.
// Started by the test, stopped (folder removed) when the object goes.
//
//   test::NginxServer nginx(source / "deploy/nginx/patchbay-registry.conf",
//                           {{"127.0.0.1:8081", "127.0.0.1:" + a}, {"127.0.0.1:8082", "127.0.0.1:" + b}},
//                           "127.0.0.1:8080", "/var/cache/nginx/patchbay");
//   ASSERT_TRUE(nginx.ok()) << nginx.error();
//   fetch("http://127.0.0.1:" + std::to_string(nginx.port()) + "/api/plugins");
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace patchbay::test {

class NginxServer {
 public:
  // `listen` is the address the file listens on, `cacheFolder` the cache
  // folder it names: both are replaced by the test's own.
  NginxServer(const std::filesystem::path& serverConf, const std::vector<std::pair<std::string, std::string>>& replacements,
              const std::string& listen, const std::string& cacheFolder);
  ~NginxServer();
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::filesystem::path dir_;
  std::string error_;
  int port_ = 0;
  int pid_ = -1;
};

}  // namespace patchbay::test
