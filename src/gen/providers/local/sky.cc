// The sky: a gradient from zenith to horizon, the glow and disc of the sun (or a crescent moon),
// and at night a field of stars thinning towards the horizon.
#include <cmath>

#include "gen/providers/local/canvas.h"

namespace varg::local {

namespace {

float disc_coverage(float dist_px, float radius_px) { return std::clamp(radius_px - dist_px + 0.5f, 0.0f, 1.0f); }

void paint_stars(Canvas& c, const SceneMood& m, Rng& rng) {
  const float horizon_px = m.horizon * c.height;
  const int count = c.width * c.height / 1800;
  for (int i = 0; i < count; i++) {
    const float sx = static_cast<float>(rng.range(0, c.width));
    const float sy = static_cast<float>(rng.range(0, horizon_px));
    const float bright = static_cast<float>(std::pow(rng.uniform(), 3.0) * 0.9 + 0.1) * (1 - sy / horizon_px);
    for (int y = static_cast<int>(sy) - 1; y <= static_cast<int>(sy) + 1; y++) {
      for (int x = static_cast<int>(sx) - 1; x <= static_cast<int>(sx) + 1; x++) {
        if (x < 0 || y < 0 || x >= c.width || y >= c.height) continue;
        const float dx = x + 0.5f - sx, dy = y + 0.5f - sy;
        const float k = bright * std::exp(-(dx * dx + dy * dy) * 1.8f);
        Rgb& p = c.at(x, y);
        p = mix(p, {0.95f, 0.95f, 1.0f}, std::min(1.0f, k));
      }
    }
  }
}

}  // namespace

void paint_sky(Canvas& c, const SceneMood& m, Rng& rng) {
  const float h = static_cast<float>(c.height);
  const float bx = m.body_x * c.width, by = m.body_y * h;
  const float radius = m.body_r * std::min(c.width, c.height) * 1.2f;
  // A moon is a crescent: the disc minus a slightly offset dark one.
  const float bite_dx = radius * 0.45f, bite_dy = -radius * 0.2f;
  for (int y = 0; y < c.height; y++) {
    const float v = (y + 0.5f) / h;
    const float t = std::pow(std::clamp(v / m.horizon, 0.0f, 1.0f), 1.6f);
    const Rgb base = mix(m.sky_top, m.sky_horizon, t);
    for (int x = 0; x < c.width; x++) {
      const float dx = x + 0.5f - bx, dy = y + 0.5f - by;
      const float dist = std::sqrt(dx * dx + dy * dy);
      const float halo = m.glow * 0.45f * std::exp(-dist / h * 5.0f);
      const float band = m.glow * 0.25f * std::exp(-std::fabs(v - m.horizon) * 14.0f) *
                         std::exp(-std::fabs(dx) / c.width * 2.5f);
      Rgb p = mix(base, m.body, std::min(1.0f, halo + band));
      float cover = disc_coverage(dist, radius);
      if (m.stars) {
        const float bx2 = dx - bite_dx, by2 = dy - bite_dy;
        cover *= 1.0f - disc_coverage(std::sqrt(bx2 * bx2 + by2 * by2), radius * 0.92f);
      }
      c.at(x, y) = mix(p, m.body, cover);
    }
  }
  if (m.stars) paint_stars(c, m, rng);
}

}  // namespace varg::local
