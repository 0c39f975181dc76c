// Additive synthesis voices: each adds one sound into a float buffer at a given time, shaped by
// an attack/decay/release envelope so that notes start and end without clicks.
#pragma once
#include <cstdint>
#include <vector>

namespace varg::local {

struct Timbre {
  float harmonics[4] = {1, 0, 0, 0};  // amplitude of the 1st..4th partial
  float attack = 0.01f;               // seconds to full level
  float decay = 0.0f;                 // seconds for the sustain to fall by e (0: no fall)
  float release = 0.05f;              // seconds to silence after the note ends
};

struct Track {
  std::vector<float> samples;
  int rate = 22050;
};

double midi_hz(int note);

void add_tone(Track& t, double start, double length, double hz, float amp, const Timbre& timbre);
void add_kick(Track& t, double start, float amp);
// A filtered noise burst (snare or hat); `seed` keeps the noise the same on every render.
void add_noise_burst(Track& t, double start, double length, float amp, bool bright, uint64_t seed);

}  // namespace varg::local
