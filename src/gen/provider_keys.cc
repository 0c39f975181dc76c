#include "gen/provider_keys.h"

#include <algorithm>

#include "common/crypto.h"
#include "common/text.h"
#include "gen/providers/remote.h"

namespace varg {

const std::vector<std::string>& byok_providers() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> names;
    for (auto& p : remote_providers()) names.push_back(p.name);
    return names;
  }();
  return v;
}

std::string provider_key_header(const std::string& provider) { return "x-provider-key-" + provider; }

Status ProviderKeys::save(int64_t user_id, const std::string& provider, const std::string& key) {
  if (std::find(byok_providers().begin(), byok_providers().end(), provider) == byok_providers().end())
    return error(Code::not_found, "Unknown provider '" + provider + "'; expected one of " + join(byok_providers()));
  if (key.size() < 8 || key.size() > 512 || key.find_first_of(" \t\r\n") != std::string::npos)
    return error(Code::invalid, "Field 'key' must be the provider's API key (8-512 characters, no spaces)", "key");
  const std::string ad = std::to_string(user_id) + ":" + provider;  // binds the box to its owner and provider
  ProviderKeyRecord r{user_id, provider, to_hex(aead_seal(master_key_, key, ad)), key.substr(key.size() - 4), clock_.now()};
  return store_.put_provider_key(r);
}

Result<std::string> ProviderKeys::saved(int64_t user_id, const std::string& provider) {
  auto keys = store_.provider_keys(user_id);
  if (!keys.ok()) return keys.status();
  for (auto& k : *keys) {
    if (k.provider != provider) continue;
    auto raw = from_hex(k.sealed);
    auto plain = raw ? aead_open(master_key_, *raw, std::to_string(user_id) + ":" + provider) : std::nullopt;
    if (!plain) return error(Code::internal, "a saved provider key cannot be decrypted (server secret changed?)");
    return *plain;
  }
  return error(Code::not_found, "no saved key");
}

Result<ProviderKeys::Resolved> ProviderKeys::resolve(int64_t user_id, const std::string& provider,
                                                     const std::string& header_key) {
  if (!header_key.empty()) return Resolved{header_key, "header"};
  auto s = saved(user_id, provider);
  if (s.ok()) return Resolved{*s, "saved"};
  if (s.status().code != Code::not_found) return s.status();
  if (auto it = pooled_.find(provider); it != pooled_.end() && !it->second.empty()) return Resolved{it->second, "pooled"};
  Status st = error(Code::invalid, "No API key for provider '" + provider + "': send the X-Provider-Key-" + provider +
                                       " header, save one with PUT /api/provider-keys/" + provider +
                                       ", or ask the operator to configure a pooled key");
  st.provider = provider;
  return st;
}

Result<std::string> ProviderKeys::key_for(int64_t user_id, const std::string& provider, const std::string& source) {
  if (source == "saved") return saved(user_id, provider);
  if (source == "pooled") {
    if (auto it = pooled_.find(provider); it != pooled_.end() && !it->second.empty()) return it->second;
    return error(Code::provider_error, "the pooled key for " + provider + " is no longer configured");
  }
  return error(Code::provider_error, "the request's provider key header is not kept after a restart; send the request again");
}

}  // namespace varg
