// Key management in the Vast CLI's words (SPEC 5, 8): set api-key, show user, create/show/delete/reset
// api-key.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"

namespace varg::cli {
namespace {

struct CreateOptions {
  std::string name, permission_file, expires_in;
};

const std::string kCopyNow = "Copy it now: it will not be shown again.";

std::string scope_of(const json& key) {
  auto p = key.find("permissions");
  if (p == key.end() || p->is_null()) return "full";
  auto api = p->find("api");
  if (api == p->end() || !api->is_object() || api->empty()) return "none";
  std::string out;
  for (const auto& [category, _] : api->items()) out += (out.empty() ? "" : ",") + category;
  return out;
}

void print_key(const json& k) {
  for (const char* f : {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"})
    std::cout << f << ": " << field_text(k, f, f == std::string("expires_at") ? "never" : "-") << "\n";
  std::cout << "scope: " << scope_of(k) << "\n";
  if (auto p = k.find("permissions"); p != k.end() && !p->is_null()) std::cout << "permissions: " << p->dump(2) << "\n";
}

void print_keys(const json& body) {
  json keys = body.contains("keys") ? body["keys"] : body.value("apikeys", json::array());
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : keys)
    rows.push_back({field_text(k, "id"), field_text(k, "name"), field_text(k, "prefix"), field_text(k, "created_at"),
                    field_text(k, "last_used_at", "never"), field_text(k, "expires_at", "never"), scope_of(k)});
  print_table({"ID", "NAME", "PREFIX", "CREATED", "LAST USED", "EXPIRES", "SCOPE"}, rows);
}

void print_user(const json& u) {
  std::cout << "id: " << field_text(u, "id") << "\n"
            << "email: " << field_text(u, "email") << "\n"
            << "balance: " << credits_text(u.value("balance_cents", int64_t{0})) << "\n"
            << "created: " << field_text(u, "created_at") << "\n";
}

Result<json> read_permission_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return client::local_error("cannot read permission file " + path);
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) return client::local_error("permission file " + path + " is not valid JSON");
  return doc;
}

int create_key(const Context& ctx, const CreateOptions& o) {
  client::NewKey key{o.name, std::nullopt, o.expires_in};
  if (!o.permission_file.empty()) {
    auto doc = read_permission_file(o.permission_file);
    if (!doc.ok()) return fail(doc.error());
    key.permissions = *doc;
  }
  return present(ctx, [&key](Client& c) { return c.create_key(key); }, [](const json& k) {
    std::cout << "Created API key " << field_text(k, "id") << " \"" << field_text(k, "name") << "\" (scope "
              << scope_of(k) << ", expires " << field_text(k, "expires_at", "never") << ").\n"
              << kCopyNow << "\n\n  " << field_text(k, "key") << "\n\n";
  });
}

int set_key(const Context& ctx, const std::string& key) {
  client::Credentials creds;
  creds.api_key = key;
  if (auto saved = client::save_credentials(creds); !saved) return fail(saved.error());
  const std::string path = client::credentials_path().string();
  if (ctx.json)
    print_json({{"saved", true}, {"path", path}});
  else
    std::cout << "Saved the API key to " << path << "\n";
  return 0;
}

// The calling key is revoked and replaced; the saved copy follows when it was the key in use.
int reset_key(const Context& ctx) {
  auto creds = client::find_credentials();
  if (!creds.ok()) return fail(creds.error());
  auto answer = ctx.with_key(creds->api_key).reset_key();
  if (!answer.ok()) return fail(answer.error());
  const std::string fresh = field_text(*answer, "new_api_key", "");
  if (!answer->value("success", false) || fresh.empty())
    return fail(field_text(*answer, "msg", "the server did not return a new key"));
  std::string where;
  if (creds->source == client::CredentialSource::file) {
    client::Credentials updated = *creds;
    updated.api_key = fresh;
    updated.created_at.clear();
    if (auto saved = client::save_credentials(updated); !saved) return fail(saved.error());
    where = "Saved to " + creds->origin.string() + ".";
  } else if (creds->source == client::CredentialSource::dotenv) {
    where = "Replace VARG_API_KEY in " + creds->origin.string() + ": the old key no longer works.";
  } else {
    where = "Replace VARG_API_KEY in your environment: the old key no longer works.";
  }
  if (ctx.json) {
    print_json(*answer);
    std::cerr << where << "\n";
  } else {
    std::cout << "Your API key was replaced. " << kCopyNow << "\n\n  " << fresh << "\n\n" << where << "\n";
  }
  return 0;
}

}  // namespace

void add_key_commands(CLI::App& app, Context& ctx) {
  CLI::App* set = app.add_subcommand("set", "Save settings (Vast style)")->require_subcommand(1);
  CLI::App* show = app.add_subcommand("show", "Show your account and keys")->require_subcommand(1);
  CLI::App* create = app.add_subcommand("create", "Create things")->require_subcommand(1);
  CLI::App* del = app.add_subcommand("delete", "Delete things")->require_subcommand(1);
  CLI::App* reset = app.add_subcommand("reset", "Replace things")->require_subcommand(1);

  auto key = std::make_shared<std::string>();
  CLI::App* set_key_cmd = command(*set, "api-key", "Save an API key to ~/.varg/credentials without checking it", ctx);
  set_key_cmd->add_option("KEY", *key, "The API key (varg_...)")->required();
  on_run(set_key_cmd, ctx, [&ctx, key] { return set_key(ctx, *key); });

  CLI::App* user = command(*show, "user", "Your account: id, email, balance (GET /v1/me)", ctx);
  on_run(user, ctx, [&ctx] { return present(ctx, [](Client& c) { return c.me(); }, print_user); });

  CLI::App* keys = command(*show, "api-keys", "List your API keys", ctx);
  on_run(keys, ctx, [&ctx] { return present(ctx, [](Client& c) { return c.keys(); }, print_keys); });

  auto id = std::make_shared<std::string>();
  CLI::App* one = command(*show, "api-key", "Show one API key", ctx);
  one->add_option("ID", *id, "The key's id (see `varg show api-keys`)")->required();
  on_run(one, ctx, [&ctx, id] { return present(ctx, [id](Client& c) { return c.key(*id); }, print_key); });

  auto o = std::make_shared<CreateOptions>();
  CLI::App* make = command(*create, "api-key", "Create an API key; it is shown once", ctx);
  make->add_option("--name", o->name, "A name to recognise the key by")->required();
  make->add_option("--permission_file,--permission-file", o->permission_file,
                   "JSON permission document in the Vast shape {\"api\": {\"<category>\": {...}}}");
  make->add_option("--expires-in,--expires_in", o->expires_in, "Lifetime such as 30d, 12h or seconds; default never");
  on_run(make, ctx, [&ctx, o] { return create_key(ctx, *o); });

  auto gone = std::make_shared<std::string>();
  CLI::App* remove = command(*del, "api-key", "Revoke an API key (refused everywhere within a second)", ctx);
  remove->add_option("ID", *gone, "The key's id")->required();
  on_run(remove, ctx, [&ctx, gone] {
    return present(ctx, [gone](Client& c) { return c.delete_key(*gone); },
                   [gone](const json&) { std::cout << "Deleted API key " << *gone << ".\n"; });
  });

  CLI::App* rotate = command(*reset, "api-key", "Revoke the key in use and get a new one", ctx);
  on_run(rotate, ctx, [&ctx] { return reset_key(ctx); });
}

}  // namespace varg::cli
