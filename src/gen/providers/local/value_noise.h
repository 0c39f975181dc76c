// Smooth 1-D value noise for ridge lines: random heights at integer points, eased between them, summed
// over octaves so that a ridge has both broad shapes and small crags.
#pragma once
#include <cmath>
#include <cstdint>

namespace varg::local {

inline double lattice(uint64_t seed, int64_t i) {
  uint64_t z = seed + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

inline double value_noise(uint64_t seed, double x) {
  const double f = std::floor(x);
  const double t = x - f;
  const double s = t * t * (3 - 2 * t);
  const auto i = static_cast<int64_t>(f);
  return lattice(seed, i) * (1 - s) + lattice(seed, i + 1) * s;
}

// Fractal sum in [0, 1]; `roughness` is how much each finer octave keeps (0.5 is natural).
inline double ridge_noise(uint64_t seed, double x, int octaves, double roughness) {
  double sum = 0, norm = 0, amp = 1, freq = 1;
  for (int o = 0; o < octaves; o++) {
    sum += amp * value_noise(seed + o * 7919, x * freq);
    norm += amp;
    amp *= roughness;
    freq *= 2.03;
  }
  return sum / norm;
}

}  // namespace varg::local
