// The `local` provider: media rendered on this machine (providers/local), no key, 0 credits.
#include "gen/provider.h"
#include "gen/providers/local/local_media.h"

namespace varg {

namespace {
class LocalProvider final : public Provider {
 public:
  bool needs_key() const override { return false; }
  Result<ProviderOutput> generate(ProviderCall& call) override {
    auto m = render_local(call.model.upstream, call.params, call.cancelled);
    if (!m.ok()) return m.status();
    return ProviderOutput{std::move(m->bytes), ""};
  }
};
}  // namespace

std::unique_ptr<Provider> make_local_provider() { return std::make_unique<LocalProvider>(); }

}  // namespace varg
