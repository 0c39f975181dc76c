// The custom ffmpeg command's checks (media.h): words, options, codecs, filter graphs, files.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "media/media.h"

namespace varg::media {

namespace {

Status bad_command(const std::string& msg) { return error(Code::invalid, msg, "command"); }

template <size_t N>
bool listed(const char* const (&list)[N], std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

// Options that take no value.
const char* const kFlags[] = {"an", "vn", "sn", "dn", "shortest", "y", "copyts", "start_at_zero", "accurate_seek",
                              "noaccurate_seek"};
// Options whose value ffmpeg reads as a number, a time, a name or an expression, never as a file.
const char* const kValued[] = {
    "ss",     "t",       "to",        "sseof",   "itsoffset", "r",          "s",         "aspect",   "pix_fmt",
    "b",      "maxrate", "minrate",   "bufsize", "crf",       "qp",         "preset",    "tune",     "profile",
    "level",  "g",       "keyint_min", "bf",     "q",         "qscale",     "ar",        "ac",       "sample_fmt",
    "frames", "vframes", "aframes",   "map",     "map_metadata", "map_chapters", "metadata", "disposition", "fps_mode",
    "vsync",  "stream_loop", "loop",  "framerate", "update",  "tag",        "strict",    "avoid_negative_ts",
    "max_muxing_queue_size", "video_track_timescale", "ab", "vb", "movflags", "fflags", "threads"};
const char* const kCodecOptions[] = {"c", "codec", "vcodec", "acodec"};
const char* const kFilterOptions[] = {"vf", "af", "filter", "filter_complex", "lavfi"};
const char* const kCodecs[] = {"copy", "libx264", "h264", "libvpx", "libvpx-vp9", "vp8", "vp9", "mpeg4", "mjpeg", "png",
                               "gif", "libwebp", "webp", "aac", "libmp3lame", "mp3", "libopus", "opus", "libvorbis",
                               "vorbis", "flac", "pcm_s16le", "pcm_s24le", "pcm_f32le"};
// Filters that neither open files nor run commands: no movie/amovie, subtitles, drawtext (font and
// text files), lut3d, sendcmd, zmq, ladspa, frei0r, the stats_file writers (psnr, ssim, signature,
// vidstabdetect, metadata) and so on.
const char* const kFilters[] = {
    "scale",      "crop",       "pad",       "setsar",     "setdar",     "format",    "fps",         "setpts",
    "asetpts",    "trim",       "atrim",     "concat",     "overlay",    "hflip",     "vflip",       "transpose",
    "rotate",     "eq",         "hue",       "negate",     "gblur",      "boxblur",   "unsharp",     "fade",
    "afade",      "volume",     "atempo",    "aresample",  "aformat",    "amix",      "amerge",      "pan",
    "split",      "asplit",     "null",      "anull",      "select",     "aselect",   "tpad",        "apad",
    "loudnorm",   "acrossfade", "xfade",     "drawbox",    "drawgrid",   "colorchannelmixer", "colorbalance",
    "chromakey",  "colorkey",   "vignette",  "noise",      "reverse",    "areverse",  "zoompan",     "palettegen",
    "paletteuse", "lut",        "lutrgb",    "lutyuv",     "geq",        "hstack",    "vstack",      "xstack",
    "tile",       "thumbnail",  "framerate", "silenceremove", "highpass", "lowpass",  "equalizer",   "dynaudnorm",
    "acompressor", "showwaves", "color",     "anullsrc",   "sine",       "yadif",     "hqdn3d",      "deband",
    "setrange",   "fieldorder", "alphaextract", "alphamerge", "blend",   "colorlevels", "edgedetect", "grayworld",
    "smartblur",  "sharpen",    "swapuv",    "aloop",      "loop",      "adelay",      "afir"};

bool plain_label(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '.';
  });
}

// "{{in_3}}" → ("in", 3); anything else → ("", 0).
std::pair<std::string, int> placeholder(std::string_view w) {
  for (const char* kind : {"in", "out"}) {
    const std::string open = std::string("{{") + kind + "_";
    if (w.starts_with(open) && w.ends_with("}}") && w.size() > open.size() + 2) {
      std::string_view n = w.substr(open.size(), w.size() - open.size() - 2);
      if (n.size() <= 2 && std::all_of(n.begin(), n.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
          n[0] != '0')
        return {kind, std::stoi(std::string(n))};
    }
  }
  return {"", 0};
}

}  // namespace

Result<std::vector<std::string>> split_words(const std::string& command) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < command.size(); i++) {
    const char c = command[i];
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
      return bad_command("The command contains a control character");
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      else cur += c;
    } else if (quote == '"') {
      if (c == '"') quote = 0;
      else if (c == '\\' && i + 1 < command.size() && (command[i + 1] == '"' || command[i + 1] == '\\')) cur += command[++i];
      else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c, in_word = true;
    } else if (c == '\\') {
      if (i + 1 < command.size()) cur += command[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(cur)), cur.clear();
      in_word = false;
    } else {
      cur += c, in_word = true;
    }
  }
  if (quote) return bad_command(std::string("The command has an unclosed ") + quote + " quote");
  if (in_word) words.push_back(std::move(cur));
  if (words.size() > 400) return bad_command("The command has more than 400 words");
  return words;
}

// The filter graph syntax of libavfilter: filters separated by ',' and chains by ';', each
// "[in]name@id=args[out]"; quotes ('…') and backslashes escape separators. Labels must be plain
// words, so that no label can hide a separator that ffmpeg would see and this parser would not.
Status check_filtergraph(const std::string& graph) {
  if (graph.size() > 16384) return bad_command("A filter graph is longer than 16384 characters");
  std::vector<std::string> specs(1);
  bool quoted = false;
  for (size_t i = 0; i < graph.size(); i++) {
    const char c = graph[i];
    if (quoted) {
      if (c == '\'') quoted = false;
      specs.back() += c;
    } else if (c == '\'') {
      quoted = true, specs.back() += c;
    } else if (c == '\\') {
      specs.back() += c;
      if (i + 1 < graph.size()) specs.back() += graph[++i];
    } else if (c == ',' || c == ';') {
      specs.emplace_back();
    } else if (c == '[') {
      const size_t end = graph.find(']', i);
      if (end == std::string::npos || !plain_label(std::string_view(graph).substr(i + 1, end - i - 1)))
        return bad_command("Filter graph link labels must be plain words like [v0]");
      specs.back() += graph.substr(i, end - i + 1);
      i = end;
    } else {
      specs.back() += c;
    }
  }
  if (quoted) return bad_command("A filter graph has an unclosed ' quote");
  for (auto& spec : specs) {
    std::string_view s = spec;
    auto trim = [&s] {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    };
    trim();
    while (s.starts_with("[")) {  // input labels (already checked plain)
      s.remove_prefix(s.find(']') + 1);
      trim();
    }
    const size_t end = s.find_first_of("=@[ \t");
    const std::string name(s.substr(0, end));
    if (name.empty()) return bad_command("A filter graph has an empty filter");
    if (!listed(kFilters, name))
      return bad_command("Filter '" + name + "' is not allowed (allowed: scale, crop, pad, overlay, concat, fps, eq, ...; see docs/media.md)");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> command_args(const std::vector<std::string>& words, const CommandFiles& files) {
  std::vector<std::string> out;
  int outputs = 0;
  for (size_t i = 0; i < words.size(); i++) {
    const std::string& w = words[i];
    auto [kind, n] = placeholder(w);
    if (kind == "out") {
      auto it = files.outputs.find("out_" + std::to_string(n));
      if (it == files.outputs.end()) return bad_command(w + " is not in output_files");
      out.push_back(it->second);
      outputs++;
      continue;
    }
    if (kind == "in") return bad_command(w + " must follow -i");
    if (w.size() < 2 || w[0] != '-')
      return bad_command("'" + w + "' is not allowed here: inputs are -i {{in_N}} and outputs {{out_N}}, nothing else names a file");
    const std::string name = w.substr(1), base = name.substr(0, name.find(':'));
    if (name == "i") {
      if (i + 1 == words.size()) return bad_command("-i needs an input");
      auto [k, in] = placeholder(words[++i]);
      if (k != "in") return bad_command("'-i " + words[i] + "' is not allowed: an input is -i {{in_N}}, one of the request's own files");
      if (in > int(files.inputs.size())) return bad_command(words[i] + " is not among the request's inputs");
      const auto& opts = files.input_options[size_t(in - 1)];
      out.insert(out.end(), opts.begin(), opts.end());
      out.push_back("-i");
      out.push_back(files.inputs[size_t(in - 1)]);
      continue;
    }
    if (listed(kFlags, base)) {
      if (base != "y") out.push_back(w);  // -y is ours already
      continue;
    }
    const bool codec = listed(kCodecOptions, base), filter = listed(kFilterOptions, base);
    if (!codec && !filter && !listed(kValued, base))
      return bad_command("Option " + w + " is not allowed (see docs/media.md for the options a command may use)");
    if (i + 1 == words.size()) return bad_command("Option " + w + " needs a value");
    const std::string& v = words[++i];
    if (v.find("{{") != std::string::npos) return bad_command("Placeholders stand alone: '" + v + "' is not allowed as a value");
    if (codec && !listed(kCodecs, v)) return bad_command("Codec '" + v + "' is not allowed (allowed: libx264, aac, copy, ...)");
    if (filter) {
      auto ok = check_filtergraph(v);
      if (!ok.ok()) return ok;
    }
    if (base == "threads" && (v.empty() || v.size() > 1 || v[0] < '1' || v[0] > '4'))
      return bad_command("-threads takes 1 to 4");
    out.push_back(w);
    out.push_back(v);
  }
  if (outputs == 0) return bad_command("The command writes no output: put {{out_1}} where the result goes");
  for (auto& [label, name] : files.outputs)
    if (std::find(out.begin(), out.end(), name) == out.end())
      return error(Code::invalid, "output_files names " + label + ", which the command never writes", "output_files");
  return out;
}

}  // namespace varg::media
