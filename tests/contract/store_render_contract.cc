// The Store contract, continued: Cloud Render jobs. Written only against the Store interface and
// instantiated with the rest of StoreContract for every store.
#include <algorithm>
#include <string>
#include <vector>

#include "store_contract.h"

namespace varg {

namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kNowMs = kNow * 1000;

RenderJobRecord render_record(int64_t user, const std::string& id, int64_t created_at = kNowMs) {
  RenderJobRecord r;
  r.id = id;
  r.user_id = user;
  r.mode = "strict";
  r.output = "video";
  r.created_at = created_at;
  return r;
}

std::vector<std::string> ids(const std::vector<RenderJobRecord>& v) {
  std::vector<std::string> out;
  for (auto& r : v) out.push_back(r.id);
  return out;
}

}  // namespace

TEST_P(StoreContract, ARenderJobReadsBackAsInserted) {
  int64_t a = new_user("a@example.com");
  RenderJobRecord in = render_record(a, "render_1");
  ASSERT_TRUE(store().insert_render_job(in).ok());
  auto got = store().render_job("render_1");
  ASSERT_TRUE(got.ok()) << got.status().message;
  EXPECT_EQ(got->id, "render_1");
  EXPECT_EQ(got->user_id, a);
  EXPECT_EQ(got->status, "rendering");
  EXPECT_EQ(got->mode, "strict");
  EXPECT_EQ(got->output, "video");
  EXPECT_EQ(got->output_url, "");
  EXPECT_EQ(got->thumbnail_url, "");
  EXPECT_EQ(got->files, "[]");
  EXPECT_EQ(got->error, "");
  EXPECT_EQ(got->error_category, "");
  EXPECT_EQ(got->duration_ms, 0);
  EXPECT_EQ(got->created_at, kNowMs);
  EXPECT_FALSE(got->started_at.has_value()) << "an unset start is kept as absent";
  EXPECT_FALSE(got->completed_at.has_value());

  // Every field set, including the optional times and text that needs quoting.
  RenderJobRecord full = render_record(a, "render_2", kNowMs + 1);
  full.status = "failed";
  full.mode = "preview";
  full.output = "frames";
  full.output_url = "https://example.com/o.mp4";
  full.thumbnail_url = "https://example.com/t.jpg";
  full.files = R"([{"url":"https://example.com/f.png","mediaType":"image/png"}])";
  full.error = "it's \"broken\" — ünïcode";
  full.error_category = "provider_error";
  full.duration_ms = 12'345;
  full.started_at = kNowMs + 2;
  full.completed_at = kNowMs + 3;
  ASSERT_TRUE(store().insert_render_job(full).ok());
  auto f = store().render_job("render_2");
  ASSERT_TRUE(f.ok()) << f.status().message;
  EXPECT_EQ(f->status, "failed");
  EXPECT_EQ(f->mode, "preview");
  EXPECT_EQ(f->output, "frames");
  EXPECT_EQ(f->output_url, full.output_url);
  EXPECT_EQ(f->thumbnail_url, full.thumbnail_url);
  EXPECT_EQ(f->files, full.files);
  EXPECT_EQ(f->error, full.error);
  EXPECT_EQ(f->error_category, "provider_error");
  EXPECT_EQ(f->duration_ms, 12'345);
  EXPECT_EQ(f->created_at, kNowMs + 1);
  EXPECT_EQ(f->started_at, std::optional<int64_t>(kNowMs + 2));
  EXPECT_EQ(f->completed_at, std::optional<int64_t>(kNowMs + 3));
}

TEST_P(StoreContract, AnUnknownRenderJobIsNotFound) {
  auto got = store().render_job("render_nope");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code, Code::not_found);
}

TEST_P(StoreContract, ARenderJobIdIsInsertedOnce) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_1")).ok());
  RenderJobRecord twin = render_record(a, "render_1", kNowMs + 5);
  twin.mode = "preview";
  EXPECT_FALSE(store().insert_render_job(twin).ok()) << "a duplicate id is refused";
  auto got = store().render_job("render_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->mode, "strict") << "the first insert stands";
  EXPECT_EQ(got->created_at, kNowMs);
}

TEST_P(StoreContract, ARenderJobUpdateWritesOnlyFromTheExpectedStatus) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_1")).ok());

  RenderJobRecord done = render_record(a, "render_1");
  done.status = "completed";
  done.output_url = "https://example.com/o.mp4";
  done.thumbnail_url = "https://example.com/t.jpg";
  done.files = R"(["a","b"])";
  done.duration_ms = 900;
  done.started_at = kNowMs + 10;
  done.completed_at = kNowMs + 910;

  // Wrong expected status: false, and nothing is written.
  auto wrong = store().update_render_job(done, "completed");
  ASSERT_TRUE(wrong.ok()) << wrong.status().message;
  EXPECT_FALSE(*wrong);
  auto same = store().render_job("render_1");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->status, "rendering");
  EXPECT_EQ(same->output_url, "");
  EXPECT_EQ(same->files, "[]");
  EXPECT_EQ(same->duration_ms, 0);
  EXPECT_FALSE(same->started_at.has_value());
  EXPECT_FALSE(same->completed_at.has_value());

  // The expected status: true, and every mutable field is written.
  auto right = store().update_render_job(done, "rendering");
  ASSERT_TRUE(right.ok()) << right.status().message;
  EXPECT_TRUE(*right);
  auto got = store().render_job("render_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "completed");
  EXPECT_EQ(got->output_url, done.output_url);
  EXPECT_EQ(got->thumbnail_url, done.thumbnail_url);
  EXPECT_EQ(got->files, done.files);
  EXPECT_EQ(got->duration_ms, 900);
  EXPECT_EQ(got->started_at, std::optional<int64_t>(kNowMs + 10));
  EXPECT_EQ(got->completed_at, std::optional<int64_t>(kNowMs + 910));

  // A second finisher (say, a cancel racing the completion) loses and changes nothing.
  RenderJobRecord failed = done;
  failed.status = "failed";
  failed.error = "cancelled";
  failed.error_category = "internal";
  failed.output_url = "";
  failed.completed_at.reset();
  auto late = store().update_render_job(failed, "rendering");
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(*late);
  got = store().render_job("render_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "completed");
  EXPECT_EQ(got->error, "");
  EXPECT_EQ(got->output_url, done.output_url);
  EXPECT_EQ(got->completed_at, std::optional<int64_t>(kNowMs + 910));

  // The identity fields are not mutable: an update never moves a job to another user or mode.
  RenderJobRecord moved = *got;
  moved.user_id = a + 1000;
  moved.mode = "preview";
  moved.output = "frames";
  moved.created_at = 1;
  moved.error = "x";
  ASSERT_TRUE(*store().update_render_job(moved, "completed"));
  got = store().render_job("render_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->error, "x");
  EXPECT_EQ(got->user_id, a);
  EXPECT_EQ(got->mode, "strict");
  EXPECT_EQ(got->output, "video");
  EXPECT_EQ(got->created_at, kNowMs);

  // An unknown job: false, not an error.
  auto none = store().update_render_job(render_record(a, "render_nope"), "rendering");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  EXPECT_EQ(store().render_job("render_nope").status().code, Code::not_found);
}

TEST_P(StoreContract, RenderJobsAreListedPerUserNewestFirstUpToTheLimit) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  // Inserted out of order; two share a creation time (the higher id comes first).
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_a2", kNowMs + 2)).ok());
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_a1", kNowMs + 1)).ok());
  ASSERT_TRUE(store().insert_render_job(render_record(b, "render_b1", kNowMs + 3)).ok());
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_a4", kNowMs + 4)).ok());
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_a3b", kNowMs + 3)).ok());
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_a3a", kNowMs + 3)).ok());

  auto all = store().render_jobs_of(a, 100);
  ASSERT_TRUE(all.ok()) << all.status().message;
  EXPECT_EQ(ids(*all), (std::vector<std::string>{"render_a4", "render_a3b", "render_a3a", "render_a2", "render_a1"}));
  for (auto& r : *all) EXPECT_EQ(r.user_id, a) << "another user's job listed: " << r.id;

  auto two = store().render_jobs_of(a, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(ids(*two), (std::vector<std::string>{"render_a4", "render_a3b"}));

  auto zero = store().render_jobs_of(a, 0);
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->empty());

  auto theirs = store().render_jobs_of(b, 100);
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(ids(*theirs), std::vector<std::string>{"render_b1"});

  int64_t c = new_user("c@example.com");
  auto none = store().render_jobs_of(c, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // A listing carries the whole record.
  RenderJobRecord done = render_record(a, "render_a4", kNowMs + 4);
  done.status = "completed";
  done.output_url = "https://example.com/o.mp4";
  done.started_at = kNowMs + 5;
  done.completed_at = kNowMs + 6;
  ASSERT_TRUE(*store().update_render_job(done, "rendering"));
  auto again = store().render_jobs_of(a, 1);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].status, "completed");
  EXPECT_EQ((*again)[0].output_url, done.output_url);
  EXPECT_EQ((*again)[0].mode, "strict");
  EXPECT_EQ((*again)[0].started_at, std::optional<int64_t>(kNowMs + 5));
  EXPECT_EQ((*again)[0].completed_at, std::optional<int64_t>(kNowMs + 6));
}

TEST_P(StoreContract, UnfinishedRenderJobsAreThoseStillRendering) {
  auto empty = store().unfinished_render_jobs();
  ASSERT_TRUE(empty.ok()) << empty.status().message;
  EXPECT_TRUE(empty->empty());

  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_1", kNowMs + 1)).ok());
  ASSERT_TRUE(store().insert_render_job(render_record(b, "render_2", kNowMs + 2)).ok());
  ASSERT_TRUE(store().insert_render_job(render_record(a, "render_3", kNowMs + 3)).ok());
  RenderJobRecord finished = render_record(a, "render_4", kNowMs + 4);
  finished.status = "completed";
  ASSERT_TRUE(store().insert_render_job(finished).ok());

  RenderJobRecord failed = render_record(a, "render_3", kNowMs + 3);
  failed.status = "failed";
  failed.error = "boom";
  failed.error_category = "internal";
  ASSERT_TRUE(*store().update_render_job(failed, "rendering"));

  auto open = store().unfinished_render_jobs();
  ASSERT_TRUE(open.ok()) << open.status().message;
  std::vector<std::string> got = ids(*open);
  std::sort(got.begin(), got.end());  // no order is promised
  EXPECT_EQ(got, (std::vector<std::string>{"render_1", "render_2"})) << "every user's rendering jobs, no finished one";
  for (auto& r : *open) EXPECT_EQ(r.status, "rendering");
}

}  // namespace varg
