// ElevenLabs' REST API, `xi-api-key` header, every call synchronous:
//   speech        POST {base}/v1/text-to-speech/{voice_id}?output_format=…  {"text","model_id",…} → audio bytes
//   music         POST {base}/v1/music?output_format=…  {"prompt","music_length_ms","model_id"} → audio bytes
//   transcription POST {base}/v1/speech-to-text  multipart {model_id, cloud_storage_url, language_code?}
//                 → {"text","language_code","words",…}, kept as the JSON document itself.
// provider_options go into the JSON body as they are (voice_settings, seed, force_instrumental…);
// `output_format` among them selects the query parameter instead.
#include "gen/providers/remote.h"

namespace varg {

namespace {

using json = nlohmann::json;

// The media type of an ElevenLabs output_format such as mp3_44100_128 or pcm_16000.
std::string media_type_of(const std::string& format) {
  if (format.starts_with("mp3")) return "audio/mpeg";
  if (format.starts_with("opus")) return "audio/ogg";
  if (format.starts_with("wav")) return "audio/wav";
  if (format.starts_with("ulaw") || format.starts_with("alaw")) return "audio/basic";
  return "audio/L16";  // pcm_*: raw 16-bit little-endian samples
}

class ElevenLabsProvider final : public Provider {
 public:
  explicit ElevenLabsProvider(Upstream u) : up_(std::move(u)) {}

  Result<ProviderOutput> generate(ProviderCall& call) override {
    const std::string& cap = call.model.capability;
    if (cap == "speech" || cap == "music") return audio(call);
    if (cap == "transcription") return transcribe(call);
    return up_.failure("no " + cap + " models");
  }

 private:
  Result<ProviderOutput> audio(ProviderCall& call) {
    const json& p = call.params;
    json body = p.value("provider_options", json::object());
    std::string format = "mp3_44100_128";
    if (body.contains("output_format") && body["output_format"].is_string()) format = body["output_format"];
    body.erase("output_format");
    body["model_id"] = call.model.upstream;
    std::string path;
    if (call.model.capability == "speech") {
      body["text"] = p.value("text", "");
      path = "/v1/text-to-speech/" + url_encode(p.value("voice", ""));
    } else {
      body["prompt"] = p.value("prompt", "");
      body["music_length_ms"] = p.value("duration", call.model.default_duration) * 1000;
      path = "/v1/music";
    }
    const std::string want = media_type_of(format);
    auto r = up_.call({"POST", up_.base_url + path + "?output_format=" + url_encode(format),
                       {{"xi-api-key", call.api_key}, {"Content-Type", "application/json"}, {"Accept", want}},
                       body.dump()},
                      call.cancelled);
    if (!r.ok()) return r.status();
    std::string type = r->header("content-type");
    type = type.substr(0, type.find(';'));
    if (!type.empty() && !type.starts_with("audio/") && type != "application/octet-stream")
      return up_.failure("the provider answered with " + type + " instead of audio");
    if (r->body.empty()) return up_.failure("the provider answered with no audio");
    return ProviderOutput{std::move(r->body), ""};
  }

  Result<ProviderOutput> transcribe(ProviderCall& call) {
    if (call.inputs.empty()) return up_.failure("no audio to transcribe");
    Multipart form;
    form.field("model_id", call.model.upstream);
    form.field("cloud_storage_url", call.inputs[0].url);
    if (auto lang = call.params.value("language", ""); !lang.empty()) form.field("language_code", lang);
    const json opts = call.params.value("provider_options", json::object());
    for (auto& [k, v] : opts.items())
      form.field(k, v.is_string() ? v.get<std::string>() : v.dump());
    auto j = up_.call_json({"POST", up_.base_url + "/v1/speech-to-text",
                            {{"xi-api-key", call.api_key}, {"Content-Type", form.content_type()}}, form.finish()},
                           call.cancelled);
    if (!j.ok()) return j.status();
    return transcript_output(up_, *j);
  }

  Upstream up_;
};

}  // namespace

std::unique_ptr<Provider> make_elevenlabs_provider(Upstream u) {
  return std::make_unique<ElevenLabsProvider>(std::move(u));
}

}  // namespace varg
