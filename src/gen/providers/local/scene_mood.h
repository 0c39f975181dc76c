// What a prompt's words ask of the landscape: the time of day, the weather, the terrain.
// Unknown words leave a clear day over blue hills; the prompt's hash still varies every detail.
#pragma once
#include <string_view>

namespace varg::local {

struct Rgb {
  float r = 0, g = 0, b = 0;
};

inline Rgb mix(Rgb a, Rgb b, float t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

struct SceneMood {
  Rgb sky_top, sky_horizon;
  Rgb body;             // the sun or the moon
  Rgb land_far, land_near;
  float body_x = 0.5f;  // centre of the sun or moon, in picture widths/heights
  float body_y = 0.3f;
  float body_r = 0.06f;
  float glow = 0.5f;    // how far the body lights the sky
  float haze = 0.35f;   // how much far ridges fade into the horizon colour
  float horizon = 0.62f;
  float ruggedness = 0.5f;  // ridge height scale: dunes are low, alps are high
  int layers = 4;
  bool stars = false;
  bool snow = false;
  bool water = false;
  bool trees = false;
  bool cabin = false;
  Rgb window;           // a cabin's lit window
};

SceneMood scene_mood(std::string_view prompt);

}  // namespace varg::local
