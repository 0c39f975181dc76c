// WAV encoding: RIFF, PCM 16-bit, mono.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace varg::local {

std::string encode_wav(const std::vector<int16_t>& samples, int sample_rate);

// Floats in [-1, 1] (clamped beyond) to 16-bit PCM.
std::vector<int16_t> to_pcm16(const std::vector<float>& samples);

}  // namespace varg::local
