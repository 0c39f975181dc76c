#include "gen/providers/local/wav.h"

#include <algorithm>
#include <cmath>

namespace varg::local {

namespace {
void put_le(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
}  // namespace

std::string encode_wav(const std::vector<int16_t>& samples, int sample_rate) {
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  out += "RIFF";
  put_le(out, 36 + data_bytes, 4);
  out += "WAVEfmt ";
  put_le(out, 16, 4);                // fmt chunk size
  put_le(out, 1, 2);                 // PCM
  put_le(out, 1, 2);                 // mono
  put_le(out, sample_rate, 4);
  put_le(out, sample_rate * 2, 4);   // byte rate
  put_le(out, 2, 2);                 // block align
  put_le(out, 16, 2);                // bits per sample
  out += "data";
  put_le(out, data_bytes, 4);
  for (int16_t s : samples) put_le(out, static_cast<uint16_t>(s), 2);
  return out;
}

std::vector<int16_t> to_pcm16(const std::vector<float>& samples) {
  std::vector<int16_t> out(samples.size());
  for (size_t i = 0; i < samples.size(); i++)
    out[i] = static_cast<int16_t>(std::lround(std::clamp(samples[i], -1.0f, 1.0f) * 32767.0f));
  return out;
}

}  // namespace varg::local
