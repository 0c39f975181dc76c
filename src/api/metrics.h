// Prometheus text metrics: requests and a latency histogram by route and status, plus process facts.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace varg {

class Metrics {
 public:
  void observe(const std::string& method, const std::string& route, int status, int64_t micros);
  std::string render() const;

 private:
  static constexpr std::array<int64_t, 12> kBucketsUs = {100, 250, 500, 1000, 2500, 5000, 10000,
                                                          25000, 50000, 100000, 500000, 2500000};
  struct Series {
    uint64_t count = 0;
    int64_t sum_us = 0;
    std::array<uint64_t, kBucketsUs.size()> buckets{};
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, Series> series_;
  int64_t start_time_ = 0;

 public:
  Metrics();
};

}  // namespace varg
