// The local speech model: text spoken by espeak-ng, as 16-bit mono PCM at espeak's own rate.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace varg::local {

struct Speech {
  std::vector<int16_t> samples;
  int sample_rate = 0;
};

// `voice` is one of the gateway's aliases (rachel, domi, sarah, antoni, elli, josh, arnold, adam,
// sam), each a distinct espeak voice; any other string gets the default English voice.
Result<Speech> speak(const std::string& text, const std::string& voice, const std::atomic<bool>& cancelled);

}  // namespace varg::local
