#include "gen/providers/local/music.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gen/providers/local/music_style.h"
#include "gen/providers/local/prompt_seed.h"

namespace varg::local {

namespace {

constexpr int kMajor[7] = {0, 2, 4, 5, 7, 9, 11};
constexpr int kMinor[7] = {0, 2, 3, 5, 7, 8, 10};
// Chord roots as scale degrees, one chord per bar: the well-worn progressions of pop and film.
constexpr int kMajorProgressions[4][4] = {{0, 4, 5, 3}, {0, 5, 3, 4}, {0, 3, 4, 3}, {5, 3, 0, 4}};
constexpr int kMinorProgressions[4][4] = {{0, 5, 2, 6}, {0, 3, 4, 0}, {0, 6, 5, 6}, {0, 3, 6, 4}};
constexpr int kRest = -1000;

int note_of(const MusicStyle& s, int degree) {
  const int octave = degree >= 0 ? degree / 7 : -((-degree + 6) / 7);
  const int step = degree - 7 * octave;
  return s.root + 12 * octave + (s.minor ? kMinor : kMajor)[step];
}

// A melody for one pass of the progression (four bars), in scale degrees: chord tones on the
// beats, small steps between them, a few rests so that it breathes.
std::vector<int> write_melody(const int* chords, int steps_per_bar, Rng& rng) {
  std::vector<int> line;
  int degree = 9 + rng.below(3);
  for (int bar = 0; bar < 4; bar++) {
    for (int step = 0; step < steps_per_bar; step++) {
      const bool on_beat = step % (steps_per_bar / 4 == 0 ? 1 : steps_per_bar / 4) == 0;
      if (!on_beat && rng.chance(0.22)) {
        line.push_back(kRest);
        continue;
      }
      if (on_beat) {
        const int tones[3] = {chords[bar], chords[bar] + 2, chords[bar] + 4};
        int best = degree;
        int best_gap = 100;
        for (int t : tones)
          for (int oct = 0; oct <= 14; oct += 7)
            if (std::abs(t + oct - degree) < best_gap && std::abs(t + oct - degree) > 0) {
              best_gap = std::abs(t + oct - degree);
              best = t + oct;
            }
        degree = best;
      } else {
        degree += rng.below(5) - 2;
      }
      degree = std::clamp(degree, 5, 15);
      line.push_back(degree);
    }
  }
  return line;
}

void master(Track& t, double seconds) {
  float peak = 0;
  for (float& v : t.samples) {
    v = std::tanh(v * 1.3f);
    peak = std::max(peak, std::fabs(v));
  }
  const float gain = peak > 0 ? 0.85f / peak : 0;
  const size_t n = t.samples.size();
  const size_t fade_in = static_cast<size_t>(0.02 * t.rate);
  const size_t fade_out = static_cast<size_t>(std::min(1.5, seconds / 4) * t.rate);
  for (size_t i = 0; i < n; i++) {
    float env = 1;
    if (i < fade_in) env = static_cast<float>(i) / fade_in;
    if (n - i <= fade_out) env = std::min(env, static_cast<float>(n - i) / fade_out);
    t.samples[i] *= gain * env;
  }
}

}  // namespace

Result<Track> compose_music(std::string_view prompt, double seconds, int rate, const std::atomic<bool>& cancelled) {
  const MusicStyle s = music_style(prompt);
  Rng rng = rng_for("music", prompt);
  Track t;
  t.rate = rate;
  t.samples.assign(static_cast<size_t>(std::lround(seconds * rate)), 0.0f);

  const double beat = 60.0 / s.bpm, bar = 4 * beat;
  const int* chords = (s.minor ? kMinorProgressions : kMajorProgressions)[s.progression];
  const int steps = s.eighth_melody ? 8 : 4;
  const double step_len = bar / steps;
  const std::vector<int> theme = write_melody(chords, steps, rng);
  const std::vector<int> answer = write_melody(chords, steps, rng);

  const Timbre pad{{1.0f, 0.3f, 0.12f, 0.05f}, 0.35f, 0.0f, 0.5f};
  const Timbre bass{{1.0f, 0.5f, 0.25f, 0.1f}, 0.01f, 0.6f, 0.08f};
  const Timbre lead{{1.0f, 0.45f * s.brightness, 0.3f * s.brightness, 0.15f * s.brightness}, 0.012f, 0.45f, 0.12f};

  const int bars = static_cast<int>(std::ceil(seconds / bar));
  for (int b = 0; b < bars; b++) {
    if (cancelled.load()) return error(Code::unavailable, "cancelled");
    const double t0 = b * bar;
    const int chord = chords[b % 4];
    for (int k = 0; k < 3; k++) add_tone(t, t0, bar, midi_hz(note_of(s, chord + 2 * k)), 0.07f, pad);
    const double bass_hz = midi_hz(note_of(s, chord) - 24);
    if (s.drums) {
      for (int q = 0; q < 4; q++) add_tone(t, t0 + q * beat, beat * 0.9, bass_hz, 0.22f, bass);
    } else {
      add_tone(t, t0, bar, bass_hz, 0.2f, bass);
    }
    // The melody enters after one bar of accompaniment, alternating theme and answer.
    if (b >= 1 || bars <= 2) {
      const std::vector<int>& line = (b / 4) % 2 ? answer : theme;
      for (int i = 0; i < steps; i++) {
        const int d = line[(b % 4) * steps + i];
        if (d == kRest) continue;
        int len = 1;
        while (i + len < steps && line[(b % 4) * steps + i + len] == kRest && len < 3) len++;
        add_tone(t, t0 + i * step_len, step_len * len * 0.9, midi_hz(note_of(s, d)), 0.16f, lead);
      }
    }
    const uint64_t noise = rng.next();
    for (int q = 0; q < 4; q++) {
      const double at = t0 + q * beat;
      if (s.drums) {
        if (q % 2 == 0) add_kick(t, at, 0.5f);
        else add_noise_burst(t, at, 0.07, 0.22f, false, noise + q);
        add_noise_burst(t, at + beat / 2, 0.02, 0.08f, true, noise + 10 + q);
      } else if (q % 2 == 1) {
        add_noise_burst(t, at, 0.05, 0.06f, false, noise + q);
      }
    }
  }
  master(t, seconds);
  return t;
}

}  // namespace varg::local
