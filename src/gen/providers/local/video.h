// The local video model: the prompt's landscape seen through a slow Ken Burns move, with the
// prompt's music as the soundtrack, encoded to MP4 by the ffmpeg binary.
#pragma once
#include <atomic>
#include <string>

#include "common/status.h"

namespace varg::local {

Result<std::string> render_video(const std::string& prompt, const std::string& aspect_ratio, double seconds,
                                 const std::atomic<bool>& cancelled);

}  // namespace varg::local
