// Picture sizes for the aspect ratios the local provider accepts.
#pragma once
#include <string>

#include "common/status.h"

namespace varg::local {

struct FrameSize {
  int width = 0;
  int height = 0;
};

// The size whose long side is `long_side` for "W:H" (1:1, 16:9, 9:16, 4:3, 3:4, 3:2, 2:3, 21:9);
// `even` rounds both sides down to even numbers, as yuv420p video requires.
// Anything else is Code::invalid naming the field aspect_ratio.
Result<FrameSize> frame_size(const std::string& aspect_ratio, int long_side, bool even);

}  // namespace varg::local
