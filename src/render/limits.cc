#include "render/limits.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <string>

namespace varg::render {

using json = nlohmann::json;

namespace {

Result<int> dimension(const json& props, const char* name, int def, int lo, int hi) {
  const json v = props.value(name, json());
  if (v.is_null()) return def;
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    return error(Code::invalid, std::string("Invalid render code: <Render ") + name + "> must be a number", "code");
  const double d = v.get<double>();
  if (d < lo || d > hi)
    return error(Code::invalid, std::string("Invalid render code: <Render ") + name + "> must be between " + std::to_string(lo) +
                                    " and " + std::to_string(hi) + ", got " + std::to_string(std::lround(d)), "code");
  return int(std::lround(d));
}

// Clips at any depth, with the duration each one declares.
void count_clips(const json& n, size_t& clips, double& seconds, int depth) {
  if (depth > 64) return;
  if (n.is_array()) {
    for (auto& x : n) count_clips(x, clips, seconds, depth + 1);
    return;
  }
  if (!n.is_object()) return;
  if (n.value("type", "") == "clip") {
    clips++;
    const json d = n.value("props", json::object()).value("duration", json());
    if (!n.contains("children") || !n["children"].is_array() ||
        std::none_of(n["children"].begin(), n["children"].end(), [](const json& k) { return k.is_object() && k.value("type", "") == "clip"; }))
      seconds += d.is_number() && d.get<double>() > 0 ? d.get<double>() : 4.0;
  }
  if (n.contains("children")) count_clips(n["children"], clips, seconds, depth + 1);
}

}  // namespace

Result<Frame> frame_of(const json& props, const RenderLimits& limits) {
  Frame f;
  if (!props.is_object()) return f;
  for (auto [name, field, def, lo, hi] : {std::tuple{"width", &f.width, 1920, 16, limits.max_side},
                                         std::tuple{"height", &f.height, 1080, 16, limits.max_side},
                                         std::tuple{"fps", &f.fps, 30, 1, limits.max_fps}}) {
    auto v = dimension(props, name, def, lo, hi);
    if (!v.ok()) return v.status();
    *field = *v;
  }
  if (int64_t(f.width) * f.height > limits.max_pixels)
    return error(Code::invalid, "Invalid render code: " + std::to_string(f.width) + "×" + std::to_string(f.height) +
                                    " is more than " + std::to_string(limits.max_pixels) + " pixels per frame", "code");
  return f;
}

Status check_length(size_t clips, double seconds, const RenderLimits& limits) {
  if (clips > size_t(limits.max_clips))
    return error(Code::invalid, "Invalid render code: " + std::to_string(clips) + " clips; at most " +
                                    std::to_string(limits.max_clips) + " per render", "code");
  if (seconds > limits.max_duration_s)
    return error(Code::invalid, "Invalid render code: the video would last " + std::to_string(std::lround(seconds)) +
                                    " s; at most " + std::to_string(std::lround(limits.max_duration_s)) + " s per render", "code");
  return Status::Ok();
}

Status check_tree(const json& tree, const RenderLimits& limits) {
  auto frame = frame_of(tree.value("props", json::object()), limits);
  if (!frame.ok()) return frame.status();
  size_t clips = 0;
  double seconds = 0;
  count_clips(tree.value("children", json::array()), clips, seconds, 0);
  return check_length(clips, seconds, limits);
}

}  // namespace varg::render
