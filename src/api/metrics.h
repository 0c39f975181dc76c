// Prometheus text metrics: requests and a latency histogram by route and status, plus process facts.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace varg {

class Metrics {
 public:
  void observe(const std::string& method, const std::string& route, int status, int64_t micros);
  std::string render() const;
  // More Prometheus text appended to every render (the jobs, the store); set up before serving.
  void add_source(std::function<std::string()> source) { sources_.push_back(std::move(source)); }

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
  std::vector<std::function<std::string()>> sources_;

 public:
  Metrics();
};

}  // namespace varg
