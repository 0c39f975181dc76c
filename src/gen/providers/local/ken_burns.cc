#include "gen/providers/local/ken_burns.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gen/providers/local/prompt_seed.h"

namespace varg::local {

KenBurns ken_burns_for(std::string_view prompt) {
  Rng rng = rng_for("ken-burns", prompt);
  KenBurns k;
  const float wide = 1.0f, tight = static_cast<float>(rng.range(0.72, 0.82));
  const bool zoom_in = rng.chance(0.6);
  k.scale0 = zoom_in ? wide : tight;
  k.scale1 = zoom_in ? tight : wide;
  // Keep every window inside the source: the centre may wander only by the margin left over.
  const float margin = (1.0f - tight) / 2;
  const float dx = static_cast<float>(rng.range(-1, 1)) * margin, dy = static_cast<float>(rng.range(-1, 1)) * margin;
  (zoom_in ? k.cx1 : k.cx0) = 0.5f + dx;
  (zoom_in ? k.cy1 : k.cy0) = 0.5f + dy;
  return k;
}

void render_frame(const Picture& src, const KenBurns& k, double progress, Picture& frame) {
  const float p = static_cast<float>(std::clamp(progress, 0.0, 1.0));
  const float e = p * p * (3 - 2 * p);  // ease in and out
  const float scale = k.scale0 + (k.scale1 - k.scale0) * e;
  const float cx = (k.cx0 + (k.cx1 - k.cx0) * e) * src.width;
  const float cy = (k.cy0 + (k.cy1 - k.cy0) * e) * src.height;
  const float win_w = scale * src.width, win_h = scale * src.height;
  const float sx = win_w / frame.width, sy = win_h / frame.height;
  const float left = cx - win_w / 2, top = cy - win_h / 2;
  // Bilinear weights in 1/256ths, with each column's source position computed once per frame:
  // this loop runs for every pixel of every frame, so it is the video's hot spot.
  std::vector<int> col(frame.width), wx(frame.width);
  for (int x = 0; x < frame.width; x++) {
    const float fx = std::clamp(left + (x + 0.5f) * sx - 0.5f, 0.0f, src.width - 1.001f);
    col[x] = static_cast<int>(fx);
    wx[x] = static_cast<int>((fx - col[x]) * 256);
  }
  const size_t stride = static_cast<size_t>(src.width) * 3;
  for (int y = 0; y < frame.height; y++) {
    const float fy = std::clamp(top + (y + 0.5f) * sy - 0.5f, 0.0f, src.height - 1.001f);
    const int y0 = static_cast<int>(fy);
    const int wy = static_cast<int>((fy - y0) * 256);
    const uint8_t* row0 = src.at(0, y0);
    const uint8_t* row1 = row0 + stride;
    uint8_t* o = frame.at(0, y);
    for (int x = 0; x < frame.width; x++) {
      const size_t i = static_cast<size_t>(col[x]) * 3;
      const int w = wx[x];
      for (int ch = 0; ch < 3; ch++) {
        const int upper = row0[i + ch] * (256 - w) + row0[i + 3 + ch] * w;
        const int lower = row1[i + ch] * (256 - w) + row1[i + 3 + ch] * w;
        *o++ = static_cast<uint8_t>((upper * (256 - wy) + lower * wy + (1 << 15)) >> 16);
      }
    }
  }
}

}  // namespace varg::local
