#include "store/store.h"

#include "common/crypto.h"

namespace varg {

namespace {
constexpr const char* kKindNames[] = {"grant", "purchase", "reserve", "capture", "release", "refund", "adjustment"};
}

const char* entry_kind_name(EntryKind k) { return kKindNames[static_cast<int>(k)]; }

std::optional<EntryKind> entry_kind_from(const std::string& s) {
  for (int i = 0; i < 7; i++)
    if (s == kKindNames[i]) return static_cast<EntryKind>(i);
  return std::nullopt;
}

namespace {
constexpr const char* kJobStatusNames[] = {"queued", "processing", "completed", "failed", "cancelled"};
}

const char* job_status_name(JobStatus s) { return kJobStatusNames[static_cast<int>(s)]; }

std::optional<JobStatus> job_status_from(std::string_view s) {
  for (int i = 0; i < 5; i++)
    if (s == kJobStatusNames[i]) return static_cast<JobStatus>(i);
  return std::nullopt;
}

void JobRecord::complete_from_cache(const std::string& file_id, const std::string& media_type, int64_t now) {
  status = JobStatus::completed;
  completed_at = now;
  cache_hit = true;
  billing_mode = "cached";
  cost_cents = 0;
  reservation.clear();
  leader.clear();
  output_file_id = file_id;
  output_media_type = media_type;
}

bool job_move_allowed(JobStatus from, JobStatus to) {
  if (!is_live(from)) return false;  // a finished job never changes again
  return !(from == JobStatus::processing && to == JobStatus::queued);
}

OtpCheck::Outcome judge_otp(const std::vector<std::pair<std::string, int64_t>>& live, const std::string& code_hash,
                            int max_attempts) {
  bool usable = false, match = false;
  for (auto& [hash, attempts] : live) {
    if (attempts >= max_attempts) continue;
    usable = true;
    match = constant_time_equal(hash, code_hash) || match;  // no early exit: every code is compared
  }
  if (!usable) return OtpCheck::dead;
  return match ? OtpCheck::accepted : OtpCheck::wrong;
}

}  // namespace varg
