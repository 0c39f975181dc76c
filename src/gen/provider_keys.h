// BYOK (seed 001, SPEC 6): which provider key pays for a request, in order: the request's
// X-Provider-Key-* header (never stored), the account's saved key (sealed with an AEAD under the
// server master key), the gateway's pooled key. Only the pooled key is metered.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/store.h"

namespace varg {

const std::vector<std::string>& byok_providers();  // the names of remote_providers()
std::string provider_key_header(const std::string& provider);  // "x-provider-key-fal"

class ProviderKeys {
 public:
  ProviderKeys(Store& store, const Clock& clock, std::string master_key, std::map<std::string, std::string> pooled)
      : store_(store), clock_(clock), master_key_(std::move(master_key)), pooled_(std::move(pooled)) {}

  Status save(int64_t user_id, const std::string& provider, const std::string& key);
  Result<std::vector<ProviderKeyRecord>> list(int64_t user_id) { return store_.provider_keys(user_id); }
  Status remove(int64_t user_id, const std::string& provider) { return store_.delete_provider_key(user_id, provider); }

  struct Resolved {
    std::string key;
    std::string source;  // header | saved | pooled
  };
  // not_found-free: a provider with no key anywhere is a 400 naming it and how to supply one.
  Result<Resolved> resolve(int64_t user_id, const std::string& provider, const std::string& header_key);
  // The key of a recorded source again (a job resumed by a worker); header keys are not kept.
  Result<std::string> key_for(int64_t user_id, const std::string& provider, const std::string& source);

 private:
  Result<std::string> saved(int64_t user_id, const std::string& provider);

  Store& store_;
  const Clock& clock_;
  std::string master_key_;
  std::map<std::string, std::string> pooled_;
};

}  // namespace varg
