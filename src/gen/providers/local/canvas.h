// The landscape painter's working surface: linear float colour, so that layers blend without
// rounding, turned into an 8-bit Picture once at the end.
#pragma once
#include <algorithm>
#include <vector>

#include "gen/providers/local/picture.h"
#include "gen/providers/local/prompt_seed.h"
#include "gen/providers/local/scene_mood.h"

namespace varg::local {

struct Canvas {
  int width = 0;
  int height = 0;
  std::vector<Rgb> px;

  Canvas(int w, int h) : width(w), height(h), px(static_cast<size_t>(w) * h) {}
  Rgb& at(int x, int y) { return px[static_cast<size_t>(y) * width + x]; }
  const Rgb& at(int x, int y) const { return px[static_cast<size_t>(y) * width + x]; }
  Rgb sample(float x, float y) const {
    const int xi = std::clamp(static_cast<int>(x), 0, width - 1);
    const int yi = std::clamp(static_cast<int>(y), 0, height - 1);
    return at(xi, yi);
  }
};

// The painting steps, in order; each reads the mood and draws its own randomness from `rng`.
void paint_sky(Canvas& c, const SceneMood& m, Rng& rng);
void paint_ridges(Canvas& c, const SceneMood& m, Rng& rng);
void paint_water(Canvas& c, const SceneMood& m, Rng& rng);

}  // namespace varg::local
