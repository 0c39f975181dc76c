// billing::Ledger over a real SQLite store: every entry and id made in one place, each operation
// idempotent where it must be, the job entries settling their hold exactly once.
#include "billing/ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite/sqlite_store.h"

namespace varg::billing {
namespace {

class FixedClock final : public Clock {
 public:
  int64_t now_ms() const override { return 1'800'000'000'000; }
};

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "varg-ledger-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = SqliteStore::open(dir_ + "/varg.db", 2);
    ASSERT_TRUE(s.ok()) << s.status().message;
    store_ = std::move(*s);
    user_ = store_->create_user("a@example.com", clock_.now())->id;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Balance balance() { return *store_->balance(user_); }
  void expect_consistent() {
    Balance b = balance(), sum = *store_->ledger_sum(user_);
    EXPECT_EQ(b.settled, sum.settled);
    EXPECT_EQ(b.reserved, sum.reserved);
  }

  FixedClock clock_;
  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  int64_t user_ = 0;
};

TEST_F(LedgerTest, OncePerAccountAndOncePerPaymentGrantsAreIdempotent) {
  Ledger l(*store_, clock_);
  ASSERT_TRUE(l.welcome(user_, 50).ok());
  ASSERT_TRUE(l.welcome(user_, 50).ok());  // a retried first login
  ASSERT_TRUE(l.purchase(user_, 2000, "cs_1").ok());
  ASSERT_TRUE(l.purchase(user_, 2000, "cs_1").ok());  // the same checkout session delivered twice
  ASSERT_TRUE(l.refund(user_, 100, "cs_1").ok());
  ASSERT_TRUE(l.refund(user_, 100, "cs_1").ok());
  EXPECT_EQ(balance().settled, 2150);
  ASSERT_TRUE(l.grant(user_, 10, "goodwill").ok());
  ASSERT_TRUE(l.grant(user_, 10, "goodwill").ok());  // an operator's grants are each their own
  EXPECT_EQ(balance().settled, 2170);
  expect_consistent();
}

TEST_F(LedgerTest, AnAdjustmentNeverTakesTheBalanceBelowZero) {
  Ledger l(*store_, clock_);
  ASSERT_TRUE(l.grant(user_, 30, "start").ok());
  EXPECT_TRUE(l.adjustment(user_, -20, "correction").ok());
  auto below = l.adjustment(user_, -20, "too much");
  EXPECT_EQ(below.status().code, Code::insufficient_balance);
  EXPECT_EQ(balance().settled, 10);
  expect_consistent();
}

TEST_F(LedgerTest, AJobsHoldIsSettledOnceByCaptureOrRelease) {
  Ledger l(*store_, clock_);
  ASSERT_TRUE(l.grant(user_, 100, "start").ok());
  JobRecord j;
  j.id = "job_1";
  j.user_id = user_;
  j.cost_cents = 30;
  j.reservation = Ledger::hold_id(j.id);
  EXPECT_EQ(l.hold(j).idempotency_id, j.reservation);
  ASSERT_TRUE(store_->append(l.hold(j)).ok());
  EXPECT_EQ(balance().reserved, 30);
  ASSERT_TRUE(store_->append(l.capture(j)).ok());
  auto late = store_->append(l.release(j));  // a cancel after the completion settled it
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->kind, EntryKind::capture) << "the first settlement stands";
  EXPECT_EQ(balance().settled, 70);
  EXPECT_EQ(balance().reserved, 0);
  expect_consistent();
}

TEST_F(LedgerTest, AnOrphanHoldIsReleasedUnderTheJobsOwnReleaseId) {
  Ledger l(*store_, clock_);
  ASSERT_TRUE(l.grant(user_, 100, "start").ok());
  JobRecord j;
  j.id = "job_2";
  j.user_id = user_;
  j.cost_cents = 25;
  j.reservation = Ledger::hold_id(j.id);
  ASSERT_TRUE(store_->append(l.hold(j)).ok());
  auto orphans = store_->orphan_holds(clock_.now() + 1);
  ASSERT_TRUE(orphans.ok());
  ASSERT_EQ(orphans->size(), 1u);
  ASSERT_TRUE(l.release_orphan((*orphans)[0]).ok());
  auto again = store_->append(l.release(j));  // the job's own release later: the same entry
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->idempotency_id, "release:job_2");
  EXPECT_EQ(balance().reserved, 0);
  EXPECT_EQ(balance().settled, 100);
  expect_consistent();
}

}  // namespace
}  // namespace varg::billing
