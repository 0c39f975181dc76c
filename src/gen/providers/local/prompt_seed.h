// Deterministic variety for the local renderers: every choice they make (colours, ridges, melody)
// comes from a hash of the request's words, so the same request always renders the same bytes.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace varg::local {

// splitmix64: tiny, fast and identical on every platform, unlike <random>'s distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();                       // [0, 1)
  double range(double lo, double hi);     // [lo, hi)
  int below(int n);                       // [0, n)
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

// A generator seeded by SHA-256 of `purpose` and `text`, so that the sky and the melody of one
// prompt do not draw the same numbers.
Rng rng_for(std::string_view purpose, std::string_view text);

// The prompt's words, lower-cased ASCII letters and digits.
std::vector<std::string> words_of(std::string_view text);

// True when a word starts with one of `stems` ("star" matches "stars" and "starry").
bool mentions(const std::vector<std::string>& words, std::initializer_list<std::string_view> stems);

}  // namespace varg::local
