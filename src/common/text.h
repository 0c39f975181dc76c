// Small text helpers shared by messages that list things.
#pragma once
#include <string>
#include <vector>

namespace varg {

// "a, b, c".
inline std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (auto& s : items) out += (out.empty() ? "" : separator) + s;
  return out;
}

}  // namespace varg
