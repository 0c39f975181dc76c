// Groq's OpenAI-compatible audio API, `Authorization: Bearer <key>`, synchronous:
//   transcription POST {base}/openai/v1/audio/transcriptions  multipart {model, url, language?,
//                 response_format=verbose_json, ...provider_options} → {"text","language","duration",
//                 "segments",…}, kept as the JSON document itself.
// The audio goes by URL (Groq fetches it), as ElevenLabs' cloud_storage_url does.
#include "gen/providers/remote.h"

namespace varg {

namespace {

using json = nlohmann::json;

class GroqProvider final : public Provider {
 public:
  explicit GroqProvider(Upstream u) : up_(std::move(u)) {}

  Result<ProviderOutput> generate(ProviderCall& call) override {
    if (call.model.capability != "transcription") return up_.failure("no " + call.model.capability + " models");
    if (call.inputs.empty()) return up_.failure("no audio to transcribe");
    Multipart form;
    form.field("model", call.model.upstream);
    form.field("url", call.inputs[0].url);
    form.field("response_format", "verbose_json");
    if (auto lang = call.params.value("language", ""); !lang.empty()) form.field("language", lang);
    const json opts = call.params.value("provider_options", json::object());
    for (auto& [k, v] : opts.items())
      if (k != "model" && k != "url" && k != "file") form.field(k, v.is_string() ? v.get<std::string>() : v.dump());
    auto j = up_.call_json({"POST", up_.base_url + "/openai/v1/audio/transcriptions",
                            {{"Authorization", "Bearer " + call.api_key}, {"Content-Type", form.content_type()}},
                            form.finish()},
                           call.cancelled);
    if (!j.ok()) return j.status();
    return transcript_output(up_, *j);
  }

 private:
  Upstream up_;
};

}  // namespace

std::unique_ptr<Provider> make_groq_provider(Upstream u) { return std::make_unique<GroqProvider>(std::move(u)); }

}  // namespace varg
