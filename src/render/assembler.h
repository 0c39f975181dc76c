// Assembly of a rendered composition with the ffmpeg binary (one filter graph, one pass): clip
// timing, Ken Burns on stills, cover/contain/contain-blur fitting, positioned layers (Split,
// Grid, Overlay), xfade transitions or hard cuts, titles, captions burnt from word timings, audio
// mixed with music ducked under speech; H.264 + AAC MP4 with faststart.
#pragma once
#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "common/child_process.h"
#include "render/limits.h"

namespace varg::render {

// A generated or placeholder file on local disk, by element id.
struct LocalMedia {
  std::string path;
  double duration = 0;  // seconds; 0 for stills
  bool has_audio = false;
};

struct AssembleJob {
  nlohmann::json tree;  // the evaluator's tree; every media node has meta
  std::map<std::string, LocalMedia> media;
  std::string workdir;  // ffmpeg runs here; relative names avoid filter-graph escaping
  std::string ffmpeg = "ffmpeg";
  std::string font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
  std::chrono::steady_clock::time_point deadline;
  RenderLimits limits;
  ChildLimits ffmpeg_limits;
};

struct Assembled {
  std::string path;  // the MP4
  double duration = 0;
  int width = 0, height = 0, fps = 0;
};

Result<Assembled> assemble(const AssembleJob& job, const std::atomic<bool>& cancelled);

// The docs' transition names mapped onto ffmpeg 5.1's xfade names.
std::string xfade_name(const std::string& name);

}  // namespace varg::render
