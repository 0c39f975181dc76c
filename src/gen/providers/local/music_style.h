// How a music prompt's words set the tune: tempo, major or minor, key, instrumentation.
#pragma once
#include <string_view>

namespace varg::local {

struct MusicStyle {
  double bpm = 100;
  bool minor = false;
  int root = 57;           // MIDI note of the key's root in the chord octave (57 = A3)
  int progression = 0;     // index into the mode's chord progressions
  bool drums = true;       // kick and snare; calm music keeps only a soft brush
  bool eighth_melody = true;
  float brightness = 0.5f; // upper harmonics of the lead, 0..1
};

MusicStyle music_style(std::string_view prompt);

}  // namespace varg::local
