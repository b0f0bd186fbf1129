#include "patchbay/metrics.h"

#include <cstdio>

namespace patchbay {

namespace {
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

void Metrics::observeRequest(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, method, status}];
  Histogram& h = latency_[route];
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::count(const std::string& name, const std::string& labelName, const std::string& labelValue, uint64_t n) {
  std::lock_guard lock(mutex_);
  counters_[{name, labelName, labelValue}] += n;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP patchbay_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE patchbay_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += "patchbay_http_requests_total{route=\"" + label(route) + "\",method=\"" + label(method) + "\",status=\"" +
           std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP patchbay_http_request_duration_seconds Time to answer a request, by route.\n";
  out += "# TYPE patchbay_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    const std::string r = label(route);
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      out += "patchbay_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"" + number(kLatencyBuckets[i]) + "\"} " +
             std::to_string(h.buckets[i]) + "\n";
    }
    out += "patchbay_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += "patchbay_http_request_duration_seconds_sum{route=\"" + r + "\"} " + number(h.sum) + "\n";
    out += "patchbay_http_request_duration_seconds_count{route=\"" + r + "\"} " + std::to_string(h.count) + "\n";
  }
  std::string last;
  for (const auto& [key, n] : counters_) {
    const auto& [name, labelName, labelValue] = key;
    if (name != last) {
      out += "# TYPE patchbay_" + name + "_total counter\n";
      last = name;
    }
    out += "patchbay_" + name + "_total";
    if (!labelName.empty()) out += "{" + labelName + "=\"" + label(labelValue) + "\"}";
    out += " " + std::to_string(n) + "\n";
  }
  return out;
}

}  // namespace patchbay
