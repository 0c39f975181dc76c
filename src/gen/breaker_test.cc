#include "gen/breaker.h"

#include <gtest/gtest.h>

namespace varg {
namespace {

TEST(Breaker, OpensAfterConsecutiveOutagesAndFailsFastWithTheTimeLeft) {
  Breaker b({3, 10000});
  int wait = 0;
  for (int i = 0; i < 2; i++) {
    ASSERT_TRUE(b.allow(0, &wait));
    b.record(true, 0);
  }
  b.record(false, 0);  // a success in between: the count starts again
  for (int i = 0; i < 2; i++) b.record(true, 0);
  EXPECT_EQ(b.snapshot(0).state, Breaker::State::closed);
  b.record(true, 1000);
  EXPECT_EQ(b.snapshot(1000).state, Breaker::State::open);
  EXPECT_FALSE(b.allow(1500, &wait));
  EXPECT_EQ(wait, 10);  // 9.5 s left, rounded up
  EXPECT_EQ(b.snapshot(1500).rejected_total, 1);
  EXPECT_EQ(b.snapshot(1500).opened_total, 1);
}

TEST(Breaker, HalfOpenLetsOneProbeThroughAndItsOutcomeDecides) {
  Breaker b({1, 1000});
  int wait = 0;
  b.record(true, 0);
  EXPECT_FALSE(b.allow(999, &wait));
  EXPECT_TRUE(b.allow(1000, &wait));   // the probe
  EXPECT_FALSE(b.allow(1001, &wait));  // only one at a time
  EXPECT_EQ(b.snapshot(1001).state, Breaker::State::half_open);
  b.record(true, 1100);  // the probe failed: open again for the whole period
  EXPECT_EQ(b.snapshot(1100).state, Breaker::State::open);
  EXPECT_FALSE(b.allow(2000, &wait));
  EXPECT_TRUE(b.allow(2100, &wait));
  b.record(false, 2200);  // it worked: closed
  EXPECT_EQ(b.snapshot(2200).state, Breaker::State::closed);
  EXPECT_TRUE(b.allow(2200, &wait));
  EXPECT_TRUE(b.allow(2200, &wait));
}

TEST(Breaker, AProbeThatNeverReportsGivesWayToAnother) {
  Breaker b({1, 1000});
  int wait = 0;
  b.record(true, 0);
  EXPECT_TRUE(b.allow(1000, &wait));
  EXPECT_FALSE(b.allow(1500, &wait));
  EXPECT_TRUE(b.allow(2000, &wait));
}

TEST(Breaker, ZeroFailuresNeverOpens) {
  Breaker b({0, 1000});
  int wait = 0;
  for (int i = 0; i < 100; i++) b.record(true, i);
  EXPECT_TRUE(b.allow(100, &wait));
}

}  // namespace
}  // namespace varg
