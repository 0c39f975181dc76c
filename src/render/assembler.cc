#include "render/assembler.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "render/captions.h"
#include "common/child_process.h"

namespace varg::render {

using json = nlohmann::json;

std::string xfade_name(const std::string& name) {
  static const char* const kNative[] = {
      "fade", "wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "slideright", "slideup", "slidedown",
      "circlecrop", "rectcrop", "distance", "fadeblack", "fadewhite", "radial", "smoothleft", "smoothright",
      "smoothup", "smoothdown", "circleopen", "circleclose", "vertopen", "vertclose", "horzopen", "horzclose",
      "dissolve", "pixelize", "diagtl", "diagtr", "diagbl", "diagbr", "hlslice", "hrslice", "vuslice", "vdslice",
      "hblur", "fadegrays", "wipetl", "wipetr", "wipebl", "wipebr", "squeezeh", "squeezev", "zoomin"};
  for (auto* n : kNative)
    if (name == n) return name;
  static const std::pair<const char*, const char*> kAlias[] = {
      {"crossfade", "fade"}, {"cube", "smoothleft"}, {"directionalwipe", "wipeleft"}, {"hlwind", "slideleft"},
      {"hrwind", "slideright"}, {"vuwind", "slideup"}, {"vdwind", "slidedown"}, {"coverleft", "slideleft"},
      {"coverright", "slideright"}, {"coverup", "slideup"}, {"coverdown", "slidedown"}, {"revealleft", "wipeleft"},
      {"revealright", "wiperight"}, {"revealup", "wipeup"}, {"revealdown", "wipedown"}, {"fadefast", "fade"},
      {"fadeslow", "fade"}, {"zoom", "zoomin"}};
  for (auto& [a, n] : kAlias)
    if (name == a) return n;
  return "fade";
}

namespace {

struct Clip {
  json node;
  std::vector<json> kids;  // dereferenced children, plus audio/captions deferred from a container
  double start = 0, dur = 4, trans = 0;
  std::string trans_name;
};

struct Audio {
  std::string id;
  double at = 0, from = 0, to = -1, volume = 1;
  bool speech = false, loop = false;
};

struct Graph {
  std::vector<std::string> args;  // -i inputs
  std::ostringstream f;
  int inputs = 0, labels = 0;
  std::string label(const char* p) { return std::string(p) + std::to_string(labels++); }
};

std::string num(double v) {
  std::ostringstream o;
  o.precision(6);
  o << std::fixed << v;
  std::string s = o.str();
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

int even(double v) { return std::max(2, int(std::lround(v / 2)) * 2); }

// A CSS-ish colour for drawtext: #RRGGBB → 0xRRGGBB; names pass if they are plain words.
std::string ff_color(const std::string& c, const char* fallback) {
  if (c.size() == 7 && c[0] == '#' && std::all_of(c.begin() + 1, c.end(), [](char x) { return std::isxdigit((unsigned char)x); }))
    return "0x" + c.substr(1);
  if (!c.empty() && c.size() < 20 && std::all_of(c.begin(), c.end(), [](char x) { return std::isalpha((unsigned char)x); })) return c;
  return fallback;
}

double size_value(const json& v, double whole, double fallback) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    try {
      if (s.ends_with("%")) return std::stod(s.substr(0, s.size() - 1)) / 100.0 * whole;
      if (s.ends_with("px")) return std::stod(s.substr(0, s.size() - 2));
      return std::stod(s);
    } catch (...) {
    }
  }
  return fallback;
}

std::string fit(const std::string& mode, int w, int h, Graph& g) {
  const std::string W = std::to_string(w), H = std::to_string(h);
  if (mode == "contain") return "scale=" + W + ":" + H + ":force_original_aspect_ratio=decrease,pad=" + W + ":" + H + ":(ow-iw)/2:(oh-ih)/2";
  if (mode == "stretch" || mode == "fill") return "scale=" + W + ":" + H;
  if (mode == "contain-blur") {
    const std::string a = g.label("cba"), b = g.label("cbb"), bg = g.label("cbg"), fg = g.label("cfg");
    return "split[" + a + "][" + b + "];[" + a + "]scale=" + W + ":" + H + ":force_original_aspect_ratio=increase,crop=" + W + ":" +
           H + ",boxblur=20:5[" + bg + "];[" + b + "]scale=" + W + ":" + H + ":force_original_aspect_ratio=decrease[" + fg +
           "];[" + bg + "][" + fg + "]overlay=(main_w-overlay_w)/2:(main_h-overlay_h)/2";
  }
  return "scale=" + W + ":" + H + ":force_original_aspect_ratio=increase,crop=" + W + ":" + H;
}

int h_default(int w, int W, int H) { return int(double(w) * H / W); }

bool positioned(const json& n) {
  const json p = n.value("props", json::object());
  return n.value("type", "") == "layer" || n.value("type", "") == "overlay" || p.contains("left") || p.contains("top") ||
         p.contains("width") || p.contains("height");
}

// ---- stage 1, the typed composition: the evaluator's tree indexed, its clips and their timing ----

struct Composition {
  explicit Composition(const AssembleJob& j) : job(j) {}
  const AssembleJob& job;
  std::map<std::string, json> nodes;  // by id, so that {"$ref"} resolves
  int W = 0, H = 0, F = 0;
  std::vector<Clip> clips;             // leaf clips, containers flattened
  std::vector<json> top_level;         // the <Render>'s own speech, music and captions
  double total = 0;                    // seconds

  json deref(const json& n) const {
    if (n.is_object() && n.contains("$ref") && n["$ref"].is_string())
      if (auto it = nodes.find(n["$ref"].get<std::string>()); it != nodes.end()) return it->second;
    return n;
  }
  const LocalMedia* media(const json& n) const {
    auto it = job.media.find(n.value("id", ""));
    return it == job.media.end() ? nullptr : &it->second;
  }
  double frames(double d) const { return std::max(1.0, std::round(d * F)) / F; }
};

void index_nodes(const json& n, std::map<std::string, json>& nodes) {
  if (n.is_array()) {
    for (auto& x : n) index_nodes(x, nodes);
    return;
  }
  if (!n.is_object()) return;
  if (n.contains("type") && n.contains("id") && n["id"].is_string() && !nodes.count(n["id"])) nodes[n["id"]] = n;
  for (auto& [k, v] : n.items())
    if (k != "meta") index_nodes(v, nodes);
}

// Leaf clips in order; a container's audio and captions move to its first leaf.
void flatten(Composition& c, const json& clip, std::vector<json> deferred) {
  std::vector<json> kids, inner;
  for (auto& k : clip.value("children", json::array())) {
    json n = c.deref(k);
    if (!n.is_object()) continue;
    (n.value("type", "") == "clip" ? inner : kids).push_back(n);
  }
  if (inner.empty()) {
    Clip x{clip, kids, 0, 4, 0, ""};
    for (auto& d : deferred) x.kids.push_back(d);
    c.clips.push_back(std::move(x));
    return;
  }
  for (auto& k : kids)
    if (k.value("type", "") != "image" && k.value("type", "") != "video") deferred.push_back(k);
  for (size_t i = 0; i < inner.size(); i++) flatten(c, inner[i], i == 0 ? deferred : std::vector<json>{});
}

// A clip lasts its duration prop (no longer than its video), else its video, else its speech, else 4 s.
double clip_duration(const Composition& c, const Clip& clip) {
  const json p = clip.node.value("props", json::object());
  double vlen = 0, slen = 0;
  for (auto& k : clip.kids) {
    json n = k.value("type", "") == "layer" || k.value("type", "") == "overlay"
                 ? c.deref(k.value("children", json::array()).empty() ? json() : k["children"][0])
                 : k;
    const LocalMedia* m = c.media(n);
    if (n.value("type", "") == "video" && m && vlen == 0) {
      const json vp = n.value("props", json::object());
      const double from = vp.value("cutFrom", p.value("cutFrom", 0.0));
      double to = vp.value("cutTo", p.value("cutTo", m->duration));
      vlen = std::max(0.0, std::min(to, m->duration) - from);
    }
    if (n.value("type", "") == "speech" && m) slen = std::max(slen, n.value("meta", json::object()).value("duration", m->duration));
  }
  double d = vlen > 0 ? vlen : slen > 0 ? slen : 4.0;
  if (p.contains("duration") && p["duration"].is_number() && p["duration"].get<double>() > 0) {
    d = p["duration"].get<double>();
    if (vlen > 0 && vlen < d) d = vlen;
  }
  return c.frames(std::min(d, 600.0));
}

Result<Composition> timeline(const AssembleJob& job) {
  Composition c(job);
  index_nodes(job.tree, c.nodes);
  auto frame = frame_of(job.tree.value("props", json::object()), job.limits);
  if (!frame.ok()) return frame.status();
  c.W = even(frame->width), c.H = even(frame->height), c.F = frame->fps;
  for (auto& k : job.tree.value("children", json::array())) {
    json n = c.deref(k);
    if (!n.is_object()) continue;
    if (n.value("type", "") == "clip") flatten(c, n, {});
    else c.top_level.push_back(n);
  }
  if (c.clips.empty()) return error(Code::invalid, "The composition has no <Clip>");
  for (auto& clip : c.clips) {
    clip.dur = clip_duration(c, clip);
    const json t = clip.node.value("props", json::object()).value("transition", json());
    if (t.is_object() || t.is_string()) {
      clip.trans_name = xfade_name(t.is_string() ? t.get<std::string>() : t.value("name", std::string("fade")));
      clip.trans = t.is_object() && t.contains("duration") && t["duration"].is_number() ? t["duration"].get<double>() : 0.5;
    }
  }
  // A transition overlaps two clips: it fits in both and never follows the last one.
  double acc = 0;
  for (size_t i = 0; i < c.clips.size(); i++) {
    Clip& x = c.clips[i];
    if (i + 1 == c.clips.size() || x.trans_name.empty()) x.trans = 0;
    if (x.trans > 0)
      x.trans = c.frames(std::clamp(x.trans, 0.0, std::min(x.dur, i + 1 < c.clips.size() ? c.clips[i + 1].dur : 0.0) - 1.0 / c.F));
    if (x.trans < 1.0 / c.F) x.trans = 0;
    x.start = acc;
    acc += x.dur - x.trans;
  }
  c.total = acc + c.clips.back().trans;
  VARG_TRY(check_length(c.clips.size(), c.total, job.limits));
  return c;
}

// ---- stages 2-4 write one filter graph: each clip's layers, the transitions, the audio ----

struct Assembly {
  explicit Assembly(const Composition& comp) : c(comp) {}
  const Composition& c;
  Graph g;
  std::vector<Audio> audio;
  std::vector<CaptionTrack> captions;
  std::set<std::string> audio_ids;
  int text_files = 0;

  int add_input(const std::vector<std::string>& a) {
    for (auto& x : a) g.args.push_back(x);
    return g.inputs++;
  }

  void add_speech_or_music(const json& n, double at, bool render_level) {
    const LocalMedia* m = c.media(n);
    if (!m || audio_ids.count(n.value("id", ""))) return;
    const json p = n.value("props", json::object());
    const json meta = n.value("meta", json::object());
    Audio a{n.value("id", ""), at + p.value("start", 0.0), meta.value("start", p.value("cutFrom", 0.0)),
            meta.contains("end") ? meta.value("end", -1.0) : p.value("cutTo", -1.0), p.value("volume", 1.0),
            n.value("type", "") == "speech", p.value("loop", false)};
    if (!a.speech && render_level && p.contains("duration") && p["duration"].is_number()) a.to = a.from + p["duration"].get<double>();
    audio_ids.insert(a.id);
    audio.push_back(a);
  }

  void add_captions(const json& n, double anchor) {
    const json p = n.value("props", json::object());
    json src = c.deref(p.value("src", json()));
    if (!src.is_object()) return;
    captions.push_back({caption_words(src, anchor), p});
    if (p.value("withAudio", false)) add_speech_or_music(src, anchor, false);
  }

  // A still (Ken Burns when it fills the frame) or a video, fitted to w×h, lasting the clip.
  std::string visual(const Clip& clip, size_t ci, const json& n, int w, int h, const std::string& resize, bool kenburns) {
    const LocalMedia* m = c.media(n);
    const json p = n.value("props", json::object());
    const json cp = clip.node.value("props", json::object());
    const std::string out = g.label("m"), D = num(clip.dur);
    const int F = c.F;
    if (n.value("type", "") == "video") {
      const double from = p.value("cutFrom", cp.value("cutFrom", 0.0));
      const int k = add_input({"-i", m->path});
      g.f << "[" << k << ":v]trim=start=" << num(from) << ",setpts=PTS-STARTPTS,fps=" << F << "," << fit(resize, w, h, g)
          << ",setsar=1,tpad=stop_mode=clone:stop_duration=" << D << ",trim=duration=" << D << ",format=yuv420p,settb=1/" << F
          << "[" << out << "];\n";
      if (p.value("keepAudio", false) && m->has_audio)
        audio.push_back({n.value("id", "") + "#" + std::to_string(ci), clip.start, from, from + clip.dur, p.value("volume", 1.0), false, false});
      return out;
    }
    const std::string zoom = p.contains("zoom") ? (p["zoom"].is_string() ? p["zoom"].get<std::string>() : "none") : "in";
    if (kenburns && zoom != "none" && (resize.empty() || resize == "cover")) {
      const int k = add_input({"-i", m->path});
      const int N = int(std::lround(clip.dur * F));
      std::string z = "1+0.1*on/" + std::to_string(N), x = "trunc((iw-iw/zoom)/2)";
      if (zoom == "out") z = "1.1-0.1*on/" + std::to_string(N);
      if (zoom == "left" || zoom == "right") {
        z = "1.1";
        x = zoom == "left" ? "trunc((iw-iw/zoom)*(1-on/" + std::to_string(N) + "))" : "trunc((iw-iw/zoom)*on/" + std::to_string(N) + ")";
      }
      g.f << "[" << k << ":v]scale=" << 2 * w << ":" << 2 * h << ":force_original_aspect_ratio=increase,crop=" << 2 * w << ":" << 2 * h
          << ",zoompan=z='" << z << "':x='" << x << "':y='trunc((ih-ih/zoom)/2)':d=" << N << ":s=" << w << "x" << h << ":fps=" << F
          << ",setsar=1,trim=end_frame=" << N << ",format=yuv420p,settb=1/" << F << "[" << out << "];\n";
      return out;
    }
    const int k = add_input({"-loop", "1", "-framerate", std::to_string(F), "-t", D, "-i", m->path});
    g.f << "[" << k << ":v]" << fit(resize, w, h, g) << ",setsar=1,fps=" << F << ",trim=duration=" << D
        << ",format=yuv420p,settb=1/" << F << "[" << out << "];\n";
    return out;
  }

  // A <Title> or <Subtitle> as a drawtext filter (the text from a file: no escaping to get wrong).
  std::string text(const Clip& clip, const json& k) {
    const json p = k.value("props", json::object());
    std::string t;
    for (auto& x : k.value("children", json::array()))
      if (x.is_string()) t += x.get<std::string>();
    if (t.empty()) return "";
    const std::string file = "text" + std::to_string(text_files++) + ".txt";
    std::ofstream(c.job.workdir + "/" + file, std::ios::binary) << t;
    const int W = c.W, H = c.H;
    const double len = double(std::max<size_t>(t.size(), 1));
    const bool sub = k.value("type", "") == "subtitle";
    const int size = sub ? int(std::min(W, H) * 0.045) : int(std::clamp(0.9 * W / (len * 0.55), 16.0, std::min(W, H) * 0.08));
    const std::string pos = p.value("position", std::string(sub ? "bottom" : "center"));
    std::string yexpr = sub ? "h*0.85-text_h/2" : pos.starts_with("top") ? "h*0.1" : pos.starts_with("bottom") ? "h*0.9-text_h" : "(h-text_h)/2";
    std::string xexpr = pos.ends_with("left") ? "w*0.1" : pos.ends_with("right") ? "w*0.9-text_w" : "(w-text_w)/2";
    const double s = p.value("start", 0.0), e = p.value("end", clip.dur);
    return ",drawtext=fontfile=" + c.job.font + ":textfile=" + file + ":expansion=none:fontsize=" + std::to_string(size) +
           ":fontcolor=" + ff_color(p.value("color", std::string()), "white") + ":x=" + xexpr + ":y=" + yexpr +
           (sub ? ":box=1:boxcolor=black@0.7:boxborderw=12"
                : ":borderw=" + std::to_string(std::max(2, int(p.value("outline", size / 18.0)))) + ":bordercolor=" +
                      ff_color(p.value("outlineColor", std::string()), "black")) +
           ":enable='between(t," + num(s) + "," + num(e) + ")'";
  }

  // Stage 2, layers: a clip's picture (full-frame media stacked, then positioned layers, then
  // texts on top); its speech, music and captions are registered for stage 4.
  std::string layers(size_t ci) {
    const Clip& clip = c.clips[ci];
    const int W = c.W, H = c.H, F = c.F;
    const std::string D = num(clip.dur);
    std::string cur = g.label("base");
    bool have_base = false;
    for (auto& k : clip.kids) {
      const std::string type = k.value("type", "");
      if ((type == "image" || type == "video") && !positioned(k) && c.media(k)) {
        const std::string layer = visual(clip, ci, k, W, H, k.value("props", json::object()).value("resize", std::string()), true);
        if (!have_base) {
          cur = layer;
          have_base = true;
        } else {
          const std::string next = g.label("ov");
          g.f << "[" << cur << "][" << layer << "]overlay=0:0:eof_action=repeat[" << next << "];\n";
          cur = next;
        }
      }
    }
    if (!have_base) g.f << "color=c=black:s=" << W << "x" << H << ":r=" << F << ":d=" << D << ",format=yuv420p,settb=1/" << F << "[" << cur << "];\n";
    std::string tail;  // texts drawn on top, clip-relative times
    for (auto& k : clip.kids) {
      const std::string type = k.value("type", "");
      const json p = k.value("props", json::object());
      if (positioned(k) && type != "title" && type != "subtitle") {
        json inner = type == "layer" || type == "overlay" ? (k.value("children", json::array()).empty() ? json() : c.deref(k["children"][0])) : k;
        if (!inner.is_object() || !c.media(inner)) continue;
        const int w = even(size_value(p.value("width", json()), W, W * 0.3));
        const int h = even(size_value(p.value("height", json()), H, h_default(w, W, H)));
        const int x = int(size_value(p.value("left", json()), W, 0)), y = int(size_value(p.value("top", json()), H, 0));
        const std::string layer =
            visual(clip, ci, inner, w, h, p.value("resize", inner.value("props", json::object()).value("resize", std::string("cover"))), false);
        const std::string next = g.label("pl");
        g.f << "[" << cur << "][" << layer << "]overlay=" << x << ":" << y << ":eof_action=repeat[" << next << "];\n";
        cur = next;
      } else if (type == "title" || type == "subtitle") {
        tail += text(clip, k);
      } else if (type == "speech" || type == "music") {
        add_speech_or_music(k, clip.start, false);
      } else if (type == "captions") {
        add_captions(k, clip.start);
      }
    }
    const std::string out = g.label("clip");
    g.f << "[" << cur << "]null" << tail << ",trim=duration=" << D << ",fps=" << F << ",format=yuv420p,settb=1/" << F << "[" << out << "];\n";
    return out;
  }

  // Stage 3, transitions: xfade where the earlier clip asks for one, else a hard cut; then the
  // captions burnt in. Writes [vout].
  void transitions(const std::vector<std::string>& clip_labels) {
    const int F = c.F;
    std::string video = clip_labels[0];
    double at = c.clips[0].dur;
    for (size_t i = 1; i < c.clips.size(); i++) {
      const Clip &prev = c.clips[i - 1], &cur = c.clips[i];
      const std::string next = g.label("j");
      if (prev.trans > 0) {
        g.f << "[" << video << "][" << clip_labels[i] << "]xfade=transition=" << prev.trans_name << ":duration=" << num(prev.trans)
            << ":offset=" << num(at - prev.trans) << ",settb=1/" << F << "[" << next << "];\n";
        at += cur.dur - prev.trans;
      } else {
        g.f << "[" << video << "][" << clip_labels[i] << "]concat=n=2:v=1:a=0,settb=1/" << F << "[" << next << "];\n";
        at += cur.dur;
      }
      video = next;
    }
    std::string burn;
    if (!captions.empty()) {
      std::ofstream(c.job.workdir + "/captions.ass", std::ios::binary) << captions_ass(captions, c.W, c.H);
      burn = ",subtitles=filename=captions.ass";
    }
    g.f << "[" << video << "]null" << burn << ",trim=duration=" << num(c.total) << ",format=yuv420p[vout];\n";
  }

  std::string mix(const std::vector<std::string>& ls) {
    if (ls.size() == 1) return ls[0];
    const std::string l = g.label("mix");
    for (auto& x : ls) g.f << "[" << x << "]";
    g.f << "amix=inputs=" << ls.size() << ":normalize=0:duration=longest[" << l << "];\n";
    return l;
  }

  // Stage 4, audio: speech summed; music and video sound ducked under it. Writes [aout].
  void audio_mix() {
    const double T = c.total;
    std::vector<std::string> speech, other;
    for (auto& a : audio) {
      auto it = c.job.media.find(a.id.substr(0, a.id.find('#')));
      if (it == c.job.media.end()) continue;
      const int k = add_input({"-i", it->second.path});
      const std::string l = g.label("a");
      const double to = a.loop ? -1 : a.to;
      g.f << "[" << k << ":a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
          << (a.loop ? ",aloop=loop=-1:size=2147483647" : "") << ",atrim=start=" << num(a.from)
          << (to > a.from ? ":end=" + num(to) : "") << ",asetpts=PTS-STARTPTS,atrim=duration=" << num(std::max(0.05, T - a.at))
          << ",volume=" << num(a.volume) << ",adelay=" << int(std::lround(a.at * 1000)) << ":all=1[" << l << "];\n";
      (a.speech ? speech : other).push_back(l);
    }
    std::vector<std::string> finals;
    if (!speech.empty() && !other.empty()) {
      const std::string s = mix(speech), o = mix(other), s1 = g.label("s"), sc = g.label("sc"), d = g.label("duck");
      g.f << "[" << s << "]asplit[" << s1 << "][" << sc << "];\n[" << o << "][" << sc
          << "]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[" << d << "];\n";
      finals = {s1, d};
    } else {
      for (auto& x : speech) finals.push_back(x);
      for (auto& x : other) finals.push_back(x);
    }
    if (finals.empty()) {
      g.f << "anullsrc=r=48000:cl=stereo,atrim=duration=" << num(T) << "[aout]";
    } else {
      const std::string all = mix(finals);  // written first: it adds its own line to the graph
      g.f << "[" << all << "]apad,atrim=duration=" << num(T) << ",asetpts=PTS-STARTPTS[aout]";
    }
  }
};

// ---- stage 5, encode: one ffmpeg run over the graph, under the render's limits ----

Result<Assembled> encode(const Assembly& a, const std::atomic<bool>& cancelled) {
  const AssembleJob& job = a.c.job;
  std::vector<std::string> argv = {job.ffmpeg, "-nostdin", "-y", "-hide_banner", "-loglevel", "error"};
  for (auto& x : a.g.args) argv.push_back(x);
  std::ofstream(job.workdir + "/graph.txt", std::ios::binary) << a.g.f.str();
  for (std::string x : {"-filter_complex_script", "graph.txt", "-map", "[vout]", "-map", "[aout]", "-r"}) argv.push_back(x);
  argv.push_back(std::to_string(a.c.F));
  for (std::string x : {"-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-threads", "2",
                        "-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-movflags", "+faststart", "-t"})
    argv.push_back(x);
  argv.push_back(num(a.c.total));
  argv.push_back("out.mp4");
  auto r = run_captured(argv, "", job.deadline, &cancelled, job.ffmpeg_limits, job.workdir);
  if (!r.ok()) return r.status();
  if (!r->exited_ok()) return error(Code::internal, "ffmpeg failed: " + r->err.substr(0, 600));
  return Assembled{job.workdir + "/out.mp4", a.c.total, a.c.W, a.c.H, a.c.F};
}

}  // namespace

Result<Assembled> assemble(const AssembleJob& job, const std::atomic<bool>& cancelled) {
  auto comp = timeline(job);
  if (!comp.ok()) return comp.status();
  Assembly a(*comp);
  std::vector<std::string> clip_labels;
  for (size_t i = 0; i < comp->clips.size(); i++) clip_labels.push_back(a.layers(i));
  for (auto& k : comp->top_level) {
    const std::string type = k.value("type", "");
    if (type == "speech" || type == "music") a.add_speech_or_music(k, 0, true);
    if (type == "captions") a.add_captions(k, 0);
  }
  a.transitions(clip_labels);
  a.audio_mix();
  return encode(a, cancelled);
}

}  // namespace varg::render
