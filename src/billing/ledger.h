// The ledger's one owner: every LedgerEntry vargd writes is made here, and every entry id is
// derived here, so a retried operation always names the entry it already wrote. The rules that
// apply an entry — the balance is the sum of the entries and never negative, each hold is settled
// exactly once, an id is written once — are the store's, in one place (store/sql_ledger.cc), and
// run inside the same transaction as the job change they pay for (admission, a job's moves).
#pragma once
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "store/store.h"

namespace varg::billing {

class Ledger {
 public:
  Ledger(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Credits given: a new account's welcome and an operator's signup grant (once per account), or
  // an operator's grant (each call a new one).
  Result<LedgerEntry> welcome(int64_t user_id, int64_t credits);
  Result<LedgerEntry> signup_grant(int64_t user_id, int64_t credits);
  Result<LedgerEntry> grant(int64_t user_id, int64_t credits, const std::string& reason);
  // Credits bought: one purchase per checkout session, however often its events are delivered.
  Result<LedgerEntry> purchase(int64_t user_id, int64_t credits, const std::string& session_id);
  // Credits given back for a payment or a job (once per `for_ref`), and an operator's correction
  // (negative allowed, never below zero).
  Result<LedgerEntry> refund(int64_t user_id, int64_t credits, const std::string& for_ref);
  Result<LedgerEntry> adjustment(int64_t user_id, int64_t credits, const std::string& reason);

  // A job's money, for the job's own store transaction: the hold of its price (j.reservation must
  // be hold_id(j.id)) and the capture or release that settles it.
  static std::string hold_id(const std::string& job_id) { return "reserve:" + job_id; }
  LedgerEntry hold(const JobRecord& j) const;
  LedgerEntry capture(const JobRecord& j) const;
  LedgerEntry release(const JobRecord& j) const;
  // Recovery: releases a hold left without a live job.
  Result<LedgerEntry> release_orphan(const Store::Hold& h);

 private:
  Result<LedgerEntry> write(int64_t user_id, EntryKind kind, int64_t credits, std::string id, std::string ref);
  LedgerEntry settle(const JobRecord& j, EntryKind kind) const;

  Store& store_;
  const Clock& clock_;
};

}  // namespace varg::billing
