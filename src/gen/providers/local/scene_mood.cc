#include "gen/providers/local/scene_mood.h"

#include <algorithm>

#include "gen/providers/local/prompt_seed.h"

namespace varg::local {

namespace {

// Small hue shifts per prompt, so that two sunsets are siblings rather than twins.
Rgb nudge(Rgb c, Rng& rng, float amount) {
  auto j = [&](float v) { return std::clamp(v + static_cast<float>(rng.range(-amount, amount)), 0.0f, 1.0f); };
  return {j(c.r), j(c.g), j(c.b)};
}

void time_of_day(SceneMood& m, const std::vector<std::string>& w, Rng& rng) {
  if (mentions(w, {"night", "star", "moon", "midnight", "galaxy", "dark"})) {
    m.sky_top = {0.02f, 0.03f, 0.10f};
    m.sky_horizon = {0.10f, 0.16f, 0.34f};
    m.body = {0.95f, 0.94f, 0.84f};
    m.land_far = {0.10f, 0.13f, 0.25f};
    m.land_near = {0.01f, 0.02f, 0.05f};
    m.body_y = static_cast<float>(rng.range(0.12, 0.28));
    m.body_r = 0.045f;
    m.glow = 0.25f;
    m.stars = true;
    m.window = {1.0f, 0.78f, 0.40f};
  } else if (mentions(w, {"sunset", "dusk", "evening", "golden", "sundown", "twilight"})) {
    m.sky_top = {0.30f, 0.18f, 0.45f};
    m.sky_horizon = {1.0f, 0.56f, 0.30f};
    m.body = {1.0f, 0.86f, 0.55f};
    m.land_far = {0.58f, 0.32f, 0.42f};
    m.land_near = {0.12f, 0.05f, 0.12f};
    m.body_y = m.horizon - static_cast<float>(rng.range(0.04, 0.12));
    m.body_r = 0.075f;
    m.glow = 0.9f;
    m.window = {1.0f, 0.80f, 0.45f};
  } else if (mentions(w, {"sunrise", "dawn", "morning"})) {
    m.sky_top = {0.45f, 0.64f, 0.90f};
    m.sky_horizon = {1.0f, 0.82f, 0.62f};
    m.body = {1.0f, 0.97f, 0.80f};
    m.land_far = {0.58f, 0.58f, 0.68f};
    m.land_near = {0.16f, 0.20f, 0.24f};
    m.body_y = m.horizon - static_cast<float>(rng.range(0.08, 0.18));
    m.body_r = 0.065f;
    m.glow = 0.7f;
    m.window = {1.0f, 0.85f, 0.55f};
  } else {
    m.sky_top = {0.18f, 0.42f, 0.84f};
    m.sky_horizon = {0.72f, 0.86f, 0.98f};
    m.body = {1.0f, 0.99f, 0.90f};
    m.land_far = {0.46f, 0.56f, 0.72f};
    m.land_near = {0.14f, 0.30f, 0.20f};
    m.body_y = static_cast<float>(rng.range(0.12, 0.25));
    m.body_r = 0.055f;
    m.glow = 0.45f;
    m.window = {0.25f, 0.22f, 0.20f};
  }
}

void weather(SceneMood& m, const std::vector<std::string>& w) {
  if (!mentions(w, {"fog", "mist", "haze", "cloud", "rain", "storm", "grey", "gray", "overcast"})) return;
  const Rgb grey{0.70f, 0.73f, 0.76f};
  m.sky_top = mix(m.sky_top, {0.52f, 0.55f, 0.60f}, 0.75f);
  m.sky_horizon = mix(m.sky_horizon, {0.84f, 0.85f, 0.86f}, 0.75f);
  m.body = mix(m.body, grey, 0.6f);
  m.land_far = mix(m.land_far, grey, 0.6f);
  m.land_near = mix(m.land_near, {0.22f, 0.25f, 0.27f}, 0.5f);
  m.glow *= 0.4f;
  m.haze = 0.75f;
  m.stars = false;
}

void terrain(SceneMood& m, const std::vector<std::string>& w) {
  if (mentions(w, {"forest", "tree", "wood", "jungle", "pine", "green", "meadow", "valley"})) {
    m.land_near = mix(m.land_near, {0.04f, 0.20f, 0.08f}, 0.7f);
    m.land_far = mix(m.land_far, {0.30f, 0.50f, 0.35f}, 0.4f);
    m.trees = true;
  }
  if (mentions(w, {"desert", "sand", "dune", "sahara", "canyon"})) {
    m.land_far = mix(m.land_far, {0.88f, 0.66f, 0.40f}, 0.7f);
    m.land_near = mix(m.land_near, {0.52f, 0.30f, 0.15f}, 0.7f);
    m.ruggedness = 0.25f;
    m.haze = std::max(m.haze, 0.45f);
  }
  if (mentions(w, {"snow", "winter", "ice", "alpine", "alps", "mountain", "peak", "glacier"})) {
    m.ruggedness = 0.95f;
    m.snow = mentions(w, {"snow", "winter", "ice", "alpine", "alps", "glacier", "peak"}) || m.ruggedness > 0.9f;
    m.layers = 5;
  }
  if (mentions(w, {"ocean", "sea", "lake", "beach", "water", "river", "reflect", "coast", "harbor", "harbour", "pond", "bay"})) {
    m.water = true;
    m.layers = std::min(m.layers, 3);
  }
  m.cabin = mentions(w, {"cabin", "house", "hut", "cottage", "home", "chalet", "barn"});
}

}  // namespace

SceneMood scene_mood(std::string_view prompt) {
  const auto words = words_of(prompt);
  Rng rng = rng_for("scene-mood", prompt);
  SceneMood m;
  m.horizon = static_cast<float>(rng.range(0.56, 0.68));
  m.layers = 3 + rng.below(2);
  m.body_x = static_cast<float>(rng.range(0.2, 0.8));
  time_of_day(m, words, rng);
  weather(m, words);
  terrain(m, words);
  m.sky_top = nudge(m.sky_top, rng, 0.04f);
  m.sky_horizon = nudge(m.sky_horizon, rng, 0.04f);
  m.land_far = nudge(m.land_far, rng, 0.04f);
  m.land_near = nudge(m.land_near, rng, 0.02f);
  return m;
}

}  // namespace varg::local
