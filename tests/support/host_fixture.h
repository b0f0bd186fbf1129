// A host over real HTTP for a test: data/ under a temp folder, packages
// from modules/ beside it, the admin token read back, logs captured.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "patchbay/host.h"
#include "patchbay/http_client.h"
#include "support/test_util.h"

namespace patchbay::test {

class HostFixture : public ::testing::Test {
 protected:
  void start(const std::function<void(HostOptions&)>& configure = {}) {
    HostOptions options;
    options.dataDir = (dir_ / "data").string();
    options.source.localDir = (dir_ / "modules").string();
    if (configure) configure(options);
    options.log = [this](const std::string& source, const std::string& level, const std::string& message) {
      std::lock_guard lock(logMu_);
      logs_.push_back(source + " " + level + " " + message);
    };
    auto host = Host::open(options);
    ASSERT_TRUE(host.ok()) << host.error().message;
    host_ = std::move(*host);
    router_ = std::make_unique<http::Router>();
    host_->addRoutes(*router_);
    server_ = std::make_unique<http::Server>(http::ServerOptions{}, *router_);
    ASSERT_TRUE(server_->start().ok());
    admin_ = readFile(dir_ / "data/admin-token");
    while (!admin_.empty() && admin_.back() == '\n') admin_.pop_back();
  }
  void stop() {
    if (server_) server_->stop();
    server_.reset();
    router_.reset();
    host_.reset();
  }
  void TearDown() override { stop(); }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }
  http::ClientResponse call(const std::string& method, const std::string& path, const std::string& token = "", const std::string& body = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    auto r = http::fetch({.method = method, .url = url(path), .headers = headers, .body = body, .timeout = std::chrono::seconds(60)});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : http::ClientResponse{};
  }

  bool logged(const std::string& text) {
    std::lock_guard lock(logMu_);
    for (const auto& l : logs_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<Host> host_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
  std::string admin_;
  std::mutex logMu_;
  std::vector<std::string> logs_;
};

}  // namespace patchbay::test
