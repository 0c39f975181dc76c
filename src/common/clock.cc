#include "common/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace varg {

int64_t SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string iso8601(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool parse_date(const std::string& s, int64_t* out) {
  int y, m, d;
  char tail;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})  // sscanf alone would take " 2026-1-05" or "2026-+1-01"
    if (s[i] < '0' || s[i] > '9') return false;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970 || y > 9999) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  const std::time_t t = timegm(&tm);
  if (tm.tm_mday != d || tm.tm_mon != m - 1) return false;  // timegm normalized e.g. 2026-02-30
  *out = static_cast<int64_t>(t);
  return true;
}

bool parse_duration(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 12) return false;
  size_t i = 0;
  int64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') n = n * 10 + (s[i++] - '0');
  if (i == 0) return false;
  int64_t mult = 1;
  if (i < s.size()) {
    if (i + 1 != s.size()) return false;
    switch (s[i]) {
      case 's': mult = 1; break;
      case 'm': mult = 60; break;
      case 'h': mult = 3600; break;
      case 'd': mult = 86400; break;
      case 'w': mult = 7 * 86400; break;
      default: return false;
    }
  }
  *out = n * mult;
  return true;
}

}  // namespace varg
