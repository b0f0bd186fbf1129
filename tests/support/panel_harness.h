// A panel (patchbay/panel.h) served over real HTTP on loopback, with its
// own data folder, for the panel's tests. Its hook points go to a recorder
// that tests read and that may deny (no plugin needed); tests with plugins
// connect the panel to a real runtime instead.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "patchbay/host_state.h"
#include "patchbay/http.h"
#include "patchbay/http_client.h"
#include "patchbay/panel.h"
#include "patchbay/sql_database.h"
#include "support/test_util.h"

namespace patchbay::test {

struct RecordedHook {
  std::string event;
  nlohmann::json context;
};

class PanelHarness : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  void SetUp() override { start({}); }
  void TearDown() override {
    server_.reset();
    panel_.reset();
  }

  void start(panel::PanelOptions options, panel::FleetOptions fleetOptions = {}) {
    server_.reset();
    panel_.reset();
    auto db = openHostState(dir_.str());
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto accounts = panel::Accounts::open(std::move(*db));
    ASSERT_TRUE(accounts.ok()) << accounts.error().message;
    auto fleetDb = openHostState(dir_.str());
    ASSERT_TRUE(fleetDb.ok()) << fleetDb.error().message;
    auto fleet = panel::Fleet::open(std::move(*fleetDb), fleetOptions);
    ASSERT_TRUE(fleet.ok()) << fleet.error().message;
    ASSERT_TRUE((*fleet)->ensureFirstNode().ok());
    auto p = panel::Panel::open(std::move(*accounts), std::move(*fleet), options);
    ASSERT_TRUE(p.ok());
    panel_ = std::move(*p);
    panel_->emitHooksTo([this](const std::string& event, const std::string& context) { return record(event, context); });
    router_ = std::make_unique<http::Router>();
    router_->setErrorShape(http::ErrorShape::kMessage);
    panel_->addRoutes(*router_);
    server_ = std::make_unique<http::Server>(http::ServerOptions{}, *router_);
    ASSERT_TRUE(server_->start().ok());
  }

  std::string origin() { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  http::ClientResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto r = http::fetch({.method = method, .url = origin() + path, .headers = std::move(headers), .body = body});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : http::ClientResponse{};
  }
  // A call as a script does it: with a session token as Bearer.
  http::ClientResponse as(const std::string& token, const std::string& method, const std::string& path, const std::string& body = "") {
    return call(method, path, body, {{"Authorization", "Bearer " + token}});
  }
  // Registers `name` and answers its session token.
  std::string registered(const std::string& name, const std::string& password = "password1") {
    auto r = call("POST", "/api/auth/register", json{{"username", name}, {"password", password}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r).value("token", "");
  }
  // The cookies a response set, as a Cookie header's value.
  static std::string cookiesOf(const http::ClientResponse& r) {
    std::string out;
    for (const auto& [name, value] : r.headers) {
      if (name != "set-cookie") continue;
      if (!out.empty()) out += "; ";
      out += value.substr(0, value.find(';'));
    }
    return out;
  }
  static std::string cookie(const http::ClientResponse& r, const std::string& name) {
    for (const auto& [header, value] : r.headers) {
      if (header == "set-cookie" && value.starts_with(name + "=")) return value;
    }
    return "";
  }
  static json body(const http::ClientResponse& r) { return json::parse(r.body, nullptr, false); }

  // The hooks the panel emitted so far, in order.
  std::vector<RecordedHook> hooks() {
    std::lock_guard lock(hookMu_);
    return hooks_;
  }
  // Waits (up to 10 s) for a hook named `event` that `match` accepts.
  std::optional<RecordedHook> waitForHook(const std::string& event, std::function<bool(const json&)> match = {}) {
    std::unique_lock lock(hookMu_);
    std::optional<RecordedHook> found;
    hookCv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& h : hooks_) {
        if (h.event == event && (!match || match(h.context))) {
          found = h;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  // A handler's verdict for `event`: a reason denies; nullopt allows.
  void denyWith(std::function<std::optional<std::string>(const std::string& event, const json& context)> decide) {
    std::lock_guard lock(hookMu_);
    decide_ = std::move(decide);
  }

  TempDir dir_;
  std::unique_ptr<panel::Panel> panel_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;

 private:
  HookResult record(const std::string& event, const std::string& contextText) {
    HookResult result;
    result.context = contextText;
    std::lock_guard lock(hookMu_);
    json context = json::parse(contextText);
    if (decide_) {
      if (auto reason = decide_(event, context)) {
        result.allowed = false;
        result.reason = *reason;
      }
    }
    hooks_.push_back({event, std::move(context)});
    hookCv_.notify_all();
    return result;
  }
  std::mutex hookMu_;
  std::condition_variable hookCv_;
  std::vector<RecordedHook> hooks_;
  std::function<std::optional<std::string>(const std::string&, const json&)> decide_;
};

}  // namespace patchbay::test
