// The remote providers vargd speaks to, in one table: adding one is its adapter, a line here in
// remote.cc and its source in src/gen/CMakeLists.txt (docs/providers.md). Everything else — the
// --NAME-key and --NAME-url settings, the provider's own environment variable, the
// X-Provider-Key-NAME header, PUT /api/provider-keys/NAME — follows from the table.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "gen/provider.h"
#include "gen/upstream.h"

namespace varg {

struct RemoteProvider {
  std::string name;         // as the catalog names it: "fal"
  std::string title;        // for people: "fal", "ElevenLabs"
  std::string key_env;      // the provider's own variable for a pooled key: "FAL_KEY"
  std::string default_url;  // its public API host
  std::unique_ptr<Provider> (*make)(Upstream);
};

const std::vector<RemoteProvider>& remote_providers();

// A transcription answer kept as the result: its JSON document, which must carry the `text`.
Result<ProviderOutput> transcript_output(const Upstream& up, const nlohmann::json& answer);

// The adapters, each speaking its provider's public API.
std::unique_ptr<Provider> make_fal_provider(Upstream u);
std::unique_ptr<Provider> make_elevenlabs_provider(Upstream u);
std::unique_ptr<Provider> make_replicate_provider(Upstream u);
std::unique_ptr<Provider> make_higgsfield_provider(Upstream u);
std::unique_ptr<Provider> make_groq_provider(Upstream u);

}  // namespace varg
