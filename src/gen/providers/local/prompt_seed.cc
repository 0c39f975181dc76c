#include "gen/providers/local/prompt_seed.h"

#include <cstring>

#include "common/crypto.h"

namespace varg::local {

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double Rng::range(double lo, double hi) { return lo + (hi - lo) * uniform(); }

int Rng::below(int n) { return n <= 0 ? 0 : static_cast<int>(next() % static_cast<uint64_t>(n)); }

Rng rng_for(std::string_view purpose, std::string_view text) {
  std::string input(purpose);
  input.push_back('\0');
  input.append(text);
  const std::string digest = sha256(input);
  uint64_t seed = 0;
  std::memcpy(&seed, digest.data(), sizeof seed);
  return Rng(seed);
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      word.push_back(c);
    } else if (c >= 'A' && c <= 'Z') {
      word.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

bool mentions(const std::vector<std::string>& words, std::initializer_list<std::string_view> stems) {
  for (const auto& w : words)
    for (auto stem : stems)
      if (std::string_view(w).starts_with(stem)) return true;
  return false;
}

}  // namespace varg::local
