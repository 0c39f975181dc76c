// Encoding with the ffmpeg binary: raw RGB frames streamed to its stdin plus a WAV file become an
// H.264 (yuv420p) + AAC MP4. The child is killed if the request is cancelled or the deadline passes.
#pragma once
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>

#include "common/status.h"
#include "gen/providers/local/picture.h"

namespace varg::local {

// The ffmpeg executable found on PATH, if any.
std::optional<std::filesystem::path> find_ffmpeg();

struct Mp4Job {
  int width = 0, height = 0, fps = 15, frames = 0;
  std::filesystem::path audio_wav;  // empty: no audio track
  std::filesystem::path output;     // the .mp4 to write
  std::filesystem::path log;        // ffmpeg's stderr, quoted in errors
  std::chrono::seconds timeout{60};
};

// Calls `draw(i, frame)` for each frame i in order; `frame` is already width x height.
using FrameDrawer = std::function<void(int index, Picture& frame)>;

Status encode_mp4(const std::filesystem::path& ffmpeg, const Mp4Job& job, const FrameDrawer& draw,
                  const std::atomic<bool>& cancelled);

}  // namespace varg::local
