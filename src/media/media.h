// Media processing (SPEC 12): what each /v1/ffmpeg endpoint accepts, and the ffmpeg arguments
// that carry it out. Pure functions, no process and no file: gen/providers/ffmpeg runs what they
// build inside a job directory of its own, under limits and a Landlock file sandbox.
//
// The custom command is untrusted. It is split into words like a shell would (quotes and
// backslashes, no expansion of any kind), then every word is checked: options against an allow
// list, codecs against an allow list, filter graphs filter by filter against an allow list of
// filters that open no file, inputs only as `-i {{in_N}}`, outputs only as `{{out_N}}`. Each input
// is then opened with a demuxer forced from its sniffed media type and the file protocol only, so
// that no input can be a playlist, a concat list or a device.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace varg::media {

// The operations, as catalog model ids (provider "ffmpeg"): command, trim, resize, slice, probe.
// A request body → the normalized parameters (what the job stores and its cache key covers) and
// the input URLs in order (in_1, in_2, ...); 400 naming the field.
struct Normalized {
  nlohmann::json params;
  std::vector<std::string> inputs;
};
Result<Normalized> normalize(const std::string& op, const nlohmann::json& body);

// Words of a command line: whitespace separates, '…' is literal, "…" takes \" and \\, a
// backslash outside quotes escapes the next character. 400 on an unclosed quote.
Result<std::vector<std::string>> split_words(const std::string& command);

// The files a checked command may name.
struct CommandFiles {
  std::vector<std::string> inputs;                       // in_1.. → file names in the job directory
  std::vector<std::vector<std::string>> input_options;   // forced before each input's -i
  std::map<std::string, std::string> outputs;            // "out_1" → file name
};
// ffmpeg's arguments (after the program name and its fixed options) for the checked words; 400
// naming the first word that is not allowed.
Result<std::vector<std::string>> command_args(const std::vector<std::string>& words, const CommandFiles& files);

// 400 unless every filter of the graph is allow-listed (and its link labels plain).
Status check_filtergraph(const std::string& graph);

// How ffmpeg must open an input of this (sniffed) media type: "-f <demuxer>" and the file protocol
// only; nullopt for anything that is not an image, audio or video file.
std::optional<std::vector<std::string>> input_options(const std::string& media_type);

// The file extension of a result made from an input of this media type by a stream copy (the
// container kept) or by re-encoding (H.264/AAC in MP4 for video; images keep their format).
std::string copy_extension(const std::string& media_type);
std::string encode_extension(const std::string& media_type);

// The arguments of each operation for input file `in` (opened with `in_opts`) and output `out`.
std::vector<std::string> trim_args(const nlohmann::json& params, const std::vector<std::string>& in_opts,
                                   const std::string& in, bool video, const std::string& out);
std::vector<std::string> resize_args(const nlohmann::json& params, const std::vector<std::string>& in_opts,
                                     const std::string& in, bool video, const std::string& out);
// One segment [start, end) of a slice, copied (keyframe-aligned) or re-encoded (frame-accurate).
std::vector<std::string> segment_args(const std::vector<std::string>& in_opts, const std::string& in, double start,
                                      double end, bool copy, const std::string& out);
// A segment's first frame at full resolution (JPEG) and its thumbnail, 480 px on the long side (WebP).
std::vector<std::string> first_frame_args(const std::vector<std::string>& in_opts, const std::string& in, const std::string& out);
std::vector<std::string> thumbnail_args(const std::vector<std::string>& in_opts, const std::string& in, const std::string& out);

// Slice: the [start, end) ranges of the segments of a video `duration` seconds long.
Result<std::vector<std::pair<double, double>>> slice_ranges(const nlohmann::json& params, double duration);
constexpr int kMaxSegments = 1000;

// Probe: ffprobe's JSON (-show_format -show_streams) → the documented answer.
nlohmann::json probe_answer(const nlohmann::json& ffprobe, int64_t size_bytes);

}  // namespace varg::media
