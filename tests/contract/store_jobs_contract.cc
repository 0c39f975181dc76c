// The Store contract, continued: job leases (one instance runs each job), conditional job updates
// that settle exactly once, and idempotency claims. Instantiated with the rest of StoreContract.
#include <algorithm>
#include <atomic>
#include <thread>

#include "store_contract.h"

namespace varg {

namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kNowMs = kNow * 1000;

JobRecord job_record(int64_t user, const std::string& id, const std::string& owner = "", int64_t until = 0) {
  JobRecord j;
  j.id = id;
  j.user_id = user;
  j.capability = "image";
  j.model = "fal:flux-pro";
  j.params = "{}";
  j.created_at = kNow;
  j.lease_owner = owner;
  j.lease_until = until;
  return j;
}

Status admit(Store& s, const JobRecord& j, const std::optional<LedgerEntry>& hold, int cap) {
  Store::Admission a;
  a.job = j;
  a.hold = hold;
  a.max_active = cap;
  a.now = kNow;
  return s.admit_job(a).status();
}

// One move of the job's state machine: whether it applied.
Result<bool> move(Store& s, const JobRecord& j, JobStatus from, const std::optional<LedgerEntry>& entry = std::nullopt) {
  auto m = s.transition_job({j, from, entry, std::nullopt});
  if (!m.ok()) return m.status();
  return m->applied;
}

}  // namespace

TEST_P(StoreContract, JobPagesAreNewestFirstWithoutGapsOrRepeats) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  for (int i = 0; i < 5; i++) {  // three in one second: the id orders them
    JobRecord j = job_record(a, "job_" + std::to_string(i));
    j.created_at = kNow + (i < 3 ? 0 : i);
    if (i == 4) j.capability = "speech";
    ASSERT_TRUE(store().insert_job(j).ok());
  }
  ASSERT_TRUE(store().insert_job(job_record(b, "job_b")).ok());
  std::vector<std::string> seen;
  Store::JobPage q;
  q.user_id = a;
  q.limit = 2;
  for (int pages = 0; pages < 5; pages++) {
    auto page = store().jobs_page(q);
    ASSERT_TRUE(page.ok()) << page.status().message;
    for (auto& j : *page) seen.push_back(j.id);
    if (page->size() < 2) break;
    q.after_created = page->back().created_at;
    q.after_id = page->back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"job_4", "job_3", "job_2", "job_1", "job_0"}));
  Store::JobPage speech;
  speech.user_id = a;
  speech.capability = "speech";
  speech.status = "queued";
  auto only = store().jobs_page(speech);
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].id, "job_4");
  speech.status = "completed";
  EXPECT_TRUE(store().jobs_page(speech)->empty());
}

TEST_P(StoreContract, AJobIsClaimedByOneInstanceUntilItsLeaseEnds) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().insert_job(job_record(a, "job_1", "i1", kNowMs + 10'000)).ok());
  EXPECT_TRUE(*store().claim_job("job_1", "i1", kNowMs + 20'000, kNowMs)) << "the holder renews its own claim";
  EXPECT_FALSE(*store().claim_job("job_1", "i2", kNowMs + 20'000, kNowMs + 5'000)) << "a live lease is not taken";
  EXPECT_TRUE(*store().claim_job("job_1", "i2", kNowMs + 40'000, kNowMs + 20'001)) << "an expired lease is taken";
  auto j = store().job("job_1");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->lease_owner, "i2");
  EXPECT_EQ(j->lease_until, kNowMs + 40'000);
  EXPECT_FALSE(*store().claim_job("job_1", "i1", kNowMs + 50'000, kNowMs + 30'000)) << "the old holder lost it";
  EXPECT_FALSE(*store().claim_job("job_nope", "i1", kNowMs, kNowMs)) << "an unknown job is never claimed";
}

TEST_P(StoreContract, ConcurrentClaimsOfAnExpiredJobHaveOneWinner) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().insert_job(job_record(a, "job_1", "dead", kNowMs)).ok());
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      auto r = store().claim_job("job_1", "i" + std::to_string(t), kNowMs + 10'000, kNowMs + 1);
      if (r.ok() && *r) won++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(won, 1);
}

TEST_P(StoreContract, ActiveJobsCountsOnlyTheUsersQueuedAndProcessingJobs) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  EXPECT_EQ(*store().active_jobs(a), 0);
  for (auto [id, user, status] : {std::tuple{"job_1", a, JobStatus::queued}, {"job_2", a, JobStatus::processing},
                                  {"job_3", a, JobStatus::completed}, {"job_4", a, JobStatus::failed},
                                  {"job_5", b, JobStatus::queued}}) {
    JobRecord j = job_record(user, id);
    j.status = status;
    ASSERT_TRUE(store().insert_job(j).ok());
  }
  EXPECT_EQ(*store().active_jobs(a), 2);
  EXPECT_EQ(*store().active_jobs(b), 1);
}

TEST_P(StoreContract, AWebhookIsWrittenWithItsJobAndDueOnceTheJobIsTerminal) {
  int64_t a = new_user("a@example.com");
  Store::Admission ad;
  ad.job = job_record(a, "job_1");
  ad.now = kNow;
  ad.webhook = WebhookDelivery{"msg_1", a, "", "https://hooks.example/x", "pending", 0, kNowMs, 0, "", kNow, 0};
  ASSERT_TRUE(store().admit_job(ad).ok());
  EXPECT_TRUE(store().due_webhooks(kNowMs + 1000, 10)->empty()) << "the job is still queued";
  JobRecord j = ad.job;
  j.status = JobStatus::failed;
  ASSERT_TRUE(*move(store(), j, JobStatus::queued));
  auto due = store().due_webhooks(kNowMs + 1000, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].job_id, "job_1");
  EXPECT_TRUE(store().due_webhooks(kNowMs - 1, 10)->empty()) << "not before its time";
  // Two senders see it due; one claims the attempt.
  std::atomic<int> won{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < 4; i++)
    senders.emplace_back([&] { won += *store().claim_webhook("msg_1", kNowMs, kNowMs + 15'000) ? 1 : 0; });
  for (auto& t : senders) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_TRUE(store().due_webhooks(kNowMs + 1000, 10)->empty()) << "claimed: leased past the attempt";
  WebhookDelivery d = (*due)[0];
  d.attempts = 1;
  d.last_status = 500;
  d.last_error = "HTTP 500";
  d.next_attempt_at = kNowMs + 5000;
  ASSERT_TRUE(store().record_webhook(d).ok());
  EXPECT_EQ(store().due_webhooks(kNowMs + 5000, 10)->size(), 1u);
  d.status = "delivered";
  d.delivered_at = kNow + 5;
  ASSERT_TRUE(store().record_webhook(d).ok());
  EXPECT_TRUE(store().due_webhooks(kNowMs + 99'000, 10)->empty()) << "delivered: never again";
  auto listed = store().webhooks_of(a, 10);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].status, "delivered");
  EXPECT_EQ((*listed)[0].attempts, 1);
  EXPECT_EQ((*listed)[0].last_status, 500);
  EXPECT_TRUE(store().webhooks_of(new_user("b@example.com"), 10)->empty());
}

TEST_P(StoreContract, TheFirstWebhookSecretStaysUntilReplaced) {
  int64_t a = new_user("a@example.com");
  EXPECT_FALSE(store().webhook_secret(a)->has_value());
  EXPECT_EQ(*store().put_webhook_secret(a, "sealed-1", false, kNow), "sealed-1");
  EXPECT_EQ(*store().put_webhook_secret(a, "sealed-2", false, kNow), "sealed-1") << "a racing first use keeps the first";
  EXPECT_EQ(*store().put_webhook_secret(a, "sealed-3", true, kNow), "sealed-3");
  EXPECT_EQ(store().webhook_secret(a)->value_or(""), "sealed-3");
}

TEST_P(StoreContract, FinishedJobsAreNeverClaimed) {
  int64_t a = new_user("a@example.com");
  JobRecord j = job_record(a, "job_1");
  ASSERT_TRUE(store().insert_job(j).ok());
  j.status = JobStatus::failed;
  ASSERT_TRUE(*move(store(), j, JobStatus::queued));
  EXPECT_FALSE(*store().claim_job("job_1", "i1", kNowMs + 10'000, kNowMs));
  EXPECT_TRUE(store().unfinished_jobs()->empty());
}

TEST_P(StoreContract, RenewLeasesExtendsOnlyTheOwnersUnfinishedJobs) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().insert_job(job_record(a, "job_1", "i1", kNowMs)).ok());
  ASSERT_TRUE(store().insert_job(job_record(a, "job_2", "i2", kNowMs)).ok());
  ASSERT_TRUE(store().renew_leases("i1", kNowMs + 9'000).ok());
  EXPECT_EQ(store().job("job_1")->lease_until, kNowMs + 9'000);
  EXPECT_EQ(store().job("job_2")->lease_until, kNowMs);
}

TEST_P(StoreContract, UpdateJobIsConditionalAndLeavesTheLeaseAlone) {
  int64_t a = new_user("a@example.com");
  JobRecord j = job_record(a, "job_1", "i1", kNowMs + 10'000);
  ASSERT_TRUE(store().insert_job(j).ok());
  ASSERT_TRUE(store().renew_leases("i1", kNowMs + 30'000).ok());
  j.status = JobStatus::processing;
  j.started_at = kNow;
  j.upstream_id = "up-1";
  EXPECT_TRUE(*move(store(), j, JobStatus::queued));  // j still carries the older lease
  EXPECT_FALSE(*move(store(), j, JobStatus::queued)) << "the status moved on";
  auto got = store().job("job_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, JobStatus::processing);
  EXPECT_EQ(got->upstream_id, "up-1");
  EXPECT_EQ(got->lease_until, kNowMs + 30'000) << "a job update must not shorten a renewed lease";
}

TEST_P(StoreContract, FinishJobSettlesTheReservationOnceUnderRacingFinishers) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append({0, a, EntryKind::grant, 100, "g", "", kNow}).ok());
  ASSERT_TRUE(store().append({0, a, EntryKind::reserve, 10, "reserve:job_1", "job_1", kNow}).ok());
  JobRecord j = job_record(a, "job_1");
  j.status = JobStatus::processing;
  j.reservation = "reserve:job_1";
  j.cost_cents = 10;
  ASSERT_TRUE(store().insert_job(j).ok());
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; t++)
    threads.emplace_back([&, t] {
      JobRecord f = j;
      const bool capture = t % 2 == 0;
      f.status = capture ? JobStatus::completed : JobStatus::cancelled;
      LedgerEntry settle{0, a, capture ? EntryKind::capture : EntryKind::release, 0,
                         (capture ? "capture:" : "release:") + j.id, j.reservation, kNow};
      auto r = move(store(), f, JobStatus::processing, settle);
      if (r.ok() && *r) finished++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(finished, 1) << "one finisher wins";
  auto b = store().balance(a);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->reserved, 0);
  const JobStatus status = store().job("job_1")->status;
  EXPECT_EQ(b->settled, status == JobStatus::completed ? 90 : 100) << job_status_name(status);
  expect_projection_consistent(a, "racing finishers");
}

namespace {
IdempotencyRecord idem(int64_t user, int64_t key_id, const std::string& route, const std::string& body, int64_t at) {
  IdempotencyRecord r;
  r.user_id = user;
  r.api_key_id = key_id;
  r.route = route;
  r.key = "idem-1";
  r.body_hash = body;
  r.created_at = at;
  return r;
}
}  // namespace

TEST_P(StoreContract, AnIdempotencyKeyIsWrittenWithItsJobAndReplaysIt) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append({0, a, EntryKind::grant, 10, "g", "", kNow}).ok());
  auto request = [&](const std::string& id, const std::string& body) {
    Store::Admission ad;
    ad.job = job_record(a, id);
    ad.job.cost_cents = 10;
    ad.job.reservation = "reserve:" + id;
    ad.hold = LedgerEntry{0, a, EntryKind::reserve, 10, "reserve:" + id, id, kNow};
    ad.idempotency = idem(a, 7, "POST /v1/image", body, kNow);
    ad.idempotency_since = kNow - 86400;
    ad.now = kNow;
    return store().admit_job(ad);
  };
  auto first = request("job_1", "b");
  ASSERT_TRUE(first.ok()) << first.status().message;
  EXPECT_FALSE(first->replayed);
  auto retry = request("job_2", "b");  // the client retried: the first job, charged once
  ASSERT_TRUE(retry.ok()) << retry.status().message;
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->job.id, "job_1");
  EXPECT_EQ(store().job("job_2").status().code, Code::not_found);
  EXPECT_EQ(store().balance(a)->reserved, 10);
  EXPECT_EQ(request("job_3", "other").status().code, Code::conflict);
  // A refused admission (402 here) writes no record: the retry is a new request.
  Store::Admission poor;
  poor.job = job_record(a, "job_4");
  poor.hold = LedgerEntry{0, a, EntryKind::reserve, 10, "reserve:job_4", "job_4", kNow};
  poor.idempotency = idem(a, 7, "POST /v1/video", "v", kNow);
  poor.idempotency_since = kNow - 86400;
  EXPECT_EQ(store().admit_job(poor).status().code, Code::insufficient_balance);
  bool claimed = false;
  ASSERT_TRUE(store().idempotency_claim(idem(a, 7, "POST /v1/video", "v", kNow), kNow - 86400, kNow - 120, &claimed).ok());
  EXPECT_TRUE(claimed) << "a refused admission left its Idempotency-Key behind";
  expect_projection_consistent(a, "idempotent admission");
}

TEST_P(StoreContract, AdmissionReservesAndInsertsTogetherOrNotAtAll) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append({0, a, EntryKind::grant, 15, "g", "", kNow}).ok());
  auto hold = [&](const std::string& job, int64_t amount) {
    return LedgerEntry{0, a, EntryKind::reserve, amount, "reserve:" + job, job, kNow};
  };
  ASSERT_TRUE(admit(store(), job_record(a, "job_1"), hold("job_1", 10), 0).ok());
  EXPECT_EQ(store().balance(a)->reserved, 10);
  EXPECT_EQ(*store().active_jobs(a), 1);
  // 402: neither the hold nor the job row nor the count is left behind.
  Status poor = admit(store(), job_record(a, "job_2"), hold("job_2", 10), 0);
  EXPECT_EQ(poor.code, Code::insufficient_balance);
  EXPECT_EQ(store().job("job_2").status().code, Code::not_found);
  EXPECT_EQ(*store().active_jobs(a), 1);
  // A job id taken already: the hold is undone with it.
  Status twin = admit(store(), job_record(a, "job_1"), hold("job_1b", 5), 0);
  EXPECT_FALSE(twin.ok());
  EXPECT_EQ(store().balance(a)->reserved, 10);
  expect_projection_consistent(a, "refused admissions");
}

TEST_P(StoreContract, ConcurrentAdmissionsNeverExceedTheActiveJobsCap) {
  int64_t a = new_user("a@example.com");
  std::atomic<int> admitted{0}, capped{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; i++) {
        Status st = admit(store(), job_record(a, "job_" + std::to_string(t) + "_" + std::to_string(i)), std::nullopt, 3);
        (st.ok() ? admitted : st.code == Code::rate_limited ? capped : other)++;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted, 3);
  EXPECT_EQ(capped, 37);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(*store().active_jobs(a), 3);
  // A finished job frees its place.
  JobRecord done = *store().unfinished_jobs()->begin();
  done.status = JobStatus::completed;
  ASSERT_TRUE(*move(store(), done, JobStatus::queued));
  EXPECT_EQ(*store().active_jobs(a), 2);
  EXPECT_TRUE(admit(store(), job_record(a, "job_after"), std::nullopt, 3).ok());
}

TEST_P(StoreContract, RecoveryFindsTheHoldsWithoutALiveJob) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append({0, a, EntryKind::grant, 100, "g", "", kNow}).ok());
  // A hold whose job row never got written (a crash of an older vargd between two writes) ...
  ASSERT_TRUE(store().append({0, a, EntryKind::reserve, 10, "reserve:job_lost", "job_lost", kNow}).ok());
  // ... one whose job is live, one whose job finished without settling, and a fresh orphan.
  ASSERT_TRUE(admit(store(), job_record(a, "job_live"), LedgerEntry{0, a, EntryKind::reserve, 20, "reserve:job_live", "job_live", kNow}, 0).ok());
  JobRecord gone = job_record(a, "job_gone");
  gone.status = JobStatus::failed;
  ASSERT_TRUE(admit(store(), gone, LedgerEntry{0, a, EntryKind::reserve, 30, "reserve:job_gone", "job_gone", kNow}, 0).ok());
  ASSERT_TRUE(store().append({0, a, EntryKind::reserve, 5, "reserve:job_new", "job_new", kNow + 100}).ok());
  EXPECT_EQ(store().balance(a)->reserved, 65);
  auto orphans = store().orphan_holds(kNow + 50);
  ASSERT_TRUE(orphans.ok()) << orphans.status().message;
  std::vector<std::string> jobs;
  for (auto& h : *orphans) jobs.push_back(h.job_id);
  std::sort(jobs.begin(), jobs.end());
  EXPECT_EQ(jobs, (std::vector<std::string>{"job_gone", "job_lost"}));
  for (auto& h : *orphans) ASSERT_TRUE(store().append({0, h.user_id, EntryKind::release, 0, "release:" + h.job_id, h.reservation, kNow}).ok());
  EXPECT_EQ(store().balance(a)->reserved, 25) << "the live job's and the fresh hold remain";
  EXPECT_TRUE(store().orphan_holds(kNow + 50)->empty()) << "a released hold is no orphan any more";
  EXPECT_EQ(store().balance(a)->settled, 100);
  expect_projection_consistent(a, "recovery");
}

TEST_P(StoreContract, IdenticalRequestsFlyOnceAndFollowersGetTheLeadersResult) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  ASSERT_TRUE(store().append({0, a, EntryKind::grant, 100, "g", "", kNow}).ok());
  auto request = [&](int64_t user, const std::string& id) {
    Store::Admission ad;
    ad.job = job_record(user, id);
    ad.job.cache_key = "sha256:same";
    ad.job.billing_mode = "metered";
    ad.job.cost_cents = 10;
    ad.job.reservation = "reserve:" + id;
    ad.hold = LedgerEntry{0, user, EntryKind::reserve, 10, "reserve:" + id, id, kNow};
    ad.lookup_cache = ad.join_flight = true;
    ad.now = kNow;
    auto r = store().admit_job(ad);
    return r.ok() ? Result<JobRecord>(r->job) : Result<JobRecord>(r.status());
  };
  auto leader = request(a, "job_lead");
  ASSERT_TRUE(leader.ok()) << leader.status().message;
  EXPECT_TRUE(leader->leader.empty());
  auto follower = request(b, "job_follow");  // b has no credits: a follower pays nothing
  ASSERT_TRUE(follower.ok()) << follower.status().message;
  EXPECT_EQ(follower->leader, "job_lead");
  EXPECT_EQ(follower->cost_cents, 0);
  EXPECT_EQ(store().balance(b)->reserved, 0);

  JobRecord done = *leader;
  done.status = JobStatus::completed;
  done.completed_at = kNow + 5;
  done.output_file_id = "f1";
  done.output_media_type = "image/png";
  bool existed = false;
  ASSERT_TRUE(store().insert_file({"f1", "h1", 3, "image/png", "png", kNow}, &existed).ok());
  auto moved = store().transition_job({done, JobStatus::queued,
                                       LedgerEntry{0, a, EntryKind::capture, 0, "capture:job_lead", "reserve:job_lead", kNow},
                                       CacheEntry{"sha256:same", "f1", "image/png", kNow, kNow + 100}});
  ASSERT_TRUE(moved.ok()) << moved.status().message;
  EXPECT_TRUE(moved->applied);
  EXPECT_EQ(moved->followers, std::vector<std::string>{"job_follow"});
  auto f = store().job("job_follow");
  EXPECT_EQ(f->status, JobStatus::completed);
  EXPECT_EQ(f->output_file_id, "f1");
  EXPECT_TRUE(f->cache_hit);
  EXPECT_EQ(*store().active_jobs(b), 0);
  EXPECT_EQ(store().balance(a)->settled, 90);
  // Published with the completion: the next identical request is a free hit at once.
  auto hit = request(b, "job_later");
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit->status, JobStatus::completed);
  EXPECT_EQ(hit->billing_mode, "cached");
  expect_projection_consistent(a, "single flight");
}

TEST_P(StoreContract, ACancelledJobIsNeverCachedAndItsFollowersFail) {
  int64_t a = new_user("a@example.com");
  JobRecord lead = job_record(a, "job_lead");
  lead.cache_key = "sha256:k";
  ASSERT_TRUE(admit(store(), lead, std::nullopt, 0).ok());
  Store::Admission ad;
  ad.job = job_record(a, "job_f");
  ad.job.cache_key = "sha256:k";
  ad.join_flight = true;
  ad.now = kNow;
  ASSERT_EQ(store().admit_job(ad)->job.leader, "job_lead");
  JobRecord cancelled = lead;
  cancelled.status = JobStatus::cancelled;
  auto moved = store().transition_job({cancelled, JobStatus::queued, std::nullopt,
                                       CacheEntry{"sha256:k", "f1", "image/png", kNow, kNow + 100}});
  ASSERT_TRUE(moved.ok() && moved->applied);
  EXPECT_FALSE(store().cache_get("sha256:k", kNow)->has_value()) << "only a completion publishes";
  EXPECT_EQ(store().job("job_f")->status, JobStatus::failed);
  EXPECT_EQ(*store().active_jobs(a), 0);
  // A finished job never moves again.
  JobRecord again = cancelled;
  again.status = JobStatus::completed;
  EXPECT_FALSE(store().transition_job({again, JobStatus::cancelled, std::nullopt, std::nullopt}).ok());
}

TEST_P(StoreContract, AResultFileIsWrittenWithTheCompletionThatAppliesAndNotOtherwise) {
  int64_t a = new_user("a@example.com");
  JobRecord j = job_record(a, "job_file");
  ASSERT_TRUE(admit(store(), j, std::nullopt, 0).ok());
  JobRecord done = j;
  done.status = JobStatus::completed;
  done.output_file_id = "file_result";
  done.output_media_type = "image/png";
  Store::Transition t{done, JobStatus::queued, std::nullopt, std::nullopt};
  t.file = FileRecord{"file_result", std::string(64, 'a'), 3, "image/png", "png", kNow};
  auto moved = store().transition_job(t);
  ASSERT_TRUE(moved.ok() && moved->applied) << moved.status().message;
  auto f = store().file("file_result");
  ASSERT_TRUE(f.ok()) << f.status().message;
  EXPECT_EQ(f->size, 3);
  // The same bytes again (another job, a repeat) keep the stored record.
  JobRecord other = job_record(a, "job_file_2");
  ASSERT_TRUE(admit(store(), other, std::nullopt, 0).ok());
  JobRecord other_done = other;
  other_done.status = JobStatus::completed;
  Store::Transition t2{other_done, JobStatus::queued, std::nullopt, std::nullopt};
  t2.file = FileRecord{"file_result", std::string(64, 'a'), 3, "image/png", "png", kNow + 9};
  ASSERT_TRUE(store().transition_job(t2)->applied);
  EXPECT_EQ(store().file("file_result")->created_at, kNow);
  // A move that does not apply (the job was cancelled first) writes no file.
  Store::Transition late{done, JobStatus::processing, std::nullopt, std::nullopt};
  late.file = FileRecord{"file_never", std::string(64, 'b'), 1, "image/png", "png", kNow};
  auto lost = store().transition_job(late);
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(lost->applied);
  EXPECT_EQ(store().file("file_never").status().code, Code::not_found);
}

TEST_P(StoreContract, TheRateLimitIsOneSlidingBudgetPerAccount) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  const int64_t t0 = kNowMs - kNowMs % 60000;
  for (int i = 0; i < 3; i++) EXPECT_TRUE(*store().take_requests(a, t0 + i, 3, 1)) << i;
  EXPECT_FALSE(*store().take_requests(a, t0 + 10, 3, 1)) << "a fourth request in the minute";
  EXPECT_FALSE(*store().take_requests(a, t0 + 20, 3, 1)) << "a refused request is not counted, and still refused";
  EXPECT_TRUE(*store().take_requests(b, t0 + 30, 3, 1)) << "another account has its own budget";
  // Half-way through the next minute the previous one still counts half: 1.5 + 1 fits, + 2 does not.
  EXPECT_TRUE(*store().take_requests(a, t0 + 90'000, 3, 1));
  EXPECT_FALSE(*store().take_requests(a, t0 + 90'001, 3, 1));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; i++)
        if (*store().take_requests(b, t0 + 200'000, 10, 1)) admitted++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted, 10) << "concurrent requests never exceed the budget";
  // Slots taken in batches: as many as fit, never more.
  int64_t c = new_user("c@example.com");
  EXPECT_EQ(*store().take_requests(c, t0 + 1, 10, 4), 4);
  EXPECT_EQ(*store().take_requests(c, t0 + 2, 10, 4), 4);
  EXPECT_EQ(*store().take_requests(c, t0 + 3, 10, 4), 2) << "only what is left of the budget";
  EXPECT_EQ(*store().take_requests(c, t0 + 4, 10, 4), 0);
}

TEST_P(StoreContract, ConcurrentIdempotencyClaimsHaveOneWinner) {
  int64_t a = new_user("a@example.com");
  std::atomic<int> claimed{0}, seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&] {
      bool mine = false;
      auto r = store().idempotency_claim(idem(a, 7, "POST /v1/image", "body-1", kNow), kNow - 86400, kNow - 120, &mine);
      if (r.ok()) (mine ? claimed : seen)++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed, 1);
  EXPECT_EQ(seen, 7);
  IdempotencyRecord done = idem(a, 7, "POST /v1/image", "body-1", kNow);
  done.done = true;
  done.status = 202;
  done.response = "{\"ok\":1}";
  ASSERT_TRUE(store().idempotency_finish(done).ok());
  bool mine = true;
  auto again = store().idempotency_claim(idem(a, 7, "POST /v1/image", "body-2", kNow + 1), kNow - 86400, kNow - 120, &mine);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(mine);
  EXPECT_TRUE(again->done);
  EXPECT_EQ(again->status, 202);
  EXPECT_EQ(again->body_hash, "body-1");
  EXPECT_EQ(again->response, "{\"ok\":1}");
  EXPECT_FALSE(again->withheld);
}

TEST_P(StoreContract, IdempotencyRecordsAreScopedToTheKeyAndTheRoute) {
  int64_t a = new_user("a@example.com");
  bool mine = false;
  ASSERT_TRUE(store().idempotency_claim(idem(a, 7, "POST /api/keys", "b", kNow), kNow - 86400, kNow - 120, &mine).ok());
  ASSERT_TRUE(mine);
  IdempotencyRecord done = idem(a, 7, "POST /api/keys", "b", kNow);
  done.done = true;
  done.status = 201;
  done.withheld = true;
  ASSERT_TRUE(store().idempotency_finish(done).ok());
  // Another key of the same account, and another route, each claim the same Idempotency-Key afresh.
  ASSERT_TRUE(store().idempotency_claim(idem(a, 8, "POST /api/keys", "b", kNow), kNow - 86400, kNow - 120, &mine).ok());
  EXPECT_TRUE(mine) << "a record of another API key was replayed";
  ASSERT_TRUE(store().idempotency_claim(idem(a, 7, "POST /v1/image", "b", kNow), kNow - 86400, kNow - 120, &mine).ok());
  EXPECT_TRUE(mine) << "a record of another route was replayed";
  auto same = store().idempotency_claim(idem(a, 7, "POST /api/keys", "b", kNow + 5), kNow - 86400, kNow - 120, &mine);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(mine);
  EXPECT_TRUE(same->withheld);
  EXPECT_EQ(same->response, "");
}

TEST_P(StoreContract, APendingIdempotencyClaimOfADeadProcessIsTakenOver) {
  int64_t a = new_user("a@example.com");
  bool mine = false;
  ASSERT_TRUE(store().idempotency_claim(idem(a, 7, "POST /v1/image", "b", kNow), kNow - 86400, kNow - 120, &mine).ok());
  ASSERT_TRUE(mine);
  // Still in progress a minute later; abandoned (its process died) after two.
  ASSERT_TRUE(store().idempotency_claim(idem(a, 7, "POST /v1/image", "b", kNow + 60), kNow - 86400, kNow + 60 - 120, &mine).ok());
  EXPECT_FALSE(mine);
  ASSERT_TRUE(store().idempotency_claim(idem(a, 7, "POST /v1/image", "b", kNow + 121), kNow - 86400, kNow + 1, &mine).ok());
  EXPECT_TRUE(mine);
}

TEST_P(StoreContract, FilesDeduplicateByContentAndTheCacheExpires) {
  bool existed = true;
  auto f = store().insert_file({"f1", "h1", 3, "image/png", "png", kNow}, &existed);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(existed);
  auto g = store().insert_file({"f2", "h1", 3, "image/png", "png", kNow}, &existed);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(existed);
  EXPECT_EQ(g->id, "f1");
  ASSERT_TRUE(store().cache_put({"sha256:k", "f1", "image/png", kNow, kNow + 10}).ok());
  EXPECT_TRUE(store().cache_get("sha256:k", kNow + 9)->has_value());
  EXPECT_FALSE(store().cache_get("sha256:k", kNow + 10)->has_value());
}

TEST_P(StoreContract, UploadsArePerAccountRecordedOnceAndPagedNewestFirst) {
  const int64_t a = new_user("uploader@example.com"), b = new_user("other@example.com");
  bool existed = false;
  for (const char* id : {"file_a", "file_b", "file_c"})
    ASSERT_TRUE(store().insert_file({id, std::string("h") + id, 3, "image/png", "png", kNow}, &existed).ok());
  ASSERT_TRUE(store().record_upload(a, "file_a", 1000).ok());
  ASSERT_TRUE(store().record_upload(a, "file_b", 2000).ok());
  ASSERT_TRUE(store().record_upload(a, "file_c", 2000).ok());
  ASSERT_TRUE(store().record_upload(a, "file_a", 3000).ok()) << "the same file again: its first upload stays";
  ASSERT_TRUE(store().record_upload(b, "file_b", 5000).ok());
  auto first = store().uploads_page({a, 0, "", 2});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].file.id, "file_c");  // same time: the larger id first
  EXPECT_EQ((*first)[1].file.id, "file_b");
  EXPECT_EQ((*first)[1].uploaded_at, 2000);
  EXPECT_EQ((*first)[1].file.media_type, "image/png");
  auto rest = store().uploads_page({a, 2000, "file_b", 10});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].file.id, "file_a");
  EXPECT_EQ((*rest)[0].uploaded_at, 1000);
  auto theirs = store().uploads_page({b, 0, "", 10});
  ASSERT_TRUE(theirs.ok());
  ASSERT_EQ(theirs->size(), 1u) << "an account sees only its own uploads";
  EXPECT_EQ((*theirs)[0].file.id, "file_b");
}

TEST_P(StoreContract, OAuthCodesAreTakenOnceAndRefreshTokensRotateWithReplayRevokingTheGrant) {
  const int64_t u = new_user("agent-owner@example.com");
  ASSERT_TRUE(store().insert_oauth_client({"client_1", "Claude", R"(["http://127.0.0.1:9/cb"])", kNow}).ok());
  EXPECT_EQ(store().oauth_client("client_1")->name, "Claude");
  EXPECT_EQ(store().oauth_client("client_2").status().code, Code::not_found);

  ASSERT_TRUE(store().insert_oauth_code({"code_h", "client_1", u, "http://127.0.0.1:9/cb", "chal", "mcp:tools", kNow + 60}).ok());
  auto code = store().take_oauth_code("code_h", kNow);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->user_id, u);
  EXPECT_EQ(code->challenge, "chal");
  EXPECT_EQ(store().take_oauth_code("code_h", kNow).status().code, Code::not_found) << "a code works once";
  ASSERT_TRUE(store().insert_oauth_code({"old_h", "client_1", u, "http://127.0.0.1:9/cb", "c", "mcp:tools", kNow}).ok());
  EXPECT_EQ(store().take_oauth_code("old_h", kNow).status().code, Code::not_found) << "an expired code";
  EXPECT_EQ(store().take_oauth_code("old_h", kNow).status().code, Code::not_found) << "and it is gone";

  OAuthToken first{"tok_1", "fam_1", "client_1", u, "mcp:tools", "acc_1", "ref_1", kNow + 3600, kNow + 86400, kNow, 0};
  ASSERT_TRUE(store().insert_oauth_token(first).ok());
  EXPECT_EQ(store().oauth_token_by_access("acc_1")->user_id, u);
  OAuthToken next{"tok_2", "", "", 0, "", "acc_2", "ref_2", kNow + 7200, kNow + 90000, kNow + 10, 0};
  auto rotated = store().rotate_oauth_token("ref_1", next, kNow + 10);
  ASSERT_TRUE(rotated.ok()) << rotated.status().message;
  EXPECT_EQ(rotated->family, "fam_1");
  EXPECT_EQ(rotated->user_id, u);
  EXPECT_EQ(rotated->client_id, "client_1");
  EXPECT_NE(store().oauth_token_by_access("acc_1")->revoked_at, 0) << "the old pair is spent";
  ASSERT_EQ(store().oauth_tokens_of(u, kNow + 10)->size(), 1u);

  OAuthToken again{"tok_3", "", "", 0, "", "acc_3", "ref_3", kNow + 7200, kNow + 90000, kNow + 20, 0};
  EXPECT_EQ(store().rotate_oauth_token("ref_1", again, kNow + 20).status().code, Code::not_found) << "a replayed refresh token";
  EXPECT_NE(store().oauth_token_by_access("acc_2")->revoked_at, 0) << "the replay revoked the live pair of its grant";
  EXPECT_EQ(store().oauth_token_by_access("acc_3").status().code, Code::not_found);
  EXPECT_TRUE(store().oauth_tokens_of(u, kNow + 20)->empty());

  OAuthToken other{"tok_4", "fam_2", "client_1", u, "mcp:tools", "acc_4", "ref_4", kNow + 3600, kNow + 100, kNow, 0};
  ASSERT_TRUE(store().insert_oauth_token(other).ok());
  OAuthToken late{"tok_5", "", "", 0, "", "acc_5", "ref_5", kNow + 7200, kNow + 90000, kNow + 200, 0};
  EXPECT_EQ(store().rotate_oauth_token("ref_4", late, kNow + 200).status().code, Code::not_found) << "an expired refresh token";
  EXPECT_FALSE(*store().revoke_oauth_family(u + 1, "fam_2", kNow)) << "another account's grant";
  EXPECT_TRUE(*store().revoke_oauth_family(u, "fam_2", kNow));
  EXPECT_FALSE(*store().revoke_oauth_family(u, "fam_2", kNow)) << "revoked already";
}

}  // namespace varg
