// Validation and normalization of generation requests (SPEC 6), and the cache key over them.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/permissions.h"
#include "common/status.h"
#include "gen/catalog.h"

namespace varg {

struct GenRequest {
  const ModelSpec* model = nullptr;
  nlohmann::json params;  // defaults applied; what the provider receives and the cache key covers
  std::vector<nlohmann::json> files;  // [{url, media_type?}] inputs (audio_url included)

  int64_t credits() const;  // its price on the gateway's pooled key
};

// What the generate permission's constraints see of a generation (SPEC 5): {model, credits}.
nlohmann::json generate_attrs(const ModelSpec& model, int64_t credits);

// The key's right to generate `capability` with `model` at `credits` (generate /
// api.generate.<capability>, with its constraints); 403 otherwise. A null document is full rights.
Status check_generate_right(const std::shared_ptr<const Permissions>& permissions, const std::string& capability,
                            const ModelSpec& model, int64_t credits);

// 400 naming the field for an unknown model, a missing or mistyped field, or a duration the model
// does not accept.
Result<GenRequest> normalize_request(const std::string& capability, const nlohmann::json& body, const Catalog& catalog);

// "sha256:<hex>" over capability, qualified model, normalized params and the inputs' content
// hashes (in order) — never a key. `scope_user` is 0 for the global scope.
std::string cache_key(const std::string& capability, const ModelSpec& model, const nlohmann::json& params,
                      const std::vector<std::string>& input_hashes, int64_t scope_user);

}  // namespace varg
