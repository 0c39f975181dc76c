// Time helpers: durations ("30d"), dates (YYYY-MM-DD) and ISO 8601 output.
#include <gtest/gtest.h>

#include "common/clock.h"

namespace varg {
namespace {

TEST(ParseDuration, AcceptsUnitsAndBareSeconds) {
  const std::pair<const char*, int64_t> ok[] = {
      {"0", 0},        {"90", 90},           {"90s", 90},           {"15m", 900},
      {"12h", 43200},  {"30d", 30 * 86400},  {"2w", 14 * 86400},    {"999999999999", 999999999999},
  };
  for (auto& [s, want] : ok) {
    int64_t got = -1;
    EXPECT_TRUE(parse_duration(s, &got)) << s;
    EXPECT_EQ(got, want) << s;
  }
}

TEST(ParseDuration, RejectsMalformedInput) {
  for (const char* s : {"", "d", "-5", "+5", "1.5h", "30y", "30D", "30dd", "30 d", " 30d", "30d ", "3h0", "9999999999999", "1e3"}) {
    int64_t got = -1;
    EXPECT_FALSE(parse_duration(s, &got)) << "'" << s << "'";
  }
}

TEST(ParseDate, ParsesUtcMidnight) {
  int64_t t = -1;
  ASSERT_TRUE(parse_date("1970-01-01", &t));
  EXPECT_EQ(t, 0);
  ASSERT_TRUE(parse_date("2026-11-25", &t));
  EXPECT_EQ(t, 1795564800);
  ASSERT_TRUE(parse_date("2024-02-29", &t));  // leap day
  EXPECT_EQ(iso8601(t), "2024-02-29T00:00:00Z");
  ASSERT_TRUE(parse_date("2026-12-31", &t));
  EXPECT_EQ(iso8601(t), "2026-12-31T00:00:00Z");
}

TEST(ParseDate, RejectsMalformedAndImpossibleDates) {
  for (const char* s : {"", "2026-11", "2026-11-2", "2026-1-015", "2026/11/25", "2026-11-25T00:00:00Z", "2026-13-01",
                        "2026-00-10", "2026-11-00", "2026-11-32", "1969-12-31", "2026-11-2x", "abcd-ef-gh",
                        "2026-02-30", "2026-02-29", "2026-04-31", "2026-+1-01", "2026-11-+5", " 2026-1-05"}) {
    int64_t t = -1;
    EXPECT_FALSE(parse_date(s, &t)) << "'" << s << "' parsed as " << (t >= 0 ? iso8601(t) : "nothing");
  }
}

TEST(Iso8601, FormatsUtcSeconds) {
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601(1795618474), "2026-11-25T14:54:34Z");
  EXPECT_EQ(iso8601(951782400), "2000-02-29T00:00:00Z");
}

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock c(1'000'500);
  EXPECT_EQ(c.now_ms(), 1'000'500);
  EXPECT_EQ(c.now(), 1000);
  c.advance_ms(499);
  EXPECT_EQ(c.now(), 1000);
  c.advance_ms(1);
  EXPECT_EQ(c.now(), 1001);
}

TEST(SystemClock, IsUnixEpochMilliseconds) {
  SystemClock c;
  EXPECT_GT(c.now_ms(), 1'700'000'000'000);  // after 2023
  EXPECT_LT(c.now_ms(), 4'000'000'000'000);
}

}  // namespace
}  // namespace varg
