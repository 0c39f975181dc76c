// Test helpers that read back what the local renderers wrote: PNG chunks, WAV headers, ffprobe.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gen/providers/local/local_media.h"

namespace varg::testing {

inline uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}
inline uint32_t le32(const std::string& s, size_t at) {
  return uint32_t(uint8_t(s[at])) | (uint32_t(uint8_t(s[at + 1])) << 8) | (uint32_t(uint8_t(s[at + 2])) << 16) |
         (uint32_t(uint8_t(s[at + 3])) << 24);
}
inline uint16_t le16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(uint8_t(s[at]) | (uint8_t(s[at + 1]) << 8));
}

inline Result<Media> render(const std::string& model, const nlohmann::json& params) {
  std::atomic<bool> cancelled{false};
  return render_local(model, params, cancelled);
}

}  // namespace varg::testing
