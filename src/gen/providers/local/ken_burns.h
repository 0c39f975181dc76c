// The Ken Burns move: a slow, eased pan and zoom across a still picture, one frame at a time.
#pragma once
#include <string_view>

#include "gen/providers/local/picture.h"

namespace varg::local {

struct KenBurns {
  // Crop windows at the start and the end, as fractions of the source: centre and width.
  float cx0 = 0.5f, cy0 = 0.5f, scale0 = 1.0f;
  float cx1 = 0.5f, cy1 = 0.5f, scale1 = 0.8f;
};

// Zoom in or out and the pan's direction follow the prompt's hash.
KenBurns ken_burns_for(std::string_view prompt);

// The frame at `progress` (0..1) of the move, bilinearly resampled from `source` into `frame`
// (whose size, with the source's aspect ratio, is already set).
void render_frame(const Picture& source, const KenBurns& move, double progress, Picture& frame);

}  // namespace varg::local
