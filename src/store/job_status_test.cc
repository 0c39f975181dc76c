// The job state machine's moves (store/store.h): queued → processing → completed | failed |
// cancelled, queued straight to a final state, and nothing after a final state.
#include <gtest/gtest.h>

#include "store/store.h"

namespace varg {
namespace {

constexpr JobStatus kAll[] = {JobStatus::queued, JobStatus::processing, JobStatus::completed, JobStatus::failed,
                              JobStatus::cancelled};

TEST(JobStatus, NamesRoundTripAndUnknownNamesAreRefused) {
  for (JobStatus s : kAll) EXPECT_EQ(job_status_from(job_status_name(s)), s);
  EXPECT_FALSE(job_status_from("running").has_value());
  EXPECT_FALSE(job_status_from("").has_value());
}

TEST(JobStatus, OnlyLiveJobsMoveAndProcessingNeverGoesBack) {
  for (JobStatus to : kAll) {
    EXPECT_TRUE(job_move_allowed(JobStatus::queued, to)) << job_status_name(to);
    EXPECT_EQ(job_move_allowed(JobStatus::processing, to), to != JobStatus::queued) << job_status_name(to);
    for (JobStatus done : {JobStatus::completed, JobStatus::failed, JobStatus::cancelled})
      EXPECT_FALSE(job_move_allowed(done, to)) << job_status_name(done) << " → " << job_status_name(to);
  }
  EXPECT_TRUE(is_live(JobStatus::queued) && is_live(JobStatus::processing));
  EXPECT_FALSE(is_live(JobStatus::completed) || is_live(JobStatus::failed) || is_live(JobStatus::cancelled));
}

}  // namespace
}  // namespace varg
