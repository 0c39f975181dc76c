#include "gen/providers/remote.h"

namespace varg {

Result<ProviderOutput> transcript_output(const Upstream& up, const nlohmann::json& answer) {
  if (!answer.contains("text") || !answer["text"].is_string()) return up.failure("the transcript has no text");
  return ProviderOutput{answer.dump(), ""};
}

const std::vector<RemoteProvider>& remote_providers() {
  static const std::vector<RemoteProvider> v = {
      {"fal", "fal", "FAL_KEY", "https://queue.fal.run", make_fal_provider},
      {"elevenlabs", "ElevenLabs", "ELEVENLABS_API_KEY", "https://api.elevenlabs.io", make_elevenlabs_provider},
      {"higgsfield", "Higgsfield", "HIGGSFIELD_API_KEY", "https://platform.higgsfield.ai", make_higgsfield_provider},
      {"replicate", "Replicate", "REPLICATE_API_TOKEN", "https://api.replicate.com", make_replicate_provider},
      {"groq", "Groq", "GROQ_API_KEY", "https://api.groq.com", make_groq_provider},
  };
  return v;
}

}  // namespace varg
