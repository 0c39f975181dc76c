// Water below the horizon: the land and sky mirrored, broken by ripples that widen towards the
// viewer, tinted by the sky, with a glittering path under the sun or moon.
#include <cmath>

#include "gen/providers/local/canvas.h"
#include "gen/providers/local/value_noise.h"

namespace varg::local {

void paint_water(Canvas& c, const SceneMood& m, Rng& rng) {
  const float h = static_cast<float>(c.height);
  const int shore = static_cast<int>(std::round(m.horizon * h));
  const uint64_t seed = rng.next();
  const Rgb tint = mix(m.sky_top, {0.05f, 0.12f, 0.18f}, 0.5f);
  const float path_x = m.body_x * c.width;
  for (int y = shore; y < c.height; y++) {
    const float below = static_cast<float>(y - shore);
    const float k = below / std::max(1.0f, h - shore);  // 0 at the shore .. 1 at the bottom
    const float wave = static_cast<float>(value_noise(seed, below * 0.35 / (1 + 3 * k)) - 0.5);
    const float shift = wave * (1.0f + 10.0f * k);
    const float mirror_y = shore - 1 - below * 0.9f;
    const float sparkle = static_cast<float>(value_noise(seed ^ 0xabc, below * 0.6)) * m.glow;
    for (int x = 0; x < c.width; x++) {
      Rgb p = c.sample(x + shift, std::max(0.0f, mirror_y));
      p = mix(p, tint, 0.2f + 0.35f * k);
      const float path = std::exp(-std::fabs(x - path_x) / (c.width * (0.02f + 0.06f * k)));
      p = mix(p, m.body, std::min(1.0f, path * sparkle * 0.6f));
      c.at(x, y) = {p.r * 0.88f, p.g * 0.88f, p.b * 0.9f};
    }
  }
}

}  // namespace varg::local
