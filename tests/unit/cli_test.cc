// The patchbay command as a user runs it: real binary, exit codes, output.
#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/raw_zip.h"
#include "support/test_util.h"

namespace patchbay {
namespace {

using test::run;

class CliTest : public ::testing::Test {
 protected:
  test::CommandResult pb(const std::string& args) { return run("cd " + dir_.str() + " && " + test::patchbayBinary() + " " + args); }
  nlohmann::json pbJson(const std::string& args) {
    auto r = run("cd " + dir_.str() + " && " + test::patchbayBinary() + " " + args + " 2>/dev/null");
    return nlohmann::json::parse(r.output);
  }
  test::TempDir dir_;
};

TEST_F(CliTest, HelpOnEveryCommand) {
  EXPECT_EQ(pb("--help").exitCode, 0);
  for (const char* cmd : {"init", "pack", "inspect", "keygen", "sign", "verify", "serve", "up", "dev"}) {
    auto r = pb(std::string(cmd) + " --help");
    EXPECT_EQ(r.exitCode, 0) << cmd;
    EXPECT_NE(r.output.find("Usage:"), std::string::npos) << cmd;
  }
  EXPECT_NE(pb("--version").output.find("patchbay 0.1.0"), std::string::npos);
  // `patchbay help [CMD]` is the same help.
  EXPECT_EQ(pb("help").output, pb("--help").output);
  EXPECT_EQ(pb("help keygen").output, pb("keygen --help").output);
}

// A typo gets the name that was probably meant, never "A subcommand is required".
TEST_F(CliTest, MistypedCommandsAndFlagsGetTheNearestName) {
  auto command = pb("pakc");
  EXPECT_EQ(command.exitCode, 2);
  EXPECT_NE(command.output.find("unknown command \"pakc\" (did you mean \"pack\"?); see patchbay --help"), std::string::npos) << command.output;
  auto flag = pb("keygen --publik k.pub");
  EXPECT_EQ(flag.exitCode, 2);
  EXPECT_NE(flag.output.find("unknown option \"--publik\" for patchbay keygen (did you mean \"--public\"?)"), std::string::npos) << flag.output;
  auto far = pb("zzzzzzzz");
  EXPECT_NE(far.output.find("unknown command \"zzzzzzzz\"; see patchbay --help"), std::string::npos) << far.output;
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(pb("").exitCode, 2);
  EXPECT_EQ(pb("frobnicate").exitCode, 2);
  EXPECT_EQ(pb("pack --no-such-flag").exitCode, 2);
  EXPECT_EQ(pb("init").exitCode, 2);  // id missing
}

TEST_F(CliTest, InitPackInspectForEveryType) {
  for (const char* type : {"hook", "widget", "feature", "theme"}) {
    std::string id = std::string("my-") + type;
    auto init = pb("init " + id + " --type " + type);
    ASSERT_EQ(init.exitCode, 0) << init.output;
    auto pack = pbJson("pack " + id + " --json");
    ASSERT_TRUE(pack["ok"].get<bool>()) << pack.dump();
    EXPECT_EQ(pack["file"], id + "_v0.1.0.zip");
    EXPECT_EQ(pack["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(pack["integrity"].get<std::string>().rfind("sha512-", 0), 0u);
    auto again = pbJson("pack " + id + " -o again.zip --json");
    EXPECT_EQ(again["sha256"], pack["sha256"]) << "pack twice gave different bytes";
    auto inspect = pbJson("inspect " + id + "_v0.1.0.zip --json");
    EXPECT_EQ(inspect["id"], id);
    EXPECT_EQ(inspect["type"], type);
    EXPECT_EQ(inspect["signature"]["state"], "unsigned");
  }
  auto twice = pb("init my-hook");
  EXPECT_EQ(twice.exitCode, 1);
  EXPECT_NE(twice.output.find("already exists and is not empty"), std::string::npos);
  EXPECT_EQ(pb("init my-x --type gadget").exitCode, 1);
  EXPECT_EQ(pb("init Bad_Id").exitCode, 1);
  // A source folder is named as its author likes; the package is the id's.
  ASSERT_EQ(pb("init notes --dir my-notes").exitCode, 0);
  auto notes = pbJson("pack my-notes --json");
  ASSERT_TRUE(notes["ok"].get<bool>()) << notes.dump();
  EXPECT_EQ(notes["file"], "notes_v0.1.0.zip");
}

TEST_F(CliTest, PackReportsEveryManifestError) {
  test::writeFile(dir_ / "broken/plugin.json",
                  R"({"id": "broken", "name": "Broken", "version": "1.0", "type": "feature",
                      "settings": {"mode": {"type": "select", "options": ["a"], "default": "b"}}})");
  auto r = pb("pack broken");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.output,
            "patchbay: error: plugin.json: version: \"1.0\" is not a SemVer 2.0 version (MAJOR.MINOR.PATCH, e.g. \"1.0.0\")\n"
            "plugin.json: settings.mode.default: must be one of the options (\"a\"); got \"b\"\n");
  auto j = pbJson("pack broken --json");
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_EQ(j["error"]["kind"], "invalid_input");
}

TEST_F(CliTest, KeygenSignVerifyAndMinisignAgree) {
  ASSERT_EQ(pb("init signed --type hook").exitCode, 0);
  ASSERT_EQ(pb("pack signed").exitCode, 0);
  auto keygen = pbJson("keygen --json");
  ASSERT_TRUE(keygen["ok"].get<bool>());
  EXPECT_FALSE(keygen["encrypted"].get<bool>());
  EXPECT_EQ(pb("keygen").exitCode, 1);  // refuses to overwrite
  auto sign = pb("sign signed_v0.1.0.zip --key patchbay.key");
  ASSERT_EQ(sign.exitCode, 0) << sign.output;
  EXPECT_NE(sign.output.find("id:signed version:0.1.0"), std::string::npos);
  auto verify = pb("verify signed_v0.1.0.zip --pubkey patchbay.pub");
  EXPECT_EQ(verify.exitCode, 0) << verify.output;
  auto ms = run("cd " + dir_.str() + " && minisign -V -p patchbay.pub -m signed_v0.1.0.zip");
  EXPECT_EQ(ms.exitCode, 0) << ms.output;
  EXPECT_EQ(pbJson("inspect signed_v0.1.0.zip --pubkey patchbay.pub --json")["signature"]["state"], "valid");
  EXPECT_EQ(pbJson("inspect signed_v0.1.0.zip --json")["signature"]["state"], "unverified");
  // The key string form, as minisign -P takes it.
  EXPECT_EQ(pb("verify signed_v0.1.0.zip --pubkey " + keygen["public_key"].get<std::string>()).exitCode, 0);

  // One flipped byte: both tools refuse.
  std::string bytes = test::readFile(dir_ / "signed_v0.1.0.zip");
  bytes[bytes.size() / 2] ^= 0x20;
  test::writeFile(dir_ / "signed_v0.1.0.zip", bytes);
  auto bad = pb("verify signed_v0.1.0.zip --pubkey patchbay.pub");
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_NE(run("cd " + dir_.str() + " && minisign -V -p patchbay.pub -m signed_v0.1.0.zip").exitCode, 0);
}

TEST_F(CliTest, VerifiesMinisignMadeSignatures) {
  ASSERT_EQ(pb("init ms-signed").exitCode, 0);
  ASSERT_EQ(pb("pack ms-signed").exitCode, 0);
  ASSERT_EQ(run("cd " + dir_.str() + " && minisign -G -W -p ms.pub -s ms.key").exitCode, 0);
  ASSERT_EQ(run("cd " + dir_.str() + " && minisign -S -s ms.key -m ms-signed_v0.1.0.zip -t 'id:ms-signed version:0.1.0'").exitCode, 0);
  auto ok = pb("verify ms-signed_v0.1.0.zip --pubkey ms.pub");
  EXPECT_EQ(ok.exitCode, 0) << ok.output;
  // A minisign signature whose trusted comment names another version.
  ASSERT_EQ(run("cd " + dir_.str() + " && minisign -S -s ms.key -m ms-signed_v0.1.0.zip -t 'id:ms-signed version:9.0.0'").exitCode, 0);
  auto moved = pb("verify ms-signed_v0.1.0.zip --pubkey ms.pub");
  EXPECT_EQ(moved.exitCode, 1);
  EXPECT_NE(moved.output.find("names ms-signed 9.0.0, not ms-signed 0.1.0"), std::string::npos) << moved.output;
  // patchbay signs with minisign's secret key too.
  EXPECT_EQ(pb("sign ms-signed_v0.1.0.zip --key ms.key").exitCode, 0);
  EXPECT_EQ(run("cd " + dir_.str() + " && minisign -V -p ms.pub -m ms-signed_v0.1.0.zip").exitCode, 0);
}

TEST_F(CliTest, EncryptedKeys) {
  test::writeFile(dir_ / "pw.txt", "s3cret\n");
  ASSERT_EQ(pb("init enc").exitCode, 0);
  ASSERT_EQ(pb("pack enc").exitCode, 0);
  // Interactive-strength scrypt would be faster, but keygen must write what
  // minisign writes; one sensitive derivation is the price of the real thing.
  auto keygen = pbJson("keygen --password-file pw.txt --json");
  ASSERT_TRUE(keygen["encrypted"].get<bool>());
  auto noPassword = pb("sign enc_v0.1.0.zip --key patchbay.key");
  EXPECT_EQ(noPassword.exitCode, 1);
  EXPECT_NE(noPassword.output.find("a password is needed"), std::string::npos);
  EXPECT_EQ(pb("sign enc_v0.1.0.zip --key patchbay.key --password-file pw.txt").exitCode, 0);
  EXPECT_EQ(pb("verify enc_v0.1.0.zip").exitCode, 0);  // ./patchbay.pub by default
}

TEST_F(CliTest, InspectRefusesHostileArchives) {
  test::writeFile(dir_ / "evil_v1.0.0.zip", test::buildRawZip({{.name = "plugin.json", .data = "{}"}, {.name = "../../escape.sh", .data = "x"}}));
  auto r = pb("inspect evil_v1.0.0.zip");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.output, "patchbay: error: evil_v1.0.0.zip: entry \"../../escape.sh\": path contains \"..\"\n");
}

}  // namespace
}  // namespace patchbay

namespace patchbay {
namespace {

using test::ServeProcess;

// `patchbay registry serve` as an operator runs it: drop a file in, it
// appears; SIGTERM stops it cleanly; the log is one JSON object a line.
TEST(CliRegistry, ServeWatchesTheFolderAndStopsOnSigterm) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "plugins");
  ServeProcess serve(dir);
  ASSERT_FALSE(serve.port.empty()) << test::readFile(dir / "log");
  const int pid = serve.pid;
  const std::string port = serve.port;
  auto list = [&] { return test::run("curl -s http://127.0.0.1:" + port + "/api/plugins").output; };
  EXPECT_EQ(list(), "[]");
  ASSERT_EQ(test::run("cd " + dir.str() + " && " + test::patchbayBinary() + " init dropped && " + test::patchbayBinary() +
                      " pack dropped -o plugins").exitCode, 0);
  std::string seen;
  for (int i = 0; i < 60 && seen.find("dropped") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = list();
  }
  EXPECT_NE(seen.find("\"id\":\"dropped\""), std::string::npos) << seen;
  ::kill(pid, SIGTERM);
  int waited = 0;
  while (::kill(pid, 0) == 0 && waited++ < 100) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(::kill(pid, 0), 0) << "still running after SIGTERM";
  std::string log = test::readFile(dir / "log");
  EXPECT_NE(log.find("\"msg\":\"listening\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"msg\":\"folder synced\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"msg\":\"stopped\""), std::string::npos) << log;
  size_t lines = 0;
  for (size_t pos = 0; pos < log.size();) {
    size_t nl = log.find('\n', pos);
    std::string line = log.substr(pos, nl - pos);
    pos = nl == std::string::npos ? log.size() : nl + 1;
    if (line.empty()) continue;
    ++lines;
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
  EXPECT_GE(lines, 4u);
}

// Installing from seed 000's plain server (only /api/plugins and
// /download/...): the version comes from its listing, the missing registry
// signature is refused until the user allows unsigned metadata for it, and
// then the download's size is checked.
TEST(CliInstall, FromAPlainSeed000ServerOnlyWhenAllowed) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "served");
  ASSERT_EQ(test::run("cd " + dir.str() + " && " + test::patchbayBinary() + " init greeter >/dev/null && " + test::patchbayBinary() +
                      " pack greeter -o served >/dev/null").exitCode, 0);
  const std::string port = test::run("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'").output;
  const std::string portNumber = port.substr(0, port.find('\n'));
  auto started = test::run("python3 " + std::string(PATCHBAY_SOURCE_DIR) + "/bench/registry/seed000_server.py " + portNumber + " " +
                           (dir / "served").string() + " > /dev/null 2>&1 & echo $!");
  const int pid = std::stoi(started.output);
  std::string listing;
  for (int i = 0; i < 100 && listing.find("greeter") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    listing = test::run("curl -s http://127.0.0.1:" + portNumber + "/api/plugins").output;
  }
  ASSERT_NE(listing.find("greeter"), std::string::npos) << listing;
  const std::string install = "cd " + dir.str() + " && " + test::patchbayBinary() + " install greeter --data data --registry http://127.0.0.1:" + portNumber;

  auto refused = test::run(install + " 2>&1");
  EXPECT_NE(refused.exitCode, 0);
  EXPECT_NE(refused.output.find("is a plain plugin server"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("--allow-unsigned-metadata"), std::string::npos) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "data/plugins/greeter"));

  auto unsignedRequired = test::run(install + " --allow-unsigned-metadata --require-signature 2>&1");
  EXPECT_NE(unsignedRequired.exitCode, 0);
  EXPECT_NE(unsignedRequired.output.find("is not signed"), std::string::npos) << unsignedRequired.output;

  auto allowed = test::run(install + " --allow-unsigned-metadata --json");
  EXPECT_EQ(allowed.exitCode, 0) << allowed.output;
  EXPECT_EQ(nlohmann::json::parse(allowed.output, nullptr, false).value("version", ""), "0.1.0") << allowed.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "data/plugins/greeter/plugin.json"));
  ::kill(pid, SIGKILL);
}

// SIGTERM ends `patchbay serve` within its deadline even while a plugin
// holds requests that never settle and one that loops (issue 12).
TEST(CliHost, StopsWithinItsDeadlineWhenAPluginIsStuck) {
  test::TempDir dir;
  test::writeFile(dir / "data/plugins/stuck/plugin.json", R"({"id":"stuck","name":"Stuck","version":"1.0.0"})");
  test::writeFile(dir / "data/plugins/stuck/server.js",
                  "export default (s) => s.http.registerRoutes((r) => { r.get('/never', () => new Promise(() => {}));"
                  " r.get('/loop', () => { for (;;) {} }); });\n");
  test::writeFile(dir / "data/config.json", R"({"plugins": {"active": ["stuck"]}})");
  ServeProcess serve(dir, "serve --data data");
  ASSERT_FALSE(serve.port.empty()) << test::readFile(dir / "log");
  std::vector<std::thread> clients;
  for (const char* path : {"/never", "/never", "/loop"}) {
    clients.emplace_back([&, path] { (void)test::run("curl -s -m 20 http://127.0.0.1:" + serve.port + "/api/plugins/stuck" + path); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto signalled = std::chrono::steady_clock::now();
  ::kill(serve.pid, SIGTERM);
  while (::kill(serve.pid, 0) == 0 && std::chrono::steady_clock::now() - signalled < std::chrono::seconds(15)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto took = std::chrono::steady_clock::now() - signalled;
  EXPECT_NE(::kill(serve.pid, 0), 0) << "still running after SIGTERM";
  EXPECT_LT(took, std::chrono::milliseconds(6500)) << test::readFile(dir / "log");
  for (auto& c : clients) c.join();
  std::cout << "[ stop     ] SIGTERM to exit: " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
}

}  // namespace
}  // namespace patchbay

namespace patchbay {
namespace {

TEST(CliRegistry, TokenAndPublish) {
  test::TempDir dir;
  const std::string pb = test::patchbayBinary();
  auto created = test::run("cd " + dir.str() + " && " + pb + " registry token create --data data --name alice --scope publish --json");
  ASSERT_EQ(created.exitCode, 0) << created.output;
  auto tokenJson = nlohmann::json::parse(created.output);
  std::string token = tokenJson["token"];
  EXPECT_EQ(token.size(), 67u);
  auto listed = test::run("cd " + dir.str() + " && " + pb + " registry token list --data data");
  EXPECT_NE(listed.output.find("alice\tpublish"), std::string::npos) << listed.output;
  EXPECT_EQ(listed.output.find(token), std::string::npos) << "token list must never show secrets";
  EXPECT_EQ(test::run("cd " + dir.str() + " && " + pb + " registry token create --data data --name x --scope root").exitCode, 1);

  ServeProcess serve(dir);
  ASSERT_FALSE(serve.port.empty()) << test::readFile(dir / "log");
  const std::string port = serve.port;
  const std::string env = "cd " + dir.str() + " && PATCHBAY_REGISTRY=http://127.0.0.1:" + port + " ";
  ASSERT_EQ(test::run("cd " + dir.str() + " && " + pb + " init shipped && " + pb + " pack shipped").exitCode, 0);
  auto noToken = test::run(env + pb + " publish shipped_v0.1.0.zip");
  EXPECT_EQ(noToken.exitCode, 1);
  EXPECT_NE(noToken.output.find("no API token"), std::string::npos);
  auto pub = test::run(env + "PATCHBAY_TOKEN=" + token + " " + pb + " publish shipped_v0.1.0.zip");
  EXPECT_EQ(pub.exitCode, 0) << pub.output;
  EXPECT_NE(pub.output.find("Published shipped 0.1.0"), std::string::npos) << pub.output;
  auto again = test::run(env + pb + " publish shipped_v0.1.0.zip --token " + token);
  EXPECT_NE(again.output.find("Already published"), std::string::npos) << again.output;
  EXPECT_NE(test::run("curl -s http://127.0.0.1:" + port + "/api/plugins").output.find("\"id\":\"shipped\""), std::string::npos);
  ASSERT_EQ(test::run("cd " + dir.str() + " && " + pb + " registry token revoke " + std::to_string(tokenJson["id"].get<int>()) + " --data data").exitCode, 0);
  auto revoked = test::run(env + pb + " publish shipped_v0.1.0.zip --token " + token);
  EXPECT_EQ(revoked.exitCode, 1);
  EXPECT_NE(revoked.output.find("(401)"), std::string::npos) << revoked.output;
}

}  // namespace
}  // namespace patchbay
