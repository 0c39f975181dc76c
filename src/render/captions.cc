#include "render/captions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace varg::render {

using json = nlohmann::json;

namespace {

std::string node_text(const json& node) {
  std::string t;
  if (node.contains("meta") && node["meta"].contains("text") && node["meta"]["text"].is_string())
    return node["meta"]["text"].get<std::string>();
  for (auto& c : node.value("children", json::array()))
    if (c.is_string()) t += (t.empty() ? "" : " ") + c.get<std::string>();
  return t;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string ass_time(double t) {
  if (t < 0) t = 0;
  const int cs = int(std::lround(t * 100));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d:%02d:%02d.%02d", cs / 360000, (cs / 6000) % 60, (cs / 100) % 60, cs % 100);
  return buf;
}

std::string clean(const std::string& w) {
  std::string o;
  for (char c : w)
    if (c != '{' && c != '}' && c != '\\' && c != '\n' && c != '\r') o += c;
  return o;
}

}  // namespace

std::string ass_color(const std::string& css, const std::string& fallback) {
  if (css.size() == 7 && css[0] == '#' &&
      std::all_of(css.begin() + 1, css.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
    return "&H00" + css.substr(5, 2) + css.substr(3, 2) + css.substr(1, 2);
  static const std::pair<const char*, const char*> kNamed[] = {
      {"white", "&H00FFFFFF"}, {"black", "&H00000000"}, {"yellow", "&H0000FFFF"}, {"red", "&H000000FF"},
      {"green", "&H0000FF00"}, {"blue", "&H00FF0000"}, {"cyan", "&H00FFFF00"}, {"magenta", "&H00FF00FF"}};
  for (auto& [n, v] : kNamed)
    if (css == n) return v;
  return fallback;
}

std::vector<Word> caption_words(const json& node, double offset) {
  std::vector<Word> out;
  const json meta = node.value("meta", json::object());
  const double base = meta.value("start", 0.0);  // a segment's words are rebased to its start
  if (meta.contains("words") && meta["words"].is_array() && !meta["words"].empty()) {
    for (auto& w : meta["words"]) {
      if (!w.is_object()) continue;
      Word x{clean(w.value("word", w.value("text", std::string()))), w.value("start", 0.0) - base + offset,
             w.value("end", 0.0) - base + offset};
      if (!x.text.empty()) out.push_back(x);
    }
    return out;
  }
  const auto words = split_words(node_text(node));
  const double dur = meta.value("duration", 0.0) > 0 ? meta.value("duration", 0.0) : 3.0;
  size_t chars = 0;
  for (auto& w : words) chars += w.size() + 1;
  double t = offset;
  for (auto& w : words) {
    const double d = dur * double(w.size() + 1) / double(std::max<size_t>(chars, 1));
    out.push_back({clean(w), t, t + d});
    t += d;
  }
  return out;
}

std::string captions_ass(const std::vector<CaptionTrack>& tracks, int W, int H) {
  std::ostringstream o;
  o << "[Script Info]\nScriptType: v4.00+\nPlayResX: " << W << "\nPlayResY: " << H
    << "\nWrapStyle: 0\nScaledBorderAndShadow: yes\nYCbCr Matrix: TV.601\n\n[V4+ Styles]\n"
    << "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
       "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
       "MarginR, MarginV, Encoding\n";
  const double unit = std::min(W, H) / 1080.0;
  std::ostringstream events;
  for (size_t i = 0; i < tracks.size(); i++) {
    const json& p = tracks[i].props;
    const std::string style = p.value("style", std::string("tiktok"));
    const bool karaoke = style == "karaoke";
    const std::string pos = p.value("position", std::string("bottom"));
    const int align = pos == "top" ? 8 : pos == "center" ? 5 : 2;
    const int size = p.contains("fontSize") && p["fontSize"].is_number() ? int(p["fontSize"].get<double>())
                                                                            : int(std::lround((karaoke ? 56 : 72) * unit));
    const int margin = pos == "center" ? 0 : int(H * (karaoke ? 0.06 : 0.18));
    const std::string base = ass_color(p.value("color", std::string()), karaoke ? "&H00FFFFFF" : "&H00FFFFFF");
    const std::string active = ass_color(p.value("activeColor", std::string()), karaoke ? "&H0000FFFF" : "");
    const int per_line = std::max(1, p.contains("wordsPerLine") && p["wordsPerLine"].is_number()
                                         ? int(p["wordsPerLine"].get<double>()) : (karaoke ? 5 : 3));
    o << "Style: S" << i << ",DejaVu Sans," << std::max(8, size) << "," << base << ",&H000000FF,&H00000000,&H80000000,-1,0,0,0,100,100,0,0,1,"
      << std::max(1, int(std::lround(4 * unit))) << ",0," << align << ",40,40," << margin << ",1\n";
    const auto& words = tracks[i].words;
    for (size_t g = 0; g < words.size(); g += size_t(per_line)) {
      const size_t e = std::min(words.size(), g + size_t(per_line));
      const double group_end = e < words.size() ? words[e].start : words[e - 1].end;
      if (active.empty()) {
        std::string line;
        for (size_t k = g; k < e; k++) line += (k > g ? " " : "") + words[k].text;
        events << "Dialogue: 0," << ass_time(words[g].start) << "," << ass_time(std::max(group_end, words[g].start + 0.05))
               << ",S" << i << ",,0,0,0,," << line << "\n";
        continue;
      }
      for (size_t k = g; k < e; k++) {  // one event per word, the spoken word highlighted
        std::string line;
        for (size_t m = g; m < e; m++)
          line += (m > g ? " " : "") + (m == k ? "{\\c" + active + "&}" + words[m].text + "{\\c" + base + "&}" : words[m].text);
        const double end = k + 1 < e ? words[k + 1].start : group_end;
        events << "Dialogue: 0," << ass_time(words[k].start) << "," << ass_time(std::max(end, words[k].start + 0.05)) << ",S" << i
               << ",,0,0,0,," << line << "\n";
      }
    }
  }
  o << "\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n" << events.str();
  return o.str();
}

}  // namespace varg::render
