// The media operations (media.h): request bodies, the arguments of trim, resize and slice, probe answers.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/json.h"
#include "media/media.h"

namespace varg::media {

using json = nlohmann::json;

namespace {

Status bad(const std::string& field, const std::string& msg) { return error(Code::invalid, msg, field); }

Result<std::string> url_field(const json& body, const char* field) {
  auto v = req_string(body, field);
  if (!v.ok()) return v;
  if (v->empty() || v->size() > 4096) return bad(field, std::string("Field '") + field + "' must be a URL");
  return v;
}

// A time in seconds, 0 to 24 hours; nullopt when absent.
Result<std::optional<double>> seconds(const json& body, const char* field, double min = 0) {
  auto v = opt_number(body, field);
  if (!v.ok()) return v.status();
  if (*v && (!std::isfinite(**v) || **v < min || **v > 86400))
    return bad(field, std::string("Field '") + field + "' must be a number of seconds from " + (min > 0 ? "0.1" : "0") +
                          " to 86400");
  return *v;
}

// "12.345" with at most millisecond precision: cache keys and ffmpeg see the same number.
std::string time_text(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", s);
  return b;
}

double rounded(double s) { return std::round(s * 1000) / 1000; }

// "in_3" with prefix "in_" → 3: N from 1 to 10 written without a leading zero; 0 for anything else.
int label_number(const std::string& label, const std::string& prefix) {
  const std::string n = label.starts_with(prefix) ? label.substr(prefix.size()) : "";
  if (n.empty() || n.size() > 2 || n[0] == '0' || n.find_first_not_of("0123456789") != std::string::npos) return 0;
  const int k = std::stoi(n);
  return k <= 10 ? k : 0;
}

const char* const kOutputExtensions[] = {"mp4", "mov", "webm", "mkv", "mp3", "wav", "m4a", "aac", "ogg", "opus",
                                         "flac", "gif", "png", "jpg", "jpeg", "webp"};

Result<Normalized> normalize_command(const json& body) {
  Normalized n;
  auto command = req_string(body, "command");
  if (!command.ok()) return command.status();
  if (command->empty() || command->size() > 8192) return bad("command", "Field 'command' must be 1 to 8192 characters");
  auto url = opt_string(body, "url");
  if (!url.ok()) return url.status();
  std::map<int, std::string> inputs;
  if (*url) {
    if ((*url)->empty() || (*url)->size() > 4096) return bad("url", "Field 'url' must be a URL");
    inputs[1] = **url;
  }
  if (auto it = body.find("input_files"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return bad("input_files", "Field 'input_files' must be an object like {\"in_1\": \"https://...\"}");
    for (auto& [label, v] : it->items()) {
      const int k = label_number(label, "in_");
      if (!k) return bad("input_files", "input_files keys are in_1 to in_10, not '" + label + "'");
      if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 4096)
        return bad("input_files", "input_files." + label + " must be a URL");
      if (inputs.count(k)) return bad("input_files", "in_1 is given twice: as 'url' and in input_files");
      inputs[k] = v.get<std::string>();
    }
  }
  for (auto& [k, u] : inputs) {
    if (k != int(n.inputs.size()) + 1) return bad("input_files", "input_files must be numbered from in_1 without gaps");
    n.inputs.push_back(u);
  }
  json outputs = {{"out_1", "output.mp4"}};
  if (auto it = body.find("output_files"); it != body.end() && !it->is_null()) {
    if (it->is_string())
      return bad("output_files", "output_files \"OUTPUT_FOLDER\" is not supported here: name each output, {\"out_1\": \"output.mp4\"}");
    if (!it->is_object() || it->empty() || it->size() > 10)
      return bad("output_files", "Field 'output_files' must be an object of 1 to 10 outputs like {\"out_1\": \"output.mp4\"}");
    outputs = json::object();
    for (auto& [label, v] : it->items()) {
      if (!label_number(label, "out_"))
        return bad("output_files", "output_files keys are out_1 to out_10, not '" + label + "'");
      const std::string name = v.is_string() ? v.get<std::string>() : "";
      const size_t dot = name.rfind('.');
      std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
      for (auto& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
      if (name.empty() || name.size() > 100 || name.find_first_of("/\\") != std::string::npos || dot == 0 ||
          std::find(std::begin(kOutputExtensions), std::end(kOutputExtensions), ext) == std::end(kOutputExtensions))
        return bad("output_files", "output_files." + label + " must be a file name ending in .mp4, .mov, .webm, .mkv, .mp3, "
                                   ".wav, .m4a, .aac, .ogg, .opus, .flac, .gif, .png, .jpg or .webp");
      outputs[label] = name;
    }
  }
  std::string text = *url ? "-i {{in_1}} " + *command + " {{out_1}}" : *command;
  auto words = split_words(text);
  if (!words.ok()) return words.status();
  // Checked now with stand-in names, and again by the job with the real ones.
  CommandFiles check;
  for (size_t i = 0; i < n.inputs.size(); i++) {
    check.inputs.push_back("in_" + std::to_string(i + 1));
    check.input_options.emplace_back();
  }
  for (auto& [label, name] : outputs.items()) check.outputs[label] = label + "." + name.get<std::string>();
  auto args = command_args(*words, check);
  if (!args.ok()) return args.status();
  n.params = {{"op", "command"}, {"words", *words}, {"outputs", outputs}};
  return n;
}

Result<Normalized> normalize_trim(const json& body) {
  auto url = url_field(body, "url");
  if (!url.ok()) return url.status();
  auto start = seconds(body, "start");
  if (!start.ok()) return start.status();
  if (!*start) return bad("start", "Field 'start' is required (seconds)");
  auto end = seconds(body, "end"), duration = seconds(body, "duration", 0.001);
  if (!end.ok()) return end.status();
  if (!duration.ok()) return duration.status();
  if (*end && *duration) return bad("duration", "Give 'end' or 'duration', not both");
  if (!*end && !*duration) return bad("end", "Field 'end' or 'duration' is required");
  const double s = rounded(**start), e = *end ? rounded(**end) : rounded(s + **duration);
  if (e <= s) return bad("end", "Field 'end' must be after 'start'");
  auto precise = body.find("precise");
  if (precise != body.end() && !precise->is_null() && !precise->is_boolean())
    return bad("precise", "Field 'precise' must be true or false");
  return Normalized{{{"op", "trim"}, {"start", s}, {"end", e},
                     {"precise", precise != body.end() && precise->is_boolean() && precise->get<bool>()}},
                    {*url}};
}

Result<Normalized> normalize_resize(const json& body) {
  auto url = url_field(body, "url");
  if (!url.ok()) return url.status();
  json p = {{"op", "resize"}};
  for (const char* f : {"width", "height"}) {
    auto v = opt_int(body, f);
    if (!v.ok()) return v.status();
    if (*v && (**v < 1 || **v > 7680)) return bad(f, std::string("Field '") + f + "' must be 1 to 7680 pixels");
    if (*v) p[f] = **v;
  }
  if (!p.contains("width") && !p.contains("height")) return bad("width", "Give 'width', 'height' or both");
  auto fit = opt_string(body, "fit");
  if (!fit.ok()) return fit.status();
  const std::string f = fit->value_or("cover");
  if (f != "cover" && f != "contain" && f != "stretch") return bad("fit", "Field 'fit' must be cover, contain or stretch");
  p["fit"] = p.contains("width") && p.contains("height") ? f : "keep";  // one side: the other keeps the aspect ratio
  return Normalized{p, {*url}};
}

Result<Normalized> normalize_slice(const json& body) {
  auto url = url_field(body, "video_url");
  if (!url.ok()) return url.status();
  json p = {{"op", "slice"}};
  int given = 0;
  for (const char* f : {"every", "at", "count", "ranges"})
    if (body.contains(f) && !body[f].is_null()) given++;
  if (given != 1) return bad("every", "Give exactly one of 'every', 'at', 'count' or 'ranges'");
  if (auto every = seconds(body, "every", 0.1); !every.ok()) {
    return every.status();
  } else if (*every) {
    if (**every > 3600) return bad("every", "Field 'every' must be 0.1 to 3600 seconds");
    p["every"] = rounded(**every);
  }
  if (auto count = opt_int(body, "count"); !count.ok()) {
    return count.status();
  } else if (*count) {
    if (**count < 2 || **count > kMaxSegments) return bad("count", "Field 'count' must be 2 to 1000");
    p["count"] = **count;
  }
  if (body.contains("at") && !body["at"].is_null()) {
    const json& at = body["at"];
    if (!at.is_array() || at.empty() || at.size() >= size_t(kMaxSegments))
      return bad("at", "Field 'at' must be an array of 1 to 999 timestamps in seconds");
    std::vector<double> ts;
    for (auto& t : at) {
      if (!t.is_number() || t.get<double>() < 0 || t.get<double>() > 86400)
        return bad("at", "Each timestamp in 'at' must be 0 to 86400 seconds");
      ts.push_back(rounded(t.get<double>()));
    }
    std::sort(ts.begin(), ts.end());
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    p["at"] = ts;
  }
  if (body.contains("ranges") && !body["ranges"].is_null()) {
    const json& ranges = body["ranges"];
    if (!ranges.is_array() || ranges.empty() || ranges.size() > size_t(kMaxSegments))
      return bad("ranges", "Field 'ranges' must be an array of 1 to 1000 {\"start\", \"end\"}");
    json list = json::array();
    for (auto& r : ranges) {
      if (!r.is_object() || !r.contains("start") || !r.contains("end") || !r["start"].is_number() || !r["end"].is_number())
        return bad("ranges", "Each range must be {\"start\": seconds, \"end\": seconds}");
      const double s = rounded(r["start"].get<double>()), e = rounded(r["end"].get<double>());
      if (s < 0 || e <= s || e > 86400) return bad("ranges", "Each range needs 0 <= start < end <= 86400");
      list.push_back({s, e});
    }
    p["ranges"] = list;
  }
  auto codec = opt_string(body, "codec");
  if (!codec.ok()) return codec.status();
  const std::string c = codec->value_or("copy");
  if (c != "copy" && c != "reencode") return bad("codec", "Field 'codec' must be copy or reencode");
  p["codec"] = c;
  auto th = body.find("thumbnails");
  if (th != body.end() && !th->is_null() && !th->is_boolean()) return bad("thumbnails", "Field 'thumbnails' must be true or false");
  p["thumbnails"] = th == body.end() || th->is_null() || th->get<bool>();
  return Normalized{p, {*url}};
}

}  // namespace

Result<Normalized> normalize(const std::string& op, const json& body) {
  if (op == "command") return normalize_command(body);
  if (op == "trim") return normalize_trim(body);
  if (op == "resize") return normalize_resize(body);
  if (op == "slice") return normalize_slice(body);
  if (op == "probe") {
    auto url = url_field(body, "url");
    if (!url.ok()) return url.status();
    return Normalized{{{"op", "probe"}}, {*url}};
  }
  return error(Code::invalid, "Unknown media operation '" + op + "'", "model");
}

std::optional<std::vector<std::string>> input_options(const std::string& media_type) {
  static const std::pair<const char*, const char*> demuxers[] = {
      {"video/mp4", "mov"},   {"video/quicktime", "mov"}, {"audio/mp4", "mov"},   {"video/webm", "matroska"},
      {"audio/mpeg", "mp3"},  {"audio/wav", "wav"},       {"audio/ogg", "ogg"},   {"audio/flac", "flac"},
      {"image/gif", "gif"},   {"image/png", "image2"},    {"image/jpeg", "image2"}, {"image/webp", "image2"}};
  for (auto& [type, demuxer] : demuxers) {
    if (media_type != type) continue;
    std::vector<std::string> o = {"-f", demuxer, "-protocol_whitelist", "file"};
    if (std::string(demuxer) == "image2") o.insert(o.end(), {"-pattern_type", "none"});  // one file, no sequence or glob
    return o;
  }
  return std::nullopt;
}

std::string copy_extension(const std::string& media_type) {
  static const std::pair<const char*, const char*> exts[] = {
      {"video/mp4", "mp4"},   {"video/quicktime", "mov"}, {"audio/mp4", "m4a"}, {"video/webm", "mkv"}, {"audio/mpeg", "mp3"},
      {"audio/wav", "wav"},   {"audio/ogg", "ogg"},       {"audio/flac", "flac"}, {"image/gif", "gif"}, {"image/png", "png"},
      {"image/jpeg", "jpg"},  {"image/webp", "webp"}};
  for (auto& [type, ext] : exts)
    if (media_type == type) return ext;
  return "bin";
}

std::string encode_extension(const std::string& media_type) {
  return media_type.starts_with("video/") ? "mp4" : copy_extension(media_type);
}

std::vector<std::string> encode_video_args() {
  return {"-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart"};
}

std::vector<std::string> trim_args(const json& p, const std::vector<std::string>& in_opts, const std::string& in, bool video,
                                   const std::string& out) {
  const double s = p["start"], e = p["end"];
  // Seeking before -i: a stream copy starts at the keyframe at or before `start`; a re-encode
  // decodes from there and drops frames up to `start` exactly.
  std::vector<std::string> a = {"-ss", time_text(s)};
  a.insert(a.end(), in_opts.begin(), in_opts.end());
  a.insert(a.end(), {"-i", in, "-t", time_text(e - s)});
  if (!p["precise"].get<bool>()) {
    a.insert(a.end(), {"-c", "copy", "-avoid_negative_ts", "make_zero"});
  } else if (video) {
    auto enc = encode_video_args();
    a.insert(a.end(), enc.begin(), enc.end());
  }  // precise audio: the container's default encoder
  a.push_back(out);
  return a;
}

std::vector<std::string> resize_args(const json& p, const std::vector<std::string>& in_opts, const std::string& in, bool video,
                                     const std::string& out) {
  // H.264 in 4:2:0 needs even sizes: a video's are rounded down to even numbers.
  auto side = [&](const char* f) {
    if (!p.contains(f)) return std::string(video ? "-2" : "-1");
    int v = p[f];
    if (video) v = std::max(2, v - v % 2);
    return std::to_string(v);
  };
  const std::string w = side("width"), h = side("height"), fit = p["fit"];
  std::string vf;
  if (fit == "cover") vf = "scale=" + w + ":" + h + ":force_original_aspect_ratio=increase,crop=" + w + ":" + h;
  else if (fit == "contain")
    vf = "scale=" + w + ":" + h + ":force_original_aspect_ratio=decrease,pad=" + w + ":" + h + ":(ow-iw)/2:(oh-ih)/2:color=black";
  else vf = "scale=" + w + ":" + h;
  vf += ",setsar=1";
  std::vector<std::string> a(in_opts);
  a.insert(a.end(), {"-i", in, "-vf", vf});
  if (video) {
    auto enc = encode_video_args();
    a.insert(a.end(), enc.begin(), enc.end());
  } else {
    a.insert(a.end(), {"-frames:v", "1", "-update", "1"});
  }
  a.push_back(out);
  return a;
}

std::vector<std::string> segment_args(const std::vector<std::string>& in_opts, const std::string& in, double start, double end,
                                      bool copy, const std::string& out) {
  std::vector<std::string> a = {"-ss", time_text(start)};
  a.insert(a.end(), in_opts.begin(), in_opts.end());
  a.insert(a.end(), {"-i", in, "-t", time_text(end - start)});
  if (copy) {
    a.insert(a.end(), {"-c", "copy", "-avoid_negative_ts", "make_zero"});
  } else {
    auto enc = encode_video_args();
    a.insert(a.end(), enc.begin(), enc.end());
  }
  a.push_back(out);
  return a;
}

std::vector<std::string> first_frame_args(const std::vector<std::string>& in_opts, const std::string& in, const std::string& out) {
  std::vector<std::string> a(in_opts);
  a.insert(a.end(), {"-i", in, "-frames:v", "1", "-q:v", "2", "-update", "1", out});
  return a;
}

std::vector<std::string> thumbnail_args(const std::vector<std::string>& in_opts, const std::string& in, const std::string& out) {
  std::vector<std::string> a(in_opts);
  a.insert(a.end(), {"-i", in, "-frames:v", "1", "-vf",
                     "scale=w='if(gte(iw,ih),min(480,iw),-2)':h='if(gte(iw,ih),-2,min(480,ih))'", "-c:v", "libwebp",
                     "-quality", "80", "-update", "1", out});
  return a;
}

Result<std::vector<std::pair<double, double>>> slice_ranges(const json& p, double duration) {
  std::vector<std::pair<double, double>> r;
  if (!(duration > 0)) return error(Code::invalid, "The video has no duration to slice", "video_url");
  auto too_many = [] { return error(Code::invalid, "The slice would make more than 1000 segments", "every"); };
  if (p.contains("every")) {
    const double step = p["every"];
    if (duration / step > kMaxSegments) return too_many();
    for (double s = 0; s < duration - 1e-3; s += step) r.push_back({rounded(s), rounded(std::min(duration, s + step))});
  } else if (p.contains("count")) {
    const int n = p["count"];
    for (int i = 0; i < n; i++) r.push_back({rounded(duration * i / n), rounded(duration * (i + 1) / n)});
  } else if (p.contains("at")) {
    double from = 0;
    for (double t : p["at"]) {
      if (t <= from + 1e-3 || t >= duration - 1e-3) continue;  // 0 and the end make no segment
      r.push_back({from, t});
      from = t;
    }
    r.push_back({from, rounded(duration)});
  } else {
    int i = 0;
    for (auto& range : p["ranges"]) {
      const double s = range[0], e = range[1];
      if (s >= duration)
        return error(Code::invalid, "Range " + std::to_string(i) + " starts after the end of the video (" + time_text(duration) + " s)",
                     "ranges");
      r.push_back({s, std::min(e, rounded(duration))});
      i++;
    }
  }
  return r;
}

json probe_answer(const json& f, int64_t size_bytes) {
  json out = {{"duration", nullptr}, {"width", nullptr}, {"height", nullptr}, {"codec", nullptr}, {"audio_codec", nullptr},
              {"format", nullptr},   {"bitrate", nullptr}, {"fps", nullptr},  {"size_bytes", size_bytes}};
  auto number = [](const json& v) -> json {
    if (v.is_number()) return v;
    if (!v.is_string()) return nullptr;
    try {
      size_t used = 0;
      const double d = std::stod(v.get<std::string>(), &used);
      return used ? json(d) : json(nullptr);
    } catch (...) {
      return nullptr;
    }
  };
  const json format = f.value("format", json::object());
  if (format.is_object()) {
    out["duration"] = number(format.value("duration", json()));
    if (auto b = number(format.value("bit_rate", json())); b.is_number()) out["bitrate"] = int64_t(b.get<double>());
    if (format.contains("format_name") && format["format_name"].is_string()) out["format"] = format["format_name"];
  }
  const json streams = f.value("streams", json::array());
  for (auto& s : streams.is_array() ? streams : json::array()) {
    if (!s.is_object()) continue;
    const std::string type = s.value("codec_type", "");
    const json name = s.contains("codec_name") && s["codec_name"].is_string() ? s["codec_name"] : json();
    if (type == "video" && out["codec"].is_null()) {
      out["codec"] = name;
      if (s.contains("width") && s["width"].is_number_integer()) out["width"] = s["width"];
      if (s.contains("height") && s["height"].is_number_integer()) out["height"] = s["height"];
      int num = 0, den = 0;
      const std::string rate = s.value("avg_frame_rate", s.value("r_frame_rate", ""));
      if (std::sscanf(rate.c_str(), "%d/%d", &num, &den) == 2 && den > 0 && num > 0)
        out["fps"] = std::round(double(num) / den * 1000) / 1000;
    } else if (type == "audio" && out["audio_codec"].is_null()) {
      out["audio_codec"] = name;
    }
  }
  return out;
}

}  // namespace varg::media
