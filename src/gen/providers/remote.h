// Factories of the remote provider adapters, each speaking its provider's public API.
#pragma once
#include <memory>

#include "gen/provider.h"
#include "gen/upstream.h"

namespace varg {

std::unique_ptr<Provider> make_fal_provider(Upstream u);
std::unique_ptr<Provider> make_elevenlabs_provider(Upstream u);
std::unique_ptr<Provider> make_replicate_provider(Upstream u);
std::unique_ptr<Provider> make_higgsfield_provider(Upstream u);

}  // namespace varg
