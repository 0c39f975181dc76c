// varg provider-keys set|list|delete: the account's saved BYOK keys (SPEC 6, seed 001).
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"

namespace varg::cli {
namespace {

struct ProviderKeyOptions {
  std::string provider, key;
};

// The listing is an array, bare or under one field of an object.
json entries_of(const json& body) {
  if (body.is_array()) return body;
  for (const char* name : {"provider_keys", "keys", "providers"})
    if (body.contains(name) && body[name].is_array()) return body[name];
  return json::array();
}

std::string masked_of(const json& entry) {
  for (const char* name : {"masked", "masked_key", "key_suffix", "suffix", "last4", "hint"})
    if (entry.contains(name) && entry[name].is_string()) return entry[name].get<std::string>();
  return "-";
}

void print_list(const json& body) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : entries_of(body))
    rows.push_back({field_text(e, "provider"), masked_of(e), field_text(e, "created_at")});
  if (rows.empty())
    std::cout << "No provider keys saved. Generation uses varg credits.\n";
  else
    print_table({"PROVIDER", "KEY", "SAVED"}, rows);
}

}  // namespace

void add_provider_key_commands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("provider-keys", "Your own provider keys (fal, elevenlabs, higgsfield, "
                                                        "replicate): generations with them cost 0 credits")
                        ->require_subcommand(1);
  auto o = std::make_shared<ProviderKeyOptions>();

  CLI::App* set = command(*group, "set", "Save (or replace) the key for a provider, encrypted on the server", ctx);
  set->add_option("PROVIDER", o->provider, "fal, elevenlabs, higgsfield or replicate")->required();
  set->add_option("KEY", o->key, "The provider's API key")->required();
  on_run(set, ctx, [&ctx, o] {
    return present(ctx, [o](Client& c) { return c.set_provider_key(o->provider, o->key); },
                   [o](const json&) { std::cout << "Saved your " << o->provider << " key.\n"; });
  });

  CLI::App* list = command(*group, "list", "List saved provider keys (masked)", ctx);
  on_run(list, ctx, [&ctx] { return present(ctx, [](Client& c) { return c.provider_keys(); }, print_list); });

  CLI::App* del = command(*group, "delete", "Delete the saved key for a provider", ctx);
  del->add_option("PROVIDER", o->provider, "fal, elevenlabs, higgsfield or replicate")->required();
  on_run(del, ctx, [&ctx, o] {
    return present(ctx, [o](Client& c) { return c.delete_provider_key(o->provider); },
                   [o](const json&) { std::cout << "Deleted your " << o->provider << " key.\n"; });
  });
}

}  // namespace varg::cli
