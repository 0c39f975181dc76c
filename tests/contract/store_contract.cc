// The Store contract suite (see store_contract.h). Nothing here may depend on a particular store.
#include "store_contract.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace varg {

namespace fs = std::filesystem;
constexpr int64_t kNow = 1'800'000'000;

void StoreContract::SetUp() {
  std::string tmpl = (fs::temp_directory_path() / "varg-contract-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  scratch_ = tmpl;
  auto s = GetParam().make(scratch_);
  ASSERT_TRUE(s.ok()) << GetParam().name << ": " << s.status().message;
  store_ = std::move(*s);
}

void StoreContract::TearDown() {
  store_.reset();
  fs::remove_all(scratch_);
}

int64_t StoreContract::new_user(const std::string& email) {
  auto u = store_->create_user(email, kNow);
  EXPECT_TRUE(u.ok()) << u.status().message;
  return u.ok() ? u->id : 0;
}

void StoreContract::expect_projection_consistent(int64_t user_id, const char* after) {
  auto b = store_->balance(user_id);
  auto s = store_->ledger_sum(user_id);
  ASSERT_TRUE(b.ok() && s.ok()) << after;
  EXPECT_EQ(b->settled, s->settled) << "settled projection differs from the ledger after " << after;
  EXPECT_EQ(b->reserved, s->reserved) << "reserved projection differs from the ledger after " << after;
  EXPECT_GE(b->reserved, 0) << after;
  EXPECT_GE(b->available(), 0) << "overdraft after " << after;
}

namespace {

LedgerEntry entry(int64_t user, EntryKind kind, int64_t amount, std::string idem, std::string ref = "") {
  return LedgerEntry{0, user, kind, amount, std::move(idem), std::move(ref), kNow};
}

ApiKeyRecord key_record(int64_t user, const std::string& hash, const std::string& name = "k") {
  ApiKeyRecord k;
  k.user_id = user;
  k.name = name;
  k.prefix = "varg_" + hash.substr(0, 4);
  k.hash = hash;
  k.created_at = kNow;
  return k;
}

Balance bal(Store& s, int64_t user) {
  auto b = s.balance(user);
  EXPECT_TRUE(b.ok()) << b.status().message;
  return b.ok() ? *b : Balance{-1, -1};
}

}  // namespace

// ---- users ----

TEST_P(StoreContract, CreateUserAssignsAnIdReadableByIdAndEmail) {
  auto u = store().create_user("a@example.com", kNow);
  ASSERT_TRUE(u.ok()) << u.status().message;
  EXPECT_GT(u->id, 0);
  EXPECT_EQ(u->email, "a@example.com");
  EXPECT_EQ(u->created_at, kNow);
  auto by_id = store().user_by_id(u->id);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->email, "a@example.com");
  EXPECT_EQ(by_id->created_at, kNow);
  auto by_email = store().user_by_email("a@example.com");
  ASSERT_TRUE(by_email.ok());
  EXPECT_EQ(by_email->id, u->id);
}

TEST_P(StoreContract, DuplicateEmailIsConflictAndCreatesNothing) {
  new_user("a@example.com");
  auto again = store().create_user("a@example.com", kNow + 1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code, Code::conflict);
  EXPECT_EQ(store().list_users()->size(), 1u);
}

TEST_P(StoreContract, UnknownUserIsNotFound) {
  EXPECT_EQ(store().user_by_id(0).status().code, Code::not_found);
  EXPECT_EQ(store().user_by_id(424242).status().code, Code::not_found);
  EXPECT_EQ(store().user_by_email("nobody@example.com").status().code, Code::not_found);
}

TEST_P(StoreContract, ListUsersReturnsEveryUserInCreationOrder) {
  EXPECT_TRUE(store().list_users()->empty());
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com"), c = new_user("c@example.com");
  auto all = store().list_users();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, a);
  EXPECT_EQ((*all)[1].id, b);
  EXPECT_EQ((*all)[2].id, c);
}

// ---- API keys ----

TEST_P(StoreContract, InsertedKeyIsFoundByHashWithEveryField) {
  int64_t u = new_user("a@example.com");
  ApiKeyRecord k = key_record(u, "aaaa1111", "ci key");
  k.permissions = R"({"api":{"user_read":{}}})";
  k.expires_at = kNow + 3600;
  auto in = store().insert_key(k);
  ASSERT_TRUE(in.ok()) << in.status().message;
  EXPECT_GT(in->id, 0);
  auto got = store().key_by_hash("aaaa1111");
  ASSERT_TRUE(got.ok()) << got.status().message;
  EXPECT_EQ(got->id, in->id);
  EXPECT_EQ(got->user_id, u);
  EXPECT_EQ(got->name, "ci key");
  EXPECT_EQ(got->prefix, "varg_aaaa");
  EXPECT_EQ(got->permissions, k.permissions);
  EXPECT_EQ(got->created_at, kNow);
  EXPECT_EQ(got->expires_at, kNow + 3600);
  EXPECT_FALSE(got->last_used_at.has_value());
  EXPECT_FALSE(got->revoked_at.has_value());
}

TEST_P(StoreContract, KeyWithoutPermissionsOrExpiryReadsBackAsNull) {
  int64_t u = new_user("a@example.com");
  ASSERT_TRUE(store().insert_key(key_record(u, "h1")).ok());
  auto got = store().key_by_hash("h1");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->permissions.has_value());
  EXPECT_FALSE(got->expires_at.has_value());
}

TEST_P(StoreContract, DuplicateKeyHashIsConflict) {
  int64_t u = new_user("a@example.com");
  ASSERT_TRUE(store().insert_key(key_record(u, "same")).ok());
  auto again = store().insert_key(key_record(u, "same"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code, Code::conflict);
  EXPECT_EQ(store().keys_of(u)->size(), 1u);
}

TEST_P(StoreContract, UnknownKeyHashIsNotFound) {
  EXPECT_EQ(store().key_by_hash("nope").status().code, Code::not_found);
}

TEST_P(StoreContract, KeysOfListsOnlyTheUsersLiveKeysInOrder) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  auto k1 = store().insert_key(key_record(a, "a1"));
  auto k2 = store().insert_key(key_record(a, "a2"));
  auto k3 = store().insert_key(key_record(a, "a3"));
  ASSERT_TRUE(store().insert_key(key_record(b, "b1")).ok());
  ASSERT_TRUE(store().revoke_key(k2->id, a, kNow).ok());
  auto keys = store().keys_of(a);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].id, k1->id);
  EXPECT_EQ((*keys)[1].id, k3->id);
  EXPECT_TRUE(store().keys_of(424242)->empty());
}

TEST_P(StoreContract, KeyOfFindsOwnLiveKeyOnly) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  auto k = store().insert_key(key_record(a, "a1"));
  ASSERT_TRUE(store().key_of(a, k->id).ok());
  EXPECT_EQ(store().key_of(b, k->id).status().code, Code::not_found) << "another user's key";
  EXPECT_EQ(store().key_of(a, k->id + 1000).status().code, Code::not_found);
  ASSERT_TRUE(store().revoke_key(k->id, a, kNow).ok());
  EXPECT_EQ(store().key_of(a, k->id).status().code, Code::not_found) << "a revoked key";
}

TEST_P(StoreContract, OwnerRevokesOwnKey) {
  int64_t a = new_user("a@example.com");
  auto k = store().insert_key(key_record(a, "a1"));
  ASSERT_TRUE(store().revoke_key(k->id, a, kNow + 5).ok());
  auto got = store().key_by_hash("a1");
  // Revoked keys may be hidden from lookups, but a key found must say it is revoked.
  if (got.ok()) {
    EXPECT_EQ(got->revoked_at, kNow + 5);
  } else {
    EXPECT_EQ(got.status().code, Code::not_found);
  }
}

TEST_P(StoreContract, OtherUserCannotRevokeAKey) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  auto k = store().insert_key(key_record(a, "a1"));
  EXPECT_EQ(store().revoke_key(k->id, b, kNow).code, Code::not_found);
  EXPECT_TRUE(store().key_of(a, k->id).ok()) << "the key must still be live";
}

TEST_P(StoreContract, OperatorRevokesAnyKeyWithUserZero) {
  int64_t a = new_user("a@example.com");
  auto k = store().insert_key(key_record(a, "a1"));
  ASSERT_TRUE(store().revoke_key(k->id, 0, kNow).ok());
  EXPECT_TRUE(store().keys_of(a)->empty());
}

TEST_P(StoreContract, RevokingTwiceOrAnUnknownKeyIsNotFound) {
  int64_t a = new_user("a@example.com");
  auto k = store().insert_key(key_record(a, "a1"));
  ASSERT_TRUE(store().revoke_key(k->id, a, kNow).ok());
  EXPECT_EQ(store().revoke_key(k->id, a, kNow + 1).code, Code::not_found);
  EXPECT_EQ(store().revoke_key(k->id, 0, kNow + 1).code, Code::not_found);
  EXPECT_EQ(store().revoke_key(987654, 0, kNow).code, Code::not_found);
  auto got = store().key_by_hash("a1");
  if (got.ok()) {
    EXPECT_EQ(got->revoked_at, kNow) << "a second revoke must not move revoked_at";
  }
}

TEST_P(StoreContract, RotateKeyRevokesTheOldKeyAndInsertsTheFreshOne) {
  int64_t a = new_user("a@example.com");
  auto old = store().insert_key(key_record(a, "old", "laptop"));
  auto fresh = store().rotate_key(old->id, key_record(a, "fresh", "laptop"), kNow + 10);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message;
  EXPECT_NE(fresh->id, old->id);
  EXPECT_EQ(fresh->hash, "fresh");
  auto keys = store().keys_of(a);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].id, fresh->id);
  EXPECT_EQ((*keys)[0].name, "laptop");
  EXPECT_TRUE(store().key_by_hash("fresh").ok());
  auto revoked = store().revoked_since(kNow + 10);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, std::vector<int64_t>{old->id});
}

TEST_P(StoreContract, RotateKeyIsAtomicWhenTheFreshKeyCannotBeInserted) {
  int64_t a = new_user("a@example.com");
  auto old = store().insert_key(key_record(a, "old"));
  ASSERT_TRUE(store().insert_key(key_record(a, "taken")).ok());
  auto r = store().rotate_key(old->id, key_record(a, "taken"), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code, Code::conflict);
  EXPECT_TRUE(store().key_of(a, old->id).ok()) << "the old key was revoked although its replacement failed";
  EXPECT_EQ(store().keys_of(a)->size(), 2u);
}

TEST_P(StoreContract, RotateKeyOfARevokedOrForeignKeyIsNotFoundAndInsertsNothing) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  auto k = store().insert_key(key_record(a, "a1"));
  auto foreign = store().rotate_key(k->id, key_record(b, "b-fresh"), kNow);
  EXPECT_EQ(foreign.status().code, Code::not_found);
  EXPECT_EQ(store().key_by_hash("b-fresh").status().code, Code::not_found);
  EXPECT_TRUE(store().key_of(a, k->id).ok());

  ASSERT_TRUE(store().revoke_key(k->id, a, kNow).ok());
  auto revoked = store().rotate_key(k->id, key_record(a, "a-fresh"), kNow);
  EXPECT_EQ(revoked.status().code, Code::not_found);
  EXPECT_EQ(store().key_by_hash("a-fresh").status().code, Code::not_found);
}

TEST_P(StoreContract, TouchKeyRecordsLastUse) {
  int64_t a = new_user("a@example.com");
  auto k = store().insert_key(key_record(a, "a1"));
  ASSERT_TRUE(store().touch_key(k->id, kNow + 60).ok());
  EXPECT_EQ(store().key_by_hash("a1")->last_used_at, kNow + 60);
  ASSERT_TRUE(store().touch_key(k->id, kNow + 120).ok());
  EXPECT_EQ(store().key_of(a, k->id)->last_used_at, kNow + 120);
}

TEST_P(StoreContract, RevokedSinceListsKeysRevokedAtOrAfterTheTime) {
  int64_t a = new_user("a@example.com");
  auto k1 = store().insert_key(key_record(a, "a1"));
  auto k2 = store().insert_key(key_record(a, "a2"));
  auto k3 = store().insert_key(key_record(a, "a3"));
  ASSERT_TRUE(store().revoke_key(k1->id, a, kNow + 10).ok());
  ASSERT_TRUE(store().revoke_key(k2->id, a, kNow + 20).ok());
  auto since = [&](int64_t t) {
    auto r = store().revoked_since(t);
    EXPECT_TRUE(r.ok());
    std::sort(r->begin(), r->end());
    return *r;
  };
  EXPECT_EQ(since(kNow), (std::vector<int64_t>{k1->id, k2->id}));
  EXPECT_EQ(since(kNow + 10), (std::vector<int64_t>{k1->id, k2->id}));
  EXPECT_EQ(since(kNow + 11), (std::vector<int64_t>{k2->id}));
  EXPECT_TRUE(since(kNow + 21).empty());
  (void)k3;
}

// ---- sessions ----

TEST_P(StoreContract, SessionsAreStoredFoundAndDeleted) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().insert_session({"s-hash", a, kNow, kNow + 86400}).ok());
  auto s = store().session_by_hash("s-hash");
  ASSERT_TRUE(s.ok()) << s.status().message;
  EXPECT_EQ(s->user_id, a);
  EXPECT_EQ(s->created_at, kNow);
  EXPECT_EQ(s->expires_at, kNow + 86400);
  EXPECT_EQ(store().session_by_hash("other").status().code, Code::not_found);
  ASSERT_TRUE(store().delete_session("s-hash").ok());
  EXPECT_EQ(store().session_by_hash("s-hash").status().code, Code::not_found);
}

// ---- ledger ----

TEST_P(StoreContract, NewAccountHasAZeroBalance) {
  int64_t a = new_user("a@example.com");
  Balance b = bal(store(), a);
  EXPECT_EQ(b.settled, 0);
  EXPECT_EQ(b.reserved, 0);
  expect_projection_consistent(a, "nothing");
  EXPECT_TRUE(store().entries(a, 10)->empty());
}

TEST_P(StoreContract, GrantPurchaseAndRefundAddToSettled) {
  int64_t a = new_user("a@example.com");
  auto g = store().append(entry(a, EntryKind::grant, 100, "g1", "welcome"));
  ASSERT_TRUE(g.ok()) << g.status().message;
  EXPECT_GT(g->id, 0);
  EXPECT_EQ(g->kind, EntryKind::grant);
  EXPECT_EQ(g->amount, 100);
  EXPECT_EQ(g->ref, "welcome");
  expect_projection_consistent(a, "grant");
  ASSERT_TRUE(store().append(entry(a, EntryKind::purchase, 2000, "p1", "cs_123")).ok());
  expect_projection_consistent(a, "purchase");
  ASSERT_TRUE(store().append(entry(a, EntryKind::refund, 5, "r1", "job_1")).ok());
  expect_projection_consistent(a, "refund");
  EXPECT_EQ(bal(store(), a).settled, 2105);
  EXPECT_EQ(bal(store(), a).reserved, 0);
}

TEST_P(StoreContract, NonPositiveAmountsAndMissingIdempotencyIdAreInvalidAndWriteNothing) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 10, "seed")).ok());
  const std::vector<LedgerEntry> bad = {
      entry(a, EntryKind::grant, 0, "b1"),       entry(a, EntryKind::grant, -5, "b2"),
      entry(a, EntryKind::purchase, 0, "b3"),    entry(a, EntryKind::refund, -1, "b4"),
      entry(a, EntryKind::reserve, 0, "b5"),     entry(a, EntryKind::reserve, -3, "b6"),
      entry(a, EntryKind::adjustment, 0, "b7"),  entry(a, EntryKind::grant, 10, ""),
  };
  for (auto& e : bad) {
    auto r = store().append(e);
    EXPECT_FALSE(r.ok()) << entry_kind_name(e.kind) << " " << e.amount << " '" << e.idempotency_id << "'";
    EXPECT_EQ(r.status().code, Code::invalid) << r.status().message;
  }
  EXPECT_EQ(store().entries(a, 100)->size(), 1u);
  EXPECT_EQ(bal(store(), a).settled, 10);
  expect_projection_consistent(a, "refused entries");
}

TEST_P(StoreContract, RepeatedIdempotencyIdReturnsTheFirstEntryOnce) {
  int64_t a = new_user("a@example.com");
  auto first = store().append(entry(a, EntryKind::grant, 100, "grant-1"));
  ASSERT_TRUE(first.ok());
  auto again = store().append(entry(a, EntryKind::grant, 100, "grant-1"));
  ASSERT_TRUE(again.ok()) << again.status().message;
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(bal(store(), a).settled, 100) << "a retry must not credit twice";
  EXPECT_EQ(store().entries(a, 10)->size(), 1u);
  expect_projection_consistent(a, "repeat");

  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 30, "hold-1", "job_1")).ok());
  auto hold_again = store().append(entry(a, EntryKind::reserve, 30, "hold-1", "job_1"));
  ASSERT_TRUE(hold_again.ok());
  EXPECT_EQ(bal(store(), a).reserved, 30) << "a retried reserve must not hold twice";
  expect_projection_consistent(a, "repeated reserve");

  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 70, "hold-2", "job_2")).ok());
  auto when_spent = store().append(entry(a, EntryKind::reserve, 30, "hold-1", "job_1"));
  ASSERT_TRUE(when_spent.ok()) << "a retry is its first entry even when the balance no longer covers it: "
                               << when_spent.status().message;
  EXPECT_EQ(when_spent->id, hold_again->id);
  EXPECT_EQ(bal(store(), a).reserved, 100);
  expect_projection_consistent(a, "repeated reserve with nothing available");
}

TEST_P(StoreContract, ReusedIdempotencyIdWithDifferentContentIsConflict) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "id-1")).ok());
  for (const auto& e : {entry(a, EntryKind::grant, 101, "id-1"), entry(a, EntryKind::purchase, 100, "id-1"),
                  entry(b, EntryKind::grant, 100, "id-1"), entry(a, EntryKind::reserve, 100, "id-1")}) {
    auto r = store().append(e);
    ASSERT_FALSE(r.ok()) << entry_kind_name(e.kind) << " " << e.amount << " user " << e.user_id;
    EXPECT_EQ(r.status().code, Code::conflict);
  }
  EXPECT_EQ(bal(store(), a).settled, 100);
  EXPECT_EQ(bal(store(), b).settled, 0);
  expect_projection_consistent(a, "conflicts");
  expect_projection_consistent(b, "conflicts");
}

TEST_P(StoreContract, ReserveHoldsCreditsOutOfTheAvailableBalance) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  auto r = store().append(entry(a, EntryKind::reserve, 40, "hold-1", "job_1"));
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->amount, 40);
  Balance b = bal(store(), a);
  EXPECT_EQ(b.settled, 100);
  EXPECT_EQ(b.reserved, 40);
  EXPECT_EQ(b.available(), 60);
  expect_projection_consistent(a, "reserve");
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 60, "hold-2", "job_2")).ok()) << "exactly the available amount";
  EXPECT_EQ(bal(store(), a).available(), 0);
  expect_projection_consistent(a, "second reserve");
}

TEST_P(StoreContract, ReserveBeyondAvailableIsInsufficientBalanceWithTheExactMessage) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 30, "hold-1")).ok());
  auto r = store().append(entry(a, EntryKind::reserve, 80, "hold-2"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code, Code::insufficient_balance);
  EXPECT_EQ(r.status().message, "Insufficient balance. Required: 80 credits, available: 70 credits");
  Balance b = bal(store(), a);
  EXPECT_EQ(b.reserved, 30) << "a refused reserve must hold nothing";
  EXPECT_EQ(store().entries(a, 10)->size(), 2u) << "a refused reserve must write no entry";
  expect_projection_consistent(a, "refused reserve");

  int64_t empty = new_user("empty@example.com");
  auto none = store().append(entry(empty, EntryKind::reserve, 5, "hold-3"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message, "Insufficient balance. Required: 5 credits, available: 0 credits");
  expect_projection_consistent(empty, "reserve on an empty account");
}

TEST_P(StoreContract, ARefusedReserveLeavesItsIdempotencyIdFree) {
  int64_t a = new_user("a@example.com");
  ASSERT_FALSE(store().append(entry(a, EntryKind::reserve, 50, "hold-1")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 50, "g")).ok());
  auto r = store().append(entry(a, EntryKind::reserve, 50, "hold-1"));
  ASSERT_TRUE(r.ok()) << "the first attempt wrote nothing, so a retry after a top-up succeeds: " << r.status().message;
  EXPECT_EQ(bal(store(), a).reserved, 50);
  expect_projection_consistent(a, "retry");
}

TEST_P(StoreContract, CaptureSpendsTheReservedCredits) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 40, "hold-1", "job_1")).ok());
  auto c = store().append(entry(a, EntryKind::capture, 0, "cap-1", "hold-1"));
  ASSERT_TRUE(c.ok()) << c.status().message;
  EXPECT_EQ(c->kind, EntryKind::capture);
  EXPECT_EQ(c->amount, 40) << "a capture settles the reserved amount";
  Balance b = bal(store(), a);
  EXPECT_EQ(b.settled, 60);
  EXPECT_EQ(b.reserved, 0);
  expect_projection_consistent(a, "capture");
}

TEST_P(StoreContract, ReleaseReturnsTheReservedCredits) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 40, "hold-1", "job_1")).ok());
  auto r = store().append(entry(a, EntryKind::release, 0, "rel-1", "hold-1"));
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->kind, EntryKind::release);
  EXPECT_EQ(r->amount, 40);
  Balance b = bal(store(), a);
  EXPECT_EQ(b.settled, 100);
  EXPECT_EQ(b.reserved, 0);
  expect_projection_consistent(a, "release");
}

TEST_P(StoreContract, CaptureHappensExactlyOnce) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 40, "hold-1")).ok());
  auto first = store().append(entry(a, EntryKind::capture, 0, "cap-1", "hold-1"));
  ASSERT_TRUE(first.ok());
  auto retry = store().append(entry(a, EntryKind::capture, 0, "cap-1", "hold-1"));
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->id, first->id);
  auto other = store().append(entry(a, EntryKind::capture, 0, "cap-2", "hold-1"));
  ASSERT_TRUE(other.ok()) << other.status().message;
  EXPECT_EQ(other->id, first->id) << "a second capture of one reserve returns the first";
  EXPECT_EQ(bal(store(), a).settled, 60);
  EXPECT_EQ(store().entries(a, 10)->size(), 3u);
  expect_projection_consistent(a, "double capture");
}

TEST_P(StoreContract, CaptureAfterReleaseReturnsTheRelease) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 40, "hold-1")).ok());
  auto rel = store().append(entry(a, EntryKind::release, 0, "rel-1", "hold-1"));
  ASSERT_TRUE(rel.ok());
  auto cap = store().append(entry(a, EntryKind::capture, 0, "cap-1", "hold-1"));
  ASSERT_TRUE(cap.ok()) << cap.status().message;
  EXPECT_EQ(cap->id, rel->id);
  EXPECT_EQ(cap->kind, EntryKind::release);
  Balance b = bal(store(), a);
  EXPECT_EQ(b.settled, 100) << "nothing was spent";
  EXPECT_EQ(b.reserved, 0);
  expect_projection_consistent(a, "capture after release");
}

TEST_P(StoreContract, ReleaseAfterCaptureReturnsTheCapture) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 40, "hold-1")).ok());
  auto cap = store().append(entry(a, EntryKind::capture, 0, "cap-1", "hold-1"));
  auto rel = store().append(entry(a, EntryKind::release, 0, "rel-1", "hold-1"));
  ASSERT_TRUE(cap.ok() && rel.ok());
  EXPECT_EQ(rel->id, cap->id);
  EXPECT_EQ(rel->kind, EntryKind::capture);
  EXPECT_EQ(bal(store(), a).settled, 60) << "the release must not give back captured credits";
  EXPECT_EQ(bal(store(), a).reserved, 0);
  expect_projection_consistent(a, "release after capture");
}

TEST_P(StoreContract, SettlingAnUnknownOrForeignReservationIsNotFound) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 40, "hold-a")).ok());
  EXPECT_EQ(store().append(entry(a, EntryKind::capture, 0, "c1", "no-such-hold")).status().code, Code::not_found);
  EXPECT_EQ(store().append(entry(a, EntryKind::capture, 0, "c2", "g")).status().code, Code::not_found)
      << "a grant is not a reservation";
  EXPECT_EQ(store().append(entry(b, EntryKind::capture, 0, "c3", "hold-a")).status().code, Code::not_found);
  EXPECT_EQ(store().append(entry(b, EntryKind::release, 0, "c4", "hold-a")).status().code, Code::not_found);
  EXPECT_EQ(bal(store(), a).reserved, 40);
  expect_projection_consistent(a, "refused settlements");
  expect_projection_consistent(b, "refused settlements");
}

TEST_P(StoreContract, AdjustmentsMoveSettledButNeverBelowZero) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 50, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::adjustment, 25, "adj+")).ok());
  EXPECT_EQ(bal(store(), a).settled, 75);
  expect_projection_consistent(a, "positive adjustment");
  auto over = store().append(entry(a, EntryKind::adjustment, -76, "adj-over"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code, Code::insufficient_balance);
  EXPECT_EQ(bal(store(), a).settled, 75);
  ASSERT_TRUE(store().append(entry(a, EntryKind::adjustment, -75, "adj-all")).ok());
  EXPECT_EQ(bal(store(), a).settled, 0);
  expect_projection_consistent(a, "adjustment to zero");
  EXPECT_FALSE(store().append(entry(a, EntryKind::adjustment, -1, "adj-neg")).ok());
  expect_projection_consistent(a, "refused adjustment");
}

TEST_P(StoreContract, NegativeAdjustmentCannotTakeReservedCredits) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 60, "hold")).ok());
  EXPECT_FALSE(store().append(entry(a, EntryKind::adjustment, -41, "adj-1")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::adjustment, -40, "adj-2")).ok());
  Balance b = bal(store(), a);
  EXPECT_EQ(b.settled, 60);
  EXPECT_EQ(b.reserved, 60);
  EXPECT_EQ(b.available(), 0);
  auto cap = store().append(entry(a, EntryKind::capture, 0, "cap", "hold"));
  ASSERT_TRUE(cap.ok()) << cap.status().message;
  EXPECT_EQ(bal(store(), a).settled, 0);
  expect_projection_consistent(a, "capture after adjustment");
}

TEST_P(StoreContract, EntriesAreNewestFirstAndLimited) {
  int64_t a = new_user("a@example.com");
  for (int i = 0; i < 5; i++) ASSERT_TRUE(store().append(entry(a, EntryKind::grant, i + 1, "g" + std::to_string(i))).ok());
  auto e = store().entries(a, 3);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[0].idempotency_id, "g4");
  EXPECT_EQ((*e)[1].idempotency_id, "g3");
  EXPECT_EQ((*e)[2].idempotency_id, "g2");
  EXPECT_EQ((*e)[0].amount, 5);
  EXPECT_EQ((*e)[0].user_id, a);
  EXPECT_EQ((*e)[0].created_at, kNow);
}

TEST_P(StoreContract, BalancesAreSeparatePerUser) {
  int64_t a = new_user("a@example.com"), b = new_user("b@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "ga")).ok());
  ASSERT_TRUE(store().append(entry(b, EntryKind::grant, 7, "gb")).ok());
  ASSERT_TRUE(store().append(entry(a, EntryKind::reserve, 10, "ha")).ok());
  EXPECT_EQ(bal(store(), a).available(), 90);
  EXPECT_EQ(bal(store(), b).available(), 7);
  EXPECT_EQ(store().entries(b, 10)->size(), 1u);
  EXPECT_FALSE(store().append(entry(b, EntryKind::reserve, 8, "hb")).ok());
}

// A long random walk over every entry kind; the projection must equal the ledger after each step.
TEST_P(StoreContract, BalanceEqualsLedgerSumAfterEveryOperationOfARandomWalk) {
  int64_t a = new_user("a@example.com");
  std::mt19937 rng(20260125);
  std::vector<std::string> open_holds;
  int64_t settled = 0, reserved = 0;
  std::map<std::string, int64_t> hold_amount;
  std::set<int64_t> written;  // entry ids seen: a repeat returns one of these
  for (int step = 0; step < 300; step++) {
    const std::string id = "op-" + std::to_string(step);
    const int what = int(rng() % 7);
    LedgerEntry e;
    if (what == 0) {
      e = entry(a, EntryKind::grant, 1 + int64_t(rng() % 50), id);
    } else if (what == 1) {
      e = entry(a, EntryKind::reserve, 1 + int64_t(rng() % 40), id);
    } else if ((what == 2 || what == 3) && !open_holds.empty()) {
      size_t i = rng() % open_holds.size();
      e = entry(a, what == 2 ? EntryKind::capture : EntryKind::release, 0, id, open_holds[i]);
    } else if (what == 4) {
      e = entry(a, EntryKind::adjustment, int64_t(rng() % 41) - 30, id);
      if (e.amount == 0) e.amount = -1;
    } else if (what == 5 && step > 0) {
      e = entry(a, EntryKind::grant, 1, "op-" + std::to_string(rng() % step));  // a retry or a conflict
    } else {
      e = entry(a, EntryKind::refund, 1 + int64_t(rng() % 5), id);
    }
    auto r = store().append(e);
    // Mirror the expected effect.
    if (r.ok() && written.insert(r->id).second) {
      switch (e.kind) {
        case EntryKind::grant: case EntryKind::refund: case EntryKind::purchase: case EntryKind::adjustment:
          settled += e.amount;
          break;
        case EntryKind::reserve:
          reserved += e.amount;
          hold_amount[e.idempotency_id] = e.amount;
          open_holds.push_back(e.idempotency_id);
          break;
        case EntryKind::capture: case EntryKind::release: {
          int64_t amt = hold_amount.at(e.ref);
          reserved -= amt;
          if (e.kind == EntryKind::capture) settled -= amt;
          open_holds.erase(std::find(open_holds.begin(), open_holds.end(), e.ref));
          break;
        }
      }
    } else if (!r.ok()) {
      EXPECT_TRUE(r.status().code == Code::insufficient_balance || r.status().code == Code::conflict)
          << "step " << step << ": " << r.status().message;
    }
    expect_projection_consistent(a, ("step " + std::to_string(step)).c_str());
    Balance b = bal(store(), a);
    ASSERT_EQ(b.settled, settled) << "step " << step;
    ASSERT_EQ(b.reserved, reserved) << "step " << step;
  }
}

// N threads reserve from one account at once, more than it holds in total.
TEST_P(StoreContract, ConcurrentReservesNeverOverdraw) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 100, "g")).ok());
  constexpr int kThreads = 8, kEach = 30;  // 240 attempts of 1 credit against 100
  std::atomic<int> ok{0}, refused{0};
  std::mutex mu;
  std::vector<std::string> other_errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; i++) {
        auto r = store().append(entry(a, EntryKind::reserve, 1, "hold-" + std::to_string(t) + "-" + std::to_string(i)));
        if (r.ok()) {
          ok++;
        } else if (r.status().code == Code::insufficient_balance) {
          refused++;
        } else {
          std::lock_guard lk(mu);
          other_errors.push_back(r.status().message);
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_TRUE(other_errors.empty()) << other_errors.size() << " unexpected errors, first: " << other_errors[0];
  EXPECT_EQ(ok, 100) << "every credit can be reserved once, and no more";
  EXPECT_EQ(refused, kThreads * kEach - 100);
  Balance b = bal(store(), a);
  EXPECT_EQ(b.settled, 100);
  EXPECT_EQ(b.reserved, 100);
  expect_projection_consistent(a, "concurrent reserves");
}

TEST_P(StoreContract, ConcurrentReserveCaptureAndReleaseKeepTheLedgerConsistent) {
  int64_t a = new_user("a@example.com");
  ASSERT_TRUE(store().append(entry(a, EntryKind::grant, 200, "g")).ok());
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int64_t> captured{0}, still_held{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kEach; i++) {
        const std::string hold = "hold-" + std::to_string(t) + "-" + std::to_string(i);
        const int64_t amount = 1 + int64_t(rng() % 5);
        auto r = store().append(entry(a, EntryKind::reserve, amount, hold));
        if (!r.ok()) {
          if (r.status().code != Code::insufficient_balance) unexpected++;
          continue;
        }
        switch (rng() % 3) {
          case 0:
            if (store().append(entry(a, EntryKind::capture, 0, "cap-" + hold, hold)).ok()) captured += amount; else unexpected++;
            break;
          case 1:
            if (!store().append(entry(a, EntryKind::release, 0, "rel-" + hold, hold)).ok()) unexpected++;
            break;
          default:
            still_held += amount;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected, 0);
  Balance b = bal(store(), a);
  EXPECT_EQ(b.settled, 200 - captured);
  EXPECT_EQ(b.reserved, still_held);
  expect_projection_consistent(a, "concurrent reserve/capture/release");
}

TEST_P(StoreContract, ConcurrentRetriesOfOneIdempotencyIdCreditOnce) {
  int64_t a = new_user("a@example.com");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::set<int64_t> ids;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&] {
      auto r = store().append(entry(a, EntryKind::purchase, 500, "stripe-evt-1"));
      if (r.ok()) {
        ok++;
        std::lock_guard lk(mu);
        ids.insert(r->id);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, 8) << "every retry gets the first entry back";
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(bal(store(), a).settled, 500);
  expect_projection_consistent(a, "concurrent retries");
}

// ---- one-time codes ----

TEST_P(StoreContract, CorrectCodeIsAcceptedOnce) {
  ASSERT_TRUE(store().put_otp("a@example.com", "code-hash", kNow + 600, kNow).ok());
  auto r = store().check_otp("a@example.com", "code-hash", 5, kNow + 1);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->outcome, OtpCheck::accepted);
  EXPECT_EQ(store().check_otp("a@example.com", "code-hash", 5, kNow + 2)->outcome, OtpCheck::dead) << "a code is single-use";
}

TEST_P(StoreContract, WrongCodeIsWrongAndAbsentCodeIsDead) {
  ASSERT_TRUE(store().put_otp("a@example.com", "code-hash", kNow + 600, kNow).ok());
  EXPECT_EQ(store().check_otp("a@example.com", "other", 5, kNow)->outcome, OtpCheck::wrong);
  EXPECT_EQ(store().check_otp("b@example.com", "code-hash", 5, kNow)->outcome, OtpCheck::dead) << "codes are per email";
  EXPECT_EQ(store().check_otp("a@example.com", "code-hash", 5, kNow)->outcome, OtpCheck::accepted);
}

TEST_P(StoreContract, CodeDiesAfterMaxWrongAttempts) {
  ASSERT_TRUE(store().put_otp("a@example.com", "right", kNow + 600, kNow).ok());
  for (int i = 0; i < 4; i++) EXPECT_EQ(store().check_otp("a@example.com", "wrong", 5, kNow)->outcome, OtpCheck::wrong) << i;
  ASSERT_TRUE(store().put_otp("b@example.com", "right", kNow + 600, kNow).ok());
  // After 4 wrong attempts the right code still works...
  EXPECT_EQ(store().check_otp("a@example.com", "right", 5, kNow)->outcome, OtpCheck::accepted);
  // ...after 5 it is dead, even for the right code.
  for (int i = 0; i < 5; i++) EXPECT_EQ(store().check_otp("b@example.com", "wrong", 5, kNow)->outcome, OtpCheck::wrong) << i;
  EXPECT_EQ(store().check_otp("b@example.com", "wrong", 5, kNow)->outcome, OtpCheck::dead);
  EXPECT_EQ(store().check_otp("b@example.com", "right", 5, kNow)->outcome, OtpCheck::dead);
}

TEST_P(StoreContract, ExpiredCodeIsDead) {
  ASSERT_TRUE(store().put_otp("a@example.com", "right", kNow + 600, kNow).ok());
  EXPECT_EQ(store().check_otp("a@example.com", "right", 5, kNow + 600)->outcome, OtpCheck::dead);
  EXPECT_EQ(store().check_otp("a@example.com", "right", 5, kNow + 601)->outcome, OtpCheck::dead);
}

TEST_P(StoreContract, NewCodeReplacesTheOldOneAndResetsAttempts) {
  ASSERT_TRUE(store().put_otp("a@example.com", "first", kNow + 600, kNow).ok());
  for (int i = 0; i < 5; i++) store().check_otp("a@example.com", "wrong", 5, kNow);
  EXPECT_EQ(store().check_otp("a@example.com", "first", 5, kNow)->outcome, OtpCheck::dead);
  ASSERT_TRUE(store().put_otp("a@example.com", "second", kNow + 700, kNow + 100).ok());
  EXPECT_EQ(store().check_otp("a@example.com", "first", 5, kNow + 100)->outcome, OtpCheck::wrong) << "the old code is gone";
  EXPECT_EQ(store().check_otp("a@example.com", "second", 5, kNow + 100)->outcome, OtpCheck::accepted);
}

TEST_P(StoreContract, ANewCodeLeavesTheCodesAlreadySentValid) {
  ASSERT_TRUE(store().put_otp("a@example.com", "mine", kNow + 600, kNow).ok());
  ASSERT_TRUE(store().put_otp("a@example.com", "someone-elses", kNow + 600, kNow + 1).ok());
  EXPECT_EQ(store().check_otp("a@example.com", "mine", 5, kNow + 2)->outcome, OtpCheck::accepted);
  EXPECT_EQ(store().check_otp("a@example.com", "someone-elses", 5, kNow + 3)->outcome, OtpCheck::dead)
      << "signing in spends every code of the email";
  for (int i = 0; i < kLiveOtpCodes + 1; i++)
    ASSERT_TRUE(store().put_otp("b@example.com", "c" + std::to_string(i), kNow + 600, kNow + i).ok());
  EXPECT_EQ(store().check_otp("b@example.com", "c0", 5, kNow + 10)->outcome, OtpCheck::wrong) << "only the newest stay live";
  EXPECT_EQ(store().check_otp("b@example.com", "c1", 5, kNow + 10)->outcome, OtpCheck::accepted);
}

TEST_P(StoreContract, OtpSendsAreCountedByEmailAndByIpSinceATime) {
  ASSERT_TRUE(store().record_otp_send("a@example.com", "10.0.0.1", kNow).ok());
  ASSERT_TRUE(store().record_otp_send("a@example.com", "10.0.0.2", kNow + 10).ok());
  ASSERT_TRUE(store().record_otp_send("b@example.com", "10.0.0.1", kNow + 20).ok());
  ASSERT_TRUE(store().record_otp_send("c@example.com", "10.0.0.1", kNow + 30).ok());
  using W = std::tuple<int64_t, int64_t, int64_t>;
  auto w = [](const Store::SendWindow& x) { return W{x.count, x.oldest, x.newest}; };
  auto all = store().otp_sends_since("a@example.com", "10.0.0.1", kNow);
  ASSERT_TRUE(all.ok()) << all.status().message;
  EXPECT_EQ(w(all->email), (W{2, kNow, kNow + 10}));
  EXPECT_EQ(w(all->ip), (W{3, kNow, kNow + 30}));
  EXPECT_EQ(w(all->email_ip), (W{1, kNow, kNow}));
  auto recent = store().otp_sends_since("a@example.com", "10.0.0.1", kNow + 10);
  EXPECT_EQ(recent->email.count, 1);
  EXPECT_EQ(recent->ip.count, 2);
  EXPECT_EQ(recent->email_ip.count, 0);
  auto none = store().otp_sends_since("new@example.com", "10.9.9.9", 0);
  EXPECT_EQ(w(none->email), (W{0, 0, 0}));
  EXPECT_EQ(w(none->ip), (W{0, 0, 0}));
  EXPECT_EQ(w(none->email_ip), (W{0, 0, 0}));
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreContract);

}  // namespace varg
