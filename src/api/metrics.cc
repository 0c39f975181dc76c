#include "api/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <sstream>

namespace varg {

Metrics::Metrics() : start_time_(std::time(nullptr)) {}

void Metrics::observe(const std::string& method, const std::string& route, int status, int64_t micros) {
  std::lock_guard lk(mu_);
  Series& s = series_[{method, route, status}];
  s.count++;
  s.sum_us += micros;
  for (size_t i = 0; i < kBucketsUs.size(); i++)
    if (micros <= kBucketsUs[i]) s.buckets[i]++;
}

std::string Metrics::render() const {
  std::ostringstream o;
  o << "# HELP varg_http_requests_total HTTP requests by method, route and status.\n"
       "# TYPE varg_http_requests_total counter\n";
  std::lock_guard lk(mu_);
  for (auto& [k, s] : series_) {
    auto& [m, r, st] = k;
    o << "varg_http_requests_total{method=\"" << m << "\",route=\"" << r << "\",status=\"" << st << "\"} " << s.count << "\n";
  }
  o << "# HELP varg_http_request_duration_seconds Request latency by method, route and status.\n"
       "# TYPE varg_http_request_duration_seconds histogram\n";
  for (auto& [k, s] : series_) {
    auto& [m, r, st] = k;
    std::string labels = "method=\"" + m + "\",route=\"" + r + "\",status=\"" + std::to_string(st) + "\"";
    for (size_t i = 0; i < kBucketsUs.size(); i++)
      o << "varg_http_request_duration_seconds_bucket{" << labels << ",le=\"" << double(kBucketsUs[i]) / 1e6 << "\"} "
        << s.buckets[i] << "\n";
    o << "varg_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << s.count << "\n";
    o << "varg_http_request_duration_seconds_sum{" << labels << "} " << double(s.sum_us) / 1e6 << "\n";
    o << "varg_http_request_duration_seconds_count{" << labels << "} " << s.count << "\n";
  }
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) fds++;
    closedir(d);
    fds -= 2;
  }
  o << "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes " << resident * sysconf(_SC_PAGESIZE) << "\n";
  o << "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total " << cpu << "\n";
  o << "# TYPE process_open_fds gauge\nprocess_open_fds " << fds << "\n";
  o << "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds " << start_time_ << "\n";
  for (auto& source : sources_) o << source();
  return o.str();
}

}  // namespace varg
