// A panel written in C++ that embeds patchbay's runtime: it defines its own
// hook points, emits them around its own actions, and lets plugins refuse.
//
//   build/examples/embed/patchbay_embed_example examples/plugins data-dir
//
// It loads every plugin folder in the given folder, then plays a short
// scenario: a user signs up, creates a game server, starts it, buys a plan
// through the billing plugin's routes, tries to create a second server
// (billing denies it: the user owes money) and deletes the first. What the
// plugins said is printed.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "patchbay/runtime.h"

namespace {

using nlohmann::json;

// The panel's own hook points, with the context each one carries.
struct Panel {
  patchbay::Runtime& plugins;
  int nextServerId = 1;

  bool createServer(const json& user, const std::string& name) {
    auto verdict = plugins.emit("server:beforeCreate", json{{"user", user}, {"name", name}, {"node", "node-1"}}.dump());
    if (!verdict.allowed) {
      std::cout << "  create \"" << name << "\": refused by " << verdict.deniedBy << ": " << verdict.reason << "\n";
      return false;
    }
    json server = {{"id", nextServerId++}, {"name", name}};
    plugins.emit("server:onCreate", json{{"server", server}, {"user", user}}.dump());
    std::cout << "  create \"" << name << "\": created as server " << server["id"] << "\n";
    return true;
  }
  void changeStatus(const json& user, int id, const std::string& action) {
    plugins.emit("server:onStatusChange", json{{"server", {{"id", id}, {"name", "server " + std::to_string(id)}}}, {"action", action}, {"user", user}}.dump());
    std::cout << "  server " << id << ": " << action << "\n";
  }
  void deleteServer(const json& user, int id) {
    plugins.emit("server:onDelete", json{{"server", {{"id", id}}}, {"user", user}}.dump());
    std::cout << "  server " << id << ": deleted\n";
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " PLUGINS_FOLDER DATA_FOLDER\n";
    return 2;
  }
  patchbay::RuntimeOptions options;
  options.dataDir = argv[2];
  options.log = [](const std::string&, const std::string& level, const std::string& message) {
    std::cout << "    (" << level << ") " << message << "\n";
  };
  auto runtime = patchbay::Runtime::create(options);
  if (!runtime) {
    std::cerr << "error: " << runtime.error().message << "\n";
    return 1;
  }
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    if (!std::filesystem::exists(entry.path() / "server.js")) continue;  // not a runtime plugin
    auto s = (*runtime)->activate(entry.path().string());
    std::cout << (s ? "loaded " : "skipped ") << entry.path().filename().string() << (s ? "" : ": " + s.error().message) << "\n";
  }
  Panel panel{**runtime};
  json alice = {{"id", 7}, {"username", "alice"}, {"balance", 0}};
  std::cout << "scenario:\n";
  (*runtime)->emit("auth:afterRegister", json{{"user", alice}, {"ip", "127.0.0.1"}}.dump());
  panel.createServer(alice, "minecraft");
  panel.changeStatus(alice, 1, "start");
  // An administrator adds a plan; Alice buys it through the billing
  // plugin's own routes and now owes money.
  json admin = {{"id", 1}, {"username", "root"}, {"isAdmin", true}};
  patchbay::PluginRequest buy{.method = "POST", .path = "/plans", .headers = {{"content-type", "application/json"}},
                              .body = R"({"name":"Gold","price":10})", .userJson = admin.dump()};
  if (auto plan = (*runtime)->handleRequest("billing", buy); plan && plan->status == 201) {
    buy.path = "/checkout";
    buy.userJson = alice.dump();
    buy.body = json{{"plan_id", json::parse(plan->body)["id"]}}.dump();
    auto invoice = (*runtime)->handleRequest("billing", buy);
    std::cout << "  checkout: " << (invoice ? std::to_string(invoice->status) : invoice.error().message) << "\n";
  }
  panel.createServer(alice, "valheim");
  panel.deleteServer(alice, 1);
  for (const auto& p : (*runtime)->plugins()) {
    std::cout << p.id << " " << p.version << ": " << runStateName(p.state) << ", " << p.routes << " routes, hooks:";
    for (const auto& h : p.hooks) std::cout << " " << h;
    std::cout << "\n";
  }
  return 0;
}
