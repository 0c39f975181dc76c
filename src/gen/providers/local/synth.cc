#include "gen/providers/local/synth.h"

#include <algorithm>
#include <cmath>

namespace varg::local {

namespace {
constexpr double kTwoPi = 6.283185307179586;

size_t index_at(const Track& t, double seconds) {
  return static_cast<size_t>(std::max(0.0, std::round(seconds * t.rate)));
}
}  // namespace

double midi_hz(int note) { return 440.0 * std::pow(2.0, (note - 69) / 12.0); }

void add_tone(Track& t, double start, double length, double hz, float amp, const Timbre& tb) {
  const size_t first = index_at(t, start);
  const size_t last = std::min(t.samples.size(), index_at(t, start + length + tb.release));
  // Each partial is a phasor rotated by a fixed step per sample: a multiply-add instead of a sin()
  // per partial per sample, which made a minute of music take seconds.
  double re[4], im[4], rot_re[4], rot_im[4];
  int partials = 0;
  for (int k = 0; k < 4; k++) {
    if (tb.harmonics[k] == 0 || hz * (k + 1) >= t.rate / 2.0) continue;
    const double step = kTwoPi * hz * (k + 1) / t.rate;
    re[partials] = tb.harmonics[k];  // the imaginary part traces harmonics[k] * sin(n * step)
    im[partials] = 0;
    rot_re[partials] = std::cos(step);
    rot_im[partials] = std::sin(step);
    partials++;
  }
  const double decay_step = tb.decay > 0 ? std::exp(-1.0 / (tb.decay * t.rate)) : 1.0;
  double decay = 1.0;
  for (size_t i = first; i < last; i++) {
    const double s = static_cast<double>(i - first) / t.rate;
    double env = tb.attack > 0 ? std::min(1.0, s / tb.attack) : 1.0;
    env *= decay;
    decay *= decay_step;
    if (s > length) env *= std::max(0.0, 1.0 - (s - length) / tb.release);
    double v = 0;
    for (int k = 0; k < partials; k++) {
      v += im[k];
      const double r = re[k] * rot_re[k] - im[k] * rot_im[k];
      im[k] = re[k] * rot_im[k] + im[k] * rot_re[k];
      re[k] = r;
    }
    t.samples[i] += static_cast<float>(amp * env * v);
  }
}

void add_kick(Track& t, double start, float amp) {
  // A sine whose pitch falls quickly: the thump of a soft bass drum.
  const size_t first = index_at(t, start);
  const size_t last = std::min(t.samples.size(), index_at(t, start + 0.3));
  double phase = 0;
  for (size_t i = first; i < last; i++) {
    const double s = static_cast<double>(i - first) / t.rate;
    const double hz = 45.0 + 85.0 * std::exp(-s / 0.03);
    phase += kTwoPi * hz / t.rate;
    t.samples[i] += static_cast<float>(amp * std::exp(-s / 0.09) * std::sin(phase));
  }
}

void add_noise_burst(Track& t, double start, double length, float amp, bool bright, uint64_t seed) {
  const size_t first = index_at(t, start);
  const size_t last = std::min(t.samples.size(), index_at(t, start + length * 4));
  uint64_t x = seed | 1;
  float prev = 0, low = 0;
  for (size_t i = first; i < last; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const float white = static_cast<float>(static_cast<double>(x >> 11) * 0x1.0p-53 * 2 - 1);
    // Bright: first difference (a hiss, like a hat). Dark: a one-pole low-pass (a brushed snare).
    low += 0.35f * (white - low);
    const float v = bright ? (white - prev) * 0.5f : low;
    prev = white;
    const double s = static_cast<double>(i - first) / t.rate;
    t.samples[i] += static_cast<float>(amp * std::exp(-s / length) * v);
  }
}

}  // namespace varg::local
