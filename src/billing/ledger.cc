#include "billing/ledger.h"

#include "common/crypto.h"

namespace varg::billing {

Result<LedgerEntry> Ledger::write(int64_t user_id, EntryKind kind, int64_t credits, std::string id, std::string ref) {
  return store_.append(LedgerEntry{0, user_id, kind, credits, std::move(id), std::move(ref), clock_.now()});
}

Result<LedgerEntry> Ledger::welcome(int64_t user_id, int64_t credits) {
  return write(user_id, EntryKind::grant, credits, "welcome:" + std::to_string(user_id), "welcome grant");
}

Result<LedgerEntry> Ledger::signup_grant(int64_t user_id, int64_t credits) {
  return write(user_id, EntryKind::grant, credits, "admin-signup:" + std::to_string(user_id), "admin create-user");
}

Result<LedgerEntry> Ledger::grant(int64_t user_id, int64_t credits, const std::string& reason) {
  return write(user_id, EntryKind::grant, credits, "admin-grant:" + random_base62(16), reason);
}

Result<LedgerEntry> Ledger::purchase(int64_t user_id, int64_t credits, const std::string& session_id) {
  return write(user_id, EntryKind::purchase, credits, "stripe:session:" + session_id, session_id);
}

Result<LedgerEntry> Ledger::refund(int64_t user_id, int64_t credits, const std::string& for_ref) {
  return write(user_id, EntryKind::refund, credits, "refund:" + for_ref, for_ref);
}

Result<LedgerEntry> Ledger::adjustment(int64_t user_id, int64_t credits, const std::string& reason) {
  return write(user_id, EntryKind::adjustment, credits, "adjustment:" + random_base62(16), reason);
}

LedgerEntry Ledger::hold(const JobRecord& j) const {
  return LedgerEntry{0, j.user_id, EntryKind::reserve, j.cost_cents, hold_id(j.id), j.id, clock_.now()};
}

LedgerEntry Ledger::settle(const JobRecord& j, EntryKind kind) const {
  const char* what = kind == EntryKind::capture ? "capture:" : "release:";
  return LedgerEntry{0, j.user_id, kind, 0, what + j.id, j.reservation, clock_.now()};
}

LedgerEntry Ledger::capture(const JobRecord& j) const { return settle(j, EntryKind::capture); }
LedgerEntry Ledger::release(const JobRecord& j) const { return settle(j, EntryKind::release); }

Result<LedgerEntry> Ledger::release_orphan(const Store::Hold& h) {
  return store_.append(LedgerEntry{0, h.user_id, EntryKind::release, 0, "release:" + h.job_id, h.reservation, clock_.now()});
}

}  // namespace varg::billing
