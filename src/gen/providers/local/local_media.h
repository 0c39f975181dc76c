// The built-in offline `local` provider's media: everything rendered on this machine from the
// request's parameters, deterministically (the same parameters give the same bytes).
#pragma once
#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace varg {

struct Media {
  std::string bytes;
  std::string media_type;  // "image/png", "audio/wav", "video/mp4"
};

// model: "local-image" | "local-speech" | "local-music" | "local-video".
// params: the normalized request (prompt, aspect_ratio, text, voice, duration, ...).
// Returns Code::invalid for parameters the model cannot take, Code::internal if a library fails.
// Checks `cancelled` between steps of long work and returns Code::unavailable("cancelled") when set.
Result<Media> render_local(const std::string& model, const nlohmann::json& params, const std::atomic<bool>& cancelled);

}  // namespace varg
