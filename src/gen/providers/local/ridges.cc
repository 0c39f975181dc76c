// The land: layered ridge silhouettes from far (hazy, pale, tall) to near (dark, low), each with mist
// settling at its foot; snow on high peaks, pine tops on forested hills, a cabin on the nearest rise.
#include <cmath>

#include "gen/providers/local/canvas.h"
#include "gen/providers/local/value_noise.h"

namespace varg::local {

namespace {

struct Ridge {
  uint64_t seed = 0;
  float base = 0;       // picture height fraction where the layer's slopes level out
  float amplitude = 0;  // tallest peak above the base, as a fraction of the picture height
  float frequency = 0;  // ridge features per picture height
  float roughness = 0.5f;
  float depth = 0;      // 0 far .. 1 near
  bool trees = false;
};

struct Cabin {
  float x = 0;  // centre, pixels
  float width = 0, wall = 0, roof = 0;
};

// The ground line of a layer, in pixels from the top.
float ground_top(const Ridge& r, float x, float h) {
  double n = ridge_noise(r.seed, x / h * r.frequency, 5, r.roughness);
  n = std::clamp((n - 0.2) / 0.6, 0.0, 1.0);
  return (r.base - r.amplitude * static_cast<float>(n)) * h;
}

// Pines: narrow triangles of varying height and spacing standing on the ground line.
float tree_height(const Ridge& r, float x, float h) {
  if (!r.trees) return 0;
  const float cell = h * (0.008f + 0.012f * r.depth);
  const float idx = std::floor(x / cell);
  const auto i = static_cast<int64_t>(idx);
  if (lattice(r.seed ^ 0x9a9, i) < 0.18) return 0;  // clearings
  const float centre = 0.3f + 0.4f * static_cast<float>(lattice(r.seed ^ 0x3c3, i));
  const float frac = x / cell - idx;
  const float tall = cell * static_cast<float>(1.4 + 1.6 * lattice(r.seed ^ 0x7ee5, i));
  const float half_width = 0.5f;
  return tall * std::max(0.0f, 1.0f - std::fabs(frac - centre) / half_width * 1.1f);
}

// The cabin's outline replaces the ridge where it stands: walls, then a pitched roof.
float with_cabin(float top, const Cabin& cab, float x, float ground) {
  const float half = cab.width / 2;
  const float d = std::fabs(x - cab.x);
  if (d > half * 1.25f) return top;
  const float eaves = ground - cab.wall;
  const float roof_top = eaves - cab.roof * std::max(0.0f, 1.0f - d / (half * 1.25f));
  return d <= half ? std::min(top, roof_top) : std::min(top, std::max(roof_top, eaves));
}

void paint_window(Canvas& c, const Cabin& cab, float ground, Rgb lit) {
  const int x0 = static_cast<int>(cab.x - cab.width * 0.22f), x1 = static_cast<int>(cab.x + cab.width * 0.05f);
  const int y0 = static_cast<int>(ground - cab.wall * 0.75f), y1 = static_cast<int>(ground - cab.wall * 0.3f);
  for (int y = std::max(0, y0); y < std::min(c.height, y1); y++)
    for (int x = std::max(0, x0); x < std::min(c.width, x1); x++) c.at(x, y) = lit;
}

Rgb layer_colour(const SceneMood& m, float depth) {
  const Rgb land = mix(m.land_far, m.land_near, depth);
  return mix(land, m.sky_horizon, m.haze * std::pow(1.0f - depth, 1.5f));
}

void paint_layer(Canvas& c, const SceneMood& m, const Ridge& r, const Cabin* cab, float floor_px) {
  const float h = static_cast<float>(c.height);
  const Rgb top_colour = layer_colour(m, r.depth);
  const Rgb mist_colour = mix(top_colour, m.sky_horizon, m.haze * (1.0f - 0.6f * r.depth));
  const Rgb snow = mix({0.96f, 0.97f, 1.0f}, m.sky_horizon, 0.25f + 0.5f * m.haze * (1.0f - r.depth));
  const float cabin_ground = cab ? ground_top(r, cab->x, h) + cab->wall * 0.15f : 0;
  const float fade = std::max(1.0f, r.amplitude * h * 1.3f);
  for (int x = 0; x < c.width; x++) {
    // Three sub-columns smooth the steep flanks of peaks and pines.
    float tops[3];
    for (int s = 0; s < 3; s++) {
      const float sx = x + (s + 0.5f) / 3.0f;
      tops[s] = ground_top(r, sx, h) - tree_height(r, sx, h);
      if (cab) tops[s] = with_cabin(tops[s], *cab, sx, cabin_ground);
    }
    const float top = std::min({tops[0], tops[1], tops[2]});
    // Mist and snow follow the ground, not the trees or the cabin, or they would streak.
    const float ground = ground_top(r, x + 0.5f, h);
    const float peak = r.base * h - ground;  // height of this column above the layer's base
    const float snow_depth = m.snow && r.depth < 0.75f
                                 ? std::max(0.0f, peak - r.amplitude * h * 0.5f) * 0.7f *
                                       static_cast<float>(0.6 + 0.8 * value_noise(r.seed ^ 0x5e0, x / h * 40))
                                 : 0.0f;
    for (int y = std::max(0, static_cast<int>(top) - 1); y < static_cast<int>(floor_px); y++) {
      float cover = 0;
      for (float t : tops) cover += std::clamp(y + 1.0f - t, 0.0f, 1.0f);
      cover /= 3.0f;
      if (cover <= 0) continue;
      Rgb col = mix(top_colour, mist_colour, std::clamp((y - ground) / fade, 0.0f, 1.0f));
      if (snow_depth > 0 && y + 1 > ground && y - ground < snow_depth && !r.trees) col = snow;
      Rgb& p = c.at(x, y);
      p = mix(p, col, cover);
    }
  }
  if (cab) paint_window(c, *cab, cabin_ground, m.window);
}

}  // namespace

void paint_ridges(Canvas& c, const SceneMood& m, Rng& rng) {
  const float h = static_cast<float>(c.height);
  const int layers = std::max(2, m.layers);
  const float floor_px = m.water ? std::round(m.horizon * h) : h;
  for (int i = 0; i < layers; i++) {
    Ridge r;
    r.depth = static_cast<float>(i) / (layers - 1);
    r.seed = rng.next();
    r.base = m.water ? m.horizon : m.horizon + (1.0f - m.horizon) * 0.6f * r.depth;
    r.amplitude = (0.06f + 0.26f * m.ruggedness) * (1.0f - 0.6f * r.depth) * static_cast<float>(rng.range(0.8, 1.2));
    if (m.water) r.amplitude *= 0.7f;
    r.frequency = static_cast<float>((1.0 + 1.6 * r.depth) * rng.range(0.8, 1.25));
    r.roughness = 0.42f + 0.16f * m.ruggedness;
    r.trees = m.trees && i >= layers - 2;
    const bool nearest = i == layers - 1;
    Cabin cab;
    if (nearest && m.cabin) {
      cab.x = static_cast<float>(rng.range(0.25, 0.75)) * c.width;
      cab.width = h * 0.075f;
      cab.wall = h * 0.04f;
      cab.roof = h * 0.035f;
    }
    paint_layer(c, m, r, nearest && m.cabin ? &cab : nullptr, floor_px);
  }
}

}  // namespace varg::local
