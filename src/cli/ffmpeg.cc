// varg ffmpeg trim | resize | slice | probe | run (SPEC 12): media processing on the gateway's
// ffmpeg. A local file given where a URL goes is uploaded first.
#include <iostream>

#include "cli/commands.h"
#include "cli/job_output.h"
#include "cli/output.h"

namespace varg::cli {
namespace {

struct MediaOptions {
  std::string url, start, end, duration, fit, codec, at, every, count, command, webhook, output;
  int width = 0, height = 0, timeout = 900;
  bool precise = false, no_thumbnails = false, no_download = false;
  std::vector<std::string> ranges, inputs, outputs;
};

Result<json> number(const std::string& text, const char* option) {
  try {
    size_t used = 0;
    const double d = std::stod(text, &used);
    if (used == text.size()) return json(d);
  } catch (const std::exception&) {
  }
  return client::local_error(std::string(option) + " must be a number of seconds, not '" + text + "'");
}

// A URL as is; a local path uploaded, then its URL.
Result<std::string> url_of(Client& c, const std::string& where) {
  if (where.starts_with("http://") || where.starts_with("https://")) return where;
  auto up = c.upload(where);
  if (!up.ok()) return up.error();
  return (*up)["url"].get<std::string>();
}

// "a=b" pairs of a repeatable option → {"a": "b"}.
Result<json> pairs(const std::vector<std::string>& items, const char* option) {
  json out = json::object();
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      return client::local_error(std::string(option) + " takes NAME=VALUE, not '" + item + "'");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

Result<json> request_of(Client& c, const std::string& op, const MediaOptions& o) {
  json req = json::object();
  if (!o.url.empty()) {
    auto url = url_of(c, o.url);
    if (!url.ok()) return url.error();
    req[op == "slice" ? "video_url" : "url"] = *url;
  }
  auto seconds = [&](const char* field, const std::string& text, const char* option) -> Result<bool> {
    if (text.empty()) return false;
    auto n = number(text, option);
    if (!n.ok()) return n.error();
    req[field] = *n;
    return true;
  };
  if (op == "trim") {
    for (auto [field, text, option] : {std::tuple{"start", &o.start, "--start"}, {"end", &o.end, "--end"}, {"duration", &o.duration, "--duration"}}) {
      auto set = seconds(field, *text, option);
      if (!set.ok()) return set.error();
    }
    if (o.precise) req["precise"] = true;
  } else if (op == "resize") {
    if (o.width) req["width"] = o.width;
    if (o.height) req["height"] = o.height;
    if (!o.fit.empty()) req["fit"] = o.fit;
  } else if (op == "slice") {
    auto every = seconds("every", o.every, "--every");
    if (!every.ok()) return every.error();
    if (!o.count.empty()) req["count"] = std::atoi(o.count.c_str());
    if (!o.at.empty()) {
      json at = json::array();
      size_t from = 0;
      while (from <= o.at.size()) {
        const size_t comma = std::min(o.at.find(',', from), o.at.size());
        auto t = number(o.at.substr(from, comma - from), "--at");
        if (!t.ok()) return t.error();
        at.push_back(*t);
        from = comma + 1;
      }
      req["at"] = at;
    }
    if (!o.ranges.empty()) {
      req["ranges"] = json::array();
      for (const auto& r : o.ranges) {
        const auto dash = r.find('-');
        auto s = number(r.substr(0, dash), "--range"), e = number(dash == std::string::npos ? "" : r.substr(dash + 1), "--range");
        if (!s.ok()) return s.error();
        if (!e.ok()) return e.error();
        req["ranges"].push_back({{"start", *s}, {"end", *e}});
      }
    }
    if (!o.codec.empty()) req["codec"] = o.codec;
    if (o.no_thumbnails) req["thumbnails"] = false;
  } else if (op == "command") {
    req["command"] = o.command;
    auto ins = pairs(o.inputs, "--input");
    if (!ins.ok()) return ins.error();
    for (auto& [label, where] : ins->items()) {
      auto url = url_of(c, where.get<std::string>());
      if (!url.ok()) return url.error();
      req["input_files"][label] = *url;
    }
    auto outs = pairs(o.outputs, "--output-file");
    if (!outs.ok()) return outs.error();
    if (!outs->empty()) req["output_files"] = *outs;
  }
  return req;
}

void print_segments(const json& job) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : job.value("output", json::object()).value("segments", json::array()))
    rows.push_back({field_text(s, "index"), field_text(s, "start"), field_text(s, "end"), field_text(s, "url"),
                    s.value("thumbnail", json::object()).value("url", "-")});
  print_table({"#", "START", "END", "VIDEO", "THUMBNAIL"}, rows);
}

int run(const Context& ctx, const std::string& op, const MediaOptions& o) {
  auto c = ctx.authenticated();
  if (!c.ok()) return fail(c.error());
  auto req = request_of(*c, op, o);
  if (!req.ok()) return fail(req.error());
  client::GenerateOptions opts;
  opts.webhook_url = o.webhook;
  auto started = c->media(op, *req, opts);
  if (!started.ok()) return fail(started.error());
  auto done = c->wait(*started, std::chrono::seconds(o.timeout), progress_line());
  clear_progress_line();
  if (!done.ok()) return fail(done.error());
  if (op == "slice" && done->completed() && !ctx.json) {
    print_segments(done->body);
    return 0;
  }
  return finish_job(ctx, *c, *done, o.output, !o.no_download);
}

CLI::App* media_command(CLI::App& parent, Context& ctx, const std::string& op, const char* description,
                        std::shared_ptr<MediaOptions> o) {
  CLI::App* cmd = command(parent, op == "command" ? "run" : op, description, ctx);
  if (op != "command") cmd->add_option("url", o->url, "The input: a URL or a local file to upload")->required();
  cmd->add_option("--webhook", o->webhook, "POST the finished job to this URL (signed, docs/webhooks.md)");
  cmd->add_option("-o,--output", o->output, "Where to save the result (default: <job id>.<ext> here)");
  cmd->add_flag("--no-download", o->no_download, "Do not download the result; print its URL");
  cmd->add_option("--timeout", o->timeout, "Seconds to wait for the job")->capture_default_str();
  on_run(cmd, ctx, [&ctx, op, o] { return run(ctx, op, *o); });
  return cmd;
}

}  // namespace

void add_ffmpeg_commands(CLI::App& app, Context& ctx) {
  CLI::App* ff = app.add_subcommand("ffmpeg", "Media processing on the gateway: trim, resize, slice, probe, run (5 credits each)");
  ff->require_subcommand(1);

  auto t = std::make_shared<MediaOptions>();
  CLI::App* trim = media_command(*ff, ctx, "trim", "Cut a piece of a video or audio file", t);
  trim->add_option("--start", t->start, "Start, seconds")->required();
  trim->add_option("--end", t->end, "End, seconds");
  trim->add_option("--duration", t->duration, "Or the length, seconds");
  trim->add_flag("--precise", t->precise, "Frame-accurate (re-encodes) instead of keyframe-aligned");

  auto r = std::make_shared<MediaOptions>();
  CLI::App* resize = media_command(*ff, ctx, "resize", "Scale a video or an image", r);
  resize->add_option("--width", r->width, "Target width, pixels");
  resize->add_option("--height", r->height, "Target height, pixels");
  resize->add_option("--fit", r->fit, "cover (default: fill and crop), contain (bars) or stretch");

  auto s = std::make_shared<MediaOptions>();
  CLI::App* slice = media_command(*ff, ctx, "slice", "Split a video into segments with first frames and thumbnails", s);
  slice->add_option("--every", s->every, "A segment every N seconds");
  slice->add_option("--at", s->at, "Cut at these seconds, comma-separated");
  slice->add_option("--count", s->count, "N equal segments");
  slice->add_option("--range", s->ranges, "START-END seconds (repeatable)");
  slice->add_option("--codec", s->codec, "copy (default, keyframe-aligned) or reencode (frame-accurate)");
  slice->add_flag("--no-thumbnails", s->no_thumbnails, "No first frame and thumbnail per segment");

  auto c = std::make_shared<MediaOptions>();
  CLI::App* cmd = media_command(*ff, ctx, "command", "Run an ffmpeg command with {{in_N}} and {{out_N}} placeholders", c);
  cmd->add_option("--command", c->command, "e.g. '-i {{in_1}} -vf eq=brightness=0.1 {{out_1}}'")->required();
  cmd->add_option("--input", c->inputs, "in_N=URL or local file (repeatable)");
  cmd->add_option("--output-file", c->outputs, "out_N=NAME.EXT (default out_1=output.mp4; repeatable)");

  auto p = std::make_shared<std::string>();
  CLI::App* probe = command(*ff, "probe", "Duration, size, codecs and frame rate of a media file", ctx);
  probe->add_option("url", *p, "A URL or a local file to upload")->required();
  on_run(probe, ctx, [&ctx, p] {
    return present(ctx, [p](Client& c) -> Result<json> {
      auto url = url_of(c, *p);
      if (!url.ok()) return url.error();
      return c.probe(*url);
    }, [](const json& m) {
      for (const char* f : {"duration", "width", "height", "codec", "audio_codec", "format", "bitrate", "fps", "size_bytes"})
        std::cout << f << ": " << field_text(m, f) << "\n";
    });
  });
}

}  // namespace varg::cli
