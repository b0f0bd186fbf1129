// patchbay/metrics.h — counters and a latency histogram, rendered in the
// Prometheus text format (version 0.0.4). Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace patchbay {

class Metrics {
 public:
  // One HTTP request. `route` should be a route pattern ("/download/{id}/{version}"),
  // never a raw path, so that label values stay few.
  void observeRequest(const std::string& route, const std::string& method, int status, double seconds);
  // A named counter with one label ("downloads", "result", "created").
  void count(const std::string& name, const std::string& labelName = "", const std::string& labelValue = "", uint64_t n = 1);
  std::string render() const;

  static constexpr std::array<double, 12> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                             0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // guarded by mutex_
  std::map<std::string, Histogram> latency_;                                // by route; guarded by mutex_
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> counters_;  // guarded by mutex_
};

}  // namespace patchbay
