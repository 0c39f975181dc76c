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
