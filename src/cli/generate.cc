// varg image | video | speech | music | transcribe: one POST /v1/<capability>, then the job is
// polled to its end and its result downloaded (SPEC 6). One table says which options each takes.
#include <iostream>

#include "cli/commands.h"
#include "cli/job_output.h"
#include "cli/output.h"

namespace varg::cli {
namespace {

using client::Capability;

struct GenerationCommand {
  const char* name;
  Capability capability;
  const char* description;
  const char* input_flag;   // the main input's option
  const char* input_field;  // ... and its request field
  const char* input_help;
  bool input_required;
  bool aspect_ratio, duration, voice, files, language;
};

const GenerationCommand kCommands[] = {
    {"image", Capability::image, "Generate (or edit, with --file) an image", "--prompt", "prompt",
     "What to draw", true, true, false, false, true, false},
    {"video", Capability::video, "Generate a video (or lipsync/upscale with --file)", "--prompt", "prompt",
     "What happens in the video (may be empty for lipsync/upscale)", false, true, true, false, true, false},
    {"speech", Capability::speech, "Turn text into speech", "--text", "text", "The text to speak", true, false, false,
     true, false, false},
    {"music", Capability::music, "Generate music", "--prompt", "prompt", "What the music sounds like", true, false,
     true, false, false, false},
    {"transcribe", Capability::transcription, "Transcribe speech from an audio URL", "--audio-url", "audio_url",
     "The audio to transcribe (http(s) URL, e.g. from POST /v1/files)", true, false, false, false, false, true},
};

struct GenerationOptions {
  std::string model, input, aspect_ratio, duration, voice, language, provider_options, output, webhook;
  std::vector<std::string> files, provider_keys;
  bool no_cache = false, no_download = false;
  int timeout = 900;
};

// "5" -> 5, "2.5" -> 2.5: sent as a JSON number so the server can refuse what the model cannot do.
Result<json> number_of(const std::string& text, const char* option) {
  size_t used = 0;
  try {
    if (text.find_first_not_of("0123456789") == std::string::npos) return json(std::stoll(text, &used));
    const double d = std::stod(text, &used);
    if (used == text.size()) return json(d);
  } catch (const std::exception&) {
  }
  return client::local_error(std::string(option) + " must be a number, not '" + text + "'");
}

Result<json> request_of(const GenerationCommand& spec, const GenerationOptions& o) {
  json req = {{"model", o.model}};
  if (!o.input.empty() || std::string(spec.input_field) == "prompt") req[spec.input_field] = o.input;
  if (!o.aspect_ratio.empty()) req["aspect_ratio"] = o.aspect_ratio;
  if (!o.voice.empty()) req["voice"] = o.voice;
  if (!o.language.empty()) req["language"] = o.language;
  if (!o.duration.empty()) {
    auto d = number_of(o.duration, "--duration");
    if (!d.ok()) return d.error();
    req["duration"] = *d;
  }
  if (!o.files.empty()) {
    req["files"] = json::array();
    for (const auto& url : o.files) req["files"].push_back({{"url", url}});
  }
  if (!o.provider_options.empty()) {
    json po = json::parse(o.provider_options, nullptr, false);
    if (!po.is_object()) return client::local_error("--provider-options must be a JSON object");
    req["provider_options"] = po;
  }
  return req;
}

Result<client::GenerateOptions> call_options_of(const GenerationOptions& o) {
  client::GenerateOptions call;
  call.no_cache = o.no_cache;
  call.webhook_url = o.webhook;
  for (const auto& pk : o.provider_keys) {
    const auto eq = pk.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pk.size())
      return client::local_error("--provider-key takes PROVIDER=KEY, e.g. fal=fal_xxx");
    call.provider_keys[pk.substr(0, eq)] = pk.substr(eq + 1);
  }
  return call;
}

int generate(const Context& ctx, const GenerationCommand& spec, const GenerationOptions& o) {
  auto req = request_of(spec, o);
  if (!req.ok()) return fail(req.error());
  auto call = call_options_of(o);
  if (!call.ok()) return fail(call.error());
  auto c = ctx.authenticated();
  if (!c.ok()) return fail(c.error());
  // A --file that is not a URL is a local file: upload it first and send its URL.
  if (auto files = req->find("files"); files != req->end()) {
    for (auto& f : *files) {
      const std::string url = f["url"];
      if (url.starts_with("http://") || url.starts_with("https://")) continue;
      auto up = c->upload(url);
      if (!up.ok()) return fail(up.error());
      f["url"] = (*up)["url"];
    }
  }
  auto started = c->generate(spec.capability, *req, *call);
  if (!started.ok()) return fail(started.error());
  auto done = c->wait(*started, std::chrono::seconds(o.timeout), progress_line());
  clear_progress_line();
  if (!done.ok()) return fail(done.error());
  return finish_job(ctx, *c, *done, o.output, !o.no_download);
}

void add(CLI::App& app, Context& ctx, const GenerationCommand& spec) {
  auto o = std::make_shared<GenerationOptions>();
  CLI::App* cmd = command(app, spec.name, spec.description, ctx);
  cmd->add_option("--model,-m", o->model, "Model, plain (flux-pro) or provider:model (fal:flux-pro)")->required();
  auto* input = cmd->add_option(spec.input_flag, o->input, spec.input_help);
  if (spec.input_required) input->required();
  if (spec.aspect_ratio) cmd->add_option("--aspect-ratio", o->aspect_ratio, "e.g. 1:1, 16:9, 9:16");
  if (spec.duration) cmd->add_option("--duration", o->duration, "Length in seconds");
  if (spec.voice) cmd->add_option("--voice", o->voice, "Voice alias (rachel) or provider voice id");
  if (spec.language) cmd->add_option("--language", o->language, "Language of the audio, e.g. en");
  if (spec.files) cmd->add_option("--file", o->files, "Input file: a URL or a local file to upload (repeatable)");
  cmd->add_option("--provider-options", o->provider_options, "JSON object passed to the provider as is");
  cmd->add_option("--provider-key", o->provider_keys,
                  "PROVIDER=KEY: use your own provider key for this request only (0 credits)");
  cmd->add_option("--webhook", o->webhook, "POST the finished job to this URL (signed, docs/webhooks.md)");
  cmd->add_flag("--no-cache", o->no_cache, "Generate anew even if a cached result exists (Cache-Control: no-cache)");
  cmd->add_option("-o,--output", o->output, "Where to save the result (default: <job id>.<ext> here)");
  cmd->add_flag("--no-download", o->no_download, "Do not download the result; print its URL");
  cmd->add_option("--timeout", o->timeout, "Seconds to wait for the job")->capture_default_str();
  on_run(cmd, ctx, [&ctx, &spec, o] { return generate(ctx, spec, *o); });
}

}  // namespace

void add_generation_commands(CLI::App& app, Context& ctx) {
  for (const auto& spec : kCommands) add(app, ctx, spec);
}

}  // namespace varg::cli
