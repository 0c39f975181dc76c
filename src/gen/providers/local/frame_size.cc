#include "gen/providers/local/frame_size.h"

#include <array>
#include <cmath>

namespace varg::local {

namespace {
struct Ratio {
  const char* name;
  int w;
  int h;
};
constexpr std::array<Ratio, 8> kRatios{{{"1:1", 1, 1}, {"16:9", 16, 9}, {"9:16", 9, 16}, {"4:3", 4, 3},
                                        {"3:4", 3, 4}, {"3:2", 3, 2}, {"2:3", 2, 3}, {"21:9", 21, 9}}};
}  // namespace

Result<FrameSize> frame_size(const std::string& aspect_ratio, int long_side, bool even) {
  for (const auto& r : kRatios) {
    if (aspect_ratio != r.name) continue;
    const int big = std::max(r.w, r.h);
    FrameSize s{static_cast<int>(std::lround(double(long_side) * r.w / big)),
                static_cast<int>(std::lround(double(long_side) * r.h / big))};
    if (even) {
      s.width &= ~1;
      s.height &= ~1;
    }
    return s;
  }
  return error(Code::invalid,
               "aspect_ratio must be one of 1:1, 16:9, 9:16, 4:3, 3:4, 3:2, 2:3, 21:9", "aspect_ratio");
}

}  // namespace varg::local
