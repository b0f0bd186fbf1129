// A registry served over loopback HTTP for tests: a drop-in folder,
// package builders, tokens and upload helpers.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "patchbay/http_client.h"
#include "patchbay/archive.h"
#include "patchbay/package.h"
#include "patchbay/registry.h"
#include "support/test_util.h"

namespace patchbay {

namespace fs = std::filesystem;
using nlohmann::json;

class RegistryTest : public ::testing::Test {
 protected:
  fs::path plugins() { return dir_ / "plugins"; }

  // Packs a plugin with the given manifest fields into the drop-in folder.
  std::string addPlugin(const std::string& id, const std::string& version, json extra = json::object(),
                        const std::string& readme = "") {
    fs::path src = dir_ / "src" / (id + "-" + version) / id;
    json manifest = {{"id", id}, {"name", id + " plugin"}, {"version", version}, {"description", "The " + id + " plugin"}};
    for (auto& [k, v] : extra.items()) manifest[k] = v;
    test::writeFile(src / "plugin.json", manifest.dump(2));
    test::writeFile(src / "server.js", "export default function (sodium) { /* " + id + " " + version + " */ }\n");
    if (!readme.empty()) test::writeFile(src / "README.md", readme);
    fs::create_directories(plugins());
    auto r = packFolder(src.string(), plugins().string());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->path : "";
  }

  // Opens the registry on dir_/data with the drop-in folder dir_/plugins
  // (options changed by `configure`) and serves it on a free port.
  void startServer(const std::function<void(RegistryOptions&)>& configure = {}) {
    fs::create_directories(plugins());
    RegistryOptions options{(dir_ / "data").string(), plugins().string()};
    if (configure) configure(options);
    auto reg = Registry::open(options);
    ASSERT_TRUE(reg.ok()) << reg.error().message;
    registry_ = std::move(reg.value());
    router_ = std::make_unique<http::Router>();
    registry_->addRoutes(*router_);
    http::ServerOptions serverOptions;
    serverOptions.onAccess = [this](const http::AccessRecord& r) { registry_->observe(r); };
    server_ = std::make_unique<http::Server>(serverOptions, *router_);
    ASSERT_TRUE(server_->start().ok());
  }
  void stopServer() {
    if (server_) server_->stop();
    server_.reset();
    router_.reset();
    registry_.reset();
  }
  void TearDown() override { stopServer(); }

  http::ClientResponse get(const std::string& path, std::vector<std::pair<std::string, std::string>> headers = {},
                           const std::string& method = "GET") {
    auto r = http::fetch({.method = method, .url = "http://127.0.0.1:" + std::to_string(server_->port()) + path, .headers = headers});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : http::ClientResponse{};
  }
  json getJson(const std::string& path) {
    auto r = get(path);
    return json::parse(r.body);
  }

  test::TempDir dir_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
};

class PublishTest : public RegistryTest {
 protected:
  std::string token(const std::string& name, std::vector<std::string> scopes) {
    auto t = registry_->createToken(name, scopes);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? t->second : "";
  }
  // A package's bytes; `files` adds or replaces files (path -> content).
  std::string packageBytes(const std::string& id, const std::string& version, const std::string& salt = "",
                           const std::map<std::string, std::string>& files = {}) {
    fs::path src = dir_ / "pub" / (id + version + salt) / id;
    test::writeFile(src / "plugin.json", json{{"id", id}, {"name", id}, {"version", version}}.dump());
    test::writeFile(src / "server.js", "export default function () { /* " + salt + " */ }\n");
    for (const auto& [path, content] : files) test::writeFile(src / path, content);
    auto r = packFolder(src.string(), (dir_ / "pub" / (id + version + salt)).string());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? test::readFile(r->path) : "";
  }
  // A package as a tool other than `patchbay pack` might write it (its
  // files zipped as they are, nothing compiled or checked): for uploads our
  // pack would refuse to make.
  std::string rawPackageBytes(const std::string& id, const std::string& version, const std::map<std::string, std::string>& files) {
    std::vector<ZipInput> inputs = {{"plugin.json", json{{"id", id}, {"name", id}, {"version", version}}.dump()}};
    for (const auto& [path, content] : files) inputs.push_back({path, content});
    auto zip = writeDeterministicZip(std::move(inputs));
    EXPECT_TRUE(zip.ok()) << zip.error().message;
    return zip.ok() ? *zip : "";
  }
  http::ClientResponse upload(const std::string& bytes, const std::string& secret, const std::string& signatureB64 = "") {
    std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/zip"}};
    if (!secret.empty()) headers.emplace_back("Authorization", "Bearer " + secret);
    if (!signatureB64.empty()) headers.emplace_back("X-Signature", signatureB64);
    auto r = http::fetch({.method = "POST", .url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/api/plugins",
                          .headers = headers, .body = bytes});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  }
};

}  // namespace patchbay
