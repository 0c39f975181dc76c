#include "store/store.h"

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

}  // namespace varg
