#include "gen/providers/local/music_style.h"

#include "gen/providers/local/prompt_seed.h"

namespace varg::local {

MusicStyle music_style(std::string_view prompt) {
  const auto w = words_of(prompt);
  Rng rng = rng_for("music-style", prompt);
  MusicStyle s;
  s.bpm = rng.range(92, 112);
  s.root = 55 + rng.below(8);  // G3 .. D4
  s.progression = rng.below(4);
  s.brightness = static_cast<float>(rng.range(0.35, 0.65));
  if (mentions(w, {"fast", "upbeat", "energetic", "energy", "dance", "party", "rock", "epic", "action", "run",
                   "techno", "edm", "happy", "exciting", "drive", "workout"})) {
    s.bpm = rng.range(132, 148);
    s.brightness = 0.75f;
  } else if (mentions(w, {"calm", "slow", "ambient", "relax", "peace", "chill", "lofi", "sleep", "meditat",
                          "gentle", "soft", "quiet", "lullaby", "piano"})) {
    s.bpm = rng.range(64, 76);
    s.drums = false;
    s.eighth_melody = false;
    s.brightness = 0.25f;
  }
  if (mentions(w, {"sad", "dark", "melanchol", "gloom", "minor", "tense", "horror", "lonely", "sorrow", "grief",
                   "mysterious", "eerie", "night", "rain", "tragic"})) {
    s.minor = true;
  } else if (mentions(w, {"happy", "bright", "joy", "sunny", "cheer", "major", "hope", "uplift"})) {
    s.minor = false;
  } else {
    s.minor = rng.chance(0.25);
  }
  return s;
}

}  // namespace varg::local
