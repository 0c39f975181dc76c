// The largest video a render may ask for: a composition past any of these is refused with a 400
// (at submission, from the dry run's tree) or fails (at assembly, with the real media lengths),
// before ffmpeg runs.
#pragma once
#include <nlohmann/json.hpp>

#include "common/status.h"

namespace varg::render {

struct RenderLimits {
  int max_side = 3840;                   // width and height, pixels
  int64_t max_pixels = 3840LL * 2160;   // width × height
  int max_fps = 60;
  int max_clips = 100;
  double max_duration_s = 600;
};

// Width, height and fps of a <Render>'s props, as the assembler reads them (defaults 1920×1080 at 30).
struct Frame {
  int width = 1920, height = 1080, fps = 30;
};
Result<Frame> frame_of(const nlohmann::json& render_props, const RenderLimits& limits);

// The frame, the number of clips and their declared durations (a clip without one counts 4 s).
Status check_tree(const nlohmann::json& tree, const RenderLimits& limits);

// Invalid when `clips` or `seconds` pass the limits (the assembler's figures).
Status check_length(size_t clips, double seconds, const RenderLimits& limits);

}  // namespace varg::render
