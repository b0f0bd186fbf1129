// The registry against hostile packages and requests (issue 12): manifests
// nested deep enough to overflow a stack (D3), publishing that must not
// take the serving threads (D12), and the shared raw-request corpus.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "patchbay/archive.h"
#include "patchbay/manifest.h"
#include "patchbay/worker_pool.h"
#include "support/hostile_requests.h"
#include "support/raw_http.h"
#include "support/registry_fixture.h"

namespace patchbay {
namespace {

using namespace std::chrono_literals;

// A manifest with an unknown field nested `depth` levels deep.
std::string deepManifest(const std::string& id, size_t depth) {
  return R"({"id":")" + id + R"(","name":")" + id + R"(","version":"1.0.0","deep":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

std::string zipWithManifest(const std::string& manifest) {
  auto zip = writeDeterministicZip({{"plugin.json", manifest}, {"server.js", "export default function () {}\n"}});
  EXPECT_TRUE(zip.ok());
  return zip.ok() ? *zip : "";
}

TEST(ManifestDepth, DeepJsonIsRefusedBeforeAnythingRecursesOverIt) {
  for (size_t depth : {size_t{300}, size_t{50'000}, size_t{100'000}}) {
    ManifestReport report = parseManifest(deepManifest("deep", depth), ManifestSource{});
    ASSERT_FALSE(report.ok()) << depth;
    EXPECT_NE(report.errorText().find("nests deeper than 256 levels"), std::string::npos) << report.errorText();
  }
  EXPECT_TRUE(parseManifest(deepManifest("shallow", 20), ManifestSource{}).ok());
}

// D3: at upload, in the drop-in folder, and for `patchbay inspect`.
TEST_F(PublishTest, DeepManifestsAreRefusedEverywhere) {
  test::writeFile(plugins() / "deep_v1.0.0.zip", zipWithManifest(deepManifest("deep", 100'000)));
  startServer();
  json status = getJson("/api/admin/status");
  ASSERT_EQ(status["folder_problems"].size(), 1u) << status;
  EXPECT_NE(status["folder_problems"][0]["message"].get<std::string>().find("nests deeper"), std::string::npos) << status;
  std::string dev = token("dev", {"publish"});
  auto refused = upload(zipWithManifest(deepManifest("deep2", 100'000)), dev);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("nests deeper"), std::string::npos) << refused.body;
  EXPECT_EQ(get("/api/plugins/deep2/1.0.0").status, 404);
  EXPECT_EQ(upload(zipWithManifest(deepManifest("fine", 10)), dev).status, 201);
  EXPECT_EQ(get("/api/plugins/fine/1.0.0").status, 200);

  test::writeFile(dir_ / "inspect/deep_v1.0.0.zip", zipWithManifest(deepManifest("deep", 50'000)));
  auto r = test::run("cd " + (dir_ / "inspect").string() + " && " + test::patchbayBinary() + " inspect deep_v1.0.0.zip");
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find("nests deeper than 256 levels"), std::string::npos) << r.output;
}

// D12: a publish whose bundle takes seconds to build and compress runs on
// the publish workers; downloads and listings are served meanwhile.
TEST_F(PublishTest, PublishingRunsOffTheServingThreads) {
  startServer();
  std::string dev = token("dev", {"publish"});
  ASSERT_EQ(upload(packageBytes("small", "1.0.0"), dev).status, 201);
  // ~3 MB of client code that compresses poorly: esbuild, gzip and brotli take a while.
  std::string client = "export const data = [\n";
  for (int64_t i = 0; i < 60000; ++i) client += "  '" + std::to_string(i * 7919) + "-" + std::to_string(i * 104729 % 99991) + "-abcdefghijklmnopq',\n";
  client += "];\nexport default function () { return data.length; }\n";
  // Two at once: with publishing on the IO threads both would be taken.
  const std::string big = packageBytes("big", "1.0.0", "", {{"client.js", client}});
  const std::string big2 = packageBytes("big2", "1.0.0", "", {{"client.js", client + "// 2\n"}});
  std::atomic<int> status{0}, status2{0};
  std::thread publisher([&] { status = upload(big, dev).status; });
  std::thread publisher2([&] { status2 = upload(big2, dev).status; });
  std::this_thread::sleep_for(100ms);
  int served = 0;
  std::chrono::nanoseconds slowest{0};
  while (status == 0 || status2 == 0) {
    const auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(get("/download/small/1.0.0").status, 200);
    EXPECT_EQ(get("/api/plugins").status, 200);
    slowest = std::max<std::chrono::nanoseconds>(slowest, std::chrono::steady_clock::now() - before);
    ++served;
  }
  publisher.join();
  publisher2.join();
  EXPECT_EQ(status.load(), 201);
  EXPECT_EQ(status2.load(), 201);
  std::cout << "[ publish  ] " << served << " download+list pairs served during the publish; slowest " << slowest.count() / 1000000 << " ms\n";
  EXPECT_LT(slowest, 5s);  // (a publish on a serving thread held it for minutes)
}

TEST(WorkerPool, RunsJobsAndRefusesBeyondItsQueue) {
  std::atomic<int> ran{0};
  std::atomic<bool> release{false};
  {
    WorkerPool pool("pb-test", 1, 2);
    EXPECT_TRUE(pool.post([&] {
      while (!release) std::this_thread::sleep_for(1ms);
      ++ran;
    }));
    std::this_thread::sleep_for(20ms);  // the worker holds the first job
    EXPECT_TRUE(pool.post([&] { ++ran; }));
    EXPECT_TRUE(pool.post([&] { ++ran; }));
    EXPECT_FALSE(pool.post([&] { ++ran; })) << "a third job waits beyond maxQueued";
    EXPECT_EQ(pool.queued(), 2u);
    release = true;
  }  // the destructor runs what was queued
  EXPECT_EQ(ran.load(), 3);
}

TEST_F(RegistryTest, HostileRequestsAreRefusedAndTheRegistryServesOn) {
  addPlugin("good", "1.0.0");
  startServer();
  test::expectHostileRequestsRefused(server_->port(), "/api/plugins", [&] { return get("/download/good/1.0.0").status == 200; });
}

}  // namespace
}  // namespace patchbay
