#include "gen/providers/local/landscape.h"

#include <cmath>

#include "gen/providers/local/canvas.h"

namespace varg::local {

namespace {

// A gentle vignette draws the eye inwards; ordered (Bayer) dithering hides the banding that
// 8-bit smooth gradients would otherwise show, without adding visible noise.
Picture finish(const Canvas& c) {
  static constexpr int kBayer[4][4] = {{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}};
  Picture out(c.width, c.height);
  for (int y = 0; y < c.height; y++) {
    const float v = (y + 0.5f) / c.height - 0.5f;
    for (int x = 0; x < c.width; x++) {
      const float u = (x + 0.5f) / c.width - 0.5f;
      const float shade = 1.0f - 0.35f * (u * u + v * v);
      const float dither = (kBayer[y & 3][x & 3] + 0.5f) / 16.0f;
      const Rgb& p = c.at(x, y);
      uint8_t* o = out.at(x, y);
      const float ch[3] = {p.r, p.g, p.b};
      for (int k = 0; k < 3; k++) {
        const float level = std::clamp(ch[k] * shade, 0.0f, 1.0f) * 255.0f;
        o[k] = static_cast<uint8_t>(std::min(255.0f, std::floor(level + dither)));
      }
    }
  }
  return out;
}

}  // namespace

Picture render_landscape(std::string_view prompt, int width, int height) {
  const SceneMood mood = scene_mood(prompt);
  Rng rng = rng_for("landscape", prompt);
  Canvas canvas(width, height);
  paint_sky(canvas, mood, rng);
  paint_ridges(canvas, mood, rng);
  if (mood.water) paint_water(canvas, mood, rng);
  return finish(canvas);
}

}  // namespace varg::local
