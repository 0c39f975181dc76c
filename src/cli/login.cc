// varg login / logout: email code or pasted key, saved to ~/.varg/credentials (SPEC 3, 8).
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"

namespace varg::cli {
namespace {

struct LoginOptions {
  std::string email, code, api_key;
};

constexpr int kCodeAttempts = 5;  // the server kills a code after 5 wrong guesses

std::string trimmed(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Prompts on stderr so that stdout stays clean for --json; false at end of input.
bool ask(const std::string& prompt, std::string* answer) {
  std::cerr << prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return false;
  *answer = trimmed(line);
  return true;
}

void note_environment_override() {
  if (const char* k = std::getenv("VARG_API_KEY"); k && *k)
    std::cerr << "Note: VARG_API_KEY is set in your environment and is used before the saved key.\n";
}

int save(const Context& ctx, const client::Credentials& creds, const json& answer, int64_t balance_cents) {
  if (auto saved = client::save_credentials(creds); !saved) return fail(saved.error());
  if (ctx.json) {
    print_json(answer);
  } else {
    std::cout << "Logged in" << (creds.email.empty() ? "" : " as " + creds.email) << ". Credentials saved to "
              << client::credentials_path().string() << "\n"
              << "Balance: " << credits_text(balance_cents) << "\n";
  }
  note_environment_override();
  return 0;
}

int64_t cents_of(const json& body) {
  auto it = body.find("balance_cents");
  return it != body.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// A pasted key is checked with GET /v1/balance before it is saved.
int login_with_key(const Context& ctx, const std::string& key) {
  Client c = ctx.with_key(key);
  auto balance = c.balance();
  if (!balance.ok()) return fail(balance.error());
  client::Credentials creds;
  creds.api_key = key;
  if (auto me = c.me(); me.ok()) creds.email = field_text(*me, "email", "");  // a scoped key may not read it
  return save(ctx, creds, *balance, cents_of(*balance));
}

int send_code(const Context& ctx, const std::string& email) {
  auto sent = ctx.anonymous().send_login_code(email);
  if (!sent.ok()) return fail(sent.error());
  if (ctx.json) print_json(*sent);
  return 0;
}

// Saves the key that POST /api/auth/cli/verify-otp answered with.
int save_verified(const Context& ctx, const std::string& email, const json& verified) {
  client::Credentials creds;
  creds.api_key = field_text(verified, "api_key", "");
  creds.email = field_text(verified, "email", email);
  if (creds.api_key.empty()) return fail("the server's answer has no api_key");
  return save(ctx, creds, verified, cents_of(verified));
}

int verify_code(const Context& ctx, const std::string& email, const std::string& code) {
  auto verified = ctx.anonymous().verify_login_code(email, code);
  if (!verified.ok() && verified.error().status == 401)  // a wrong code, not a refused key
    return fail(verified.error().message + ": check the code, or get a new one with `varg login --email " + email + "`");
  if (!verified.ok()) return fail(verified.error());
  return save_verified(ctx, email, *verified);
}

int interactive_email(const Context& ctx) {
  std::string email;
  if (!ask("Email: ", &email) || email.empty()) return fail("login cancelled");
  if (int rc = send_code(ctx, email); rc != 0) return rc;
  std::cerr << "A 6-digit code was sent to " << email << ".\n";
  for (int attempt = 1; attempt <= kCodeAttempts; ++attempt) {
    std::string code;
    if (!ask("Code: ", &code) || code.empty()) return fail("login cancelled");
    auto verified = ctx.anonymous().verify_login_code(email, code);
    if (verified.ok()) return save_verified(ctx, email, *verified);
    if (verified.error().status != 401) return fail(verified.error());
    std::cerr << verified.error().message << "\n";  // a wrong code: try again
  }
  return fail("too many wrong codes; run `varg login` to get a new one");
}

int interactive(const Context& ctx) {
  std::cerr << "Log in to varg at " << ctx.endpoints.app_url << "\n"
            << "  [1] Email code\n"
            << "  [2] Paste API key\n";
  std::string choice;
  if (!ask("Choose [1/2]: ", &choice)) return fail("login cancelled");
  if (choice == "1") return interactive_email(ctx);
  if (choice == "2") {
    std::string key;
    if (!ask("API key: ", &key) || key.empty()) return fail("login cancelled");
    return login_with_key(ctx, key);
  }
  return fail("choose 1 or 2");
}

int login(const Context& ctx, const LoginOptions& o) {
  if (!o.api_key.empty()) return login_with_key(ctx, trimmed(o.api_key));
  if (!o.code.empty() && o.email.empty()) return fail("--code needs --email");
  if (!o.email.empty() && !o.code.empty()) return verify_code(ctx, o.email, trimmed(o.code));
  if (!o.email.empty()) {
    if (int rc = send_code(ctx, o.email); rc != 0) return rc;
    if (!ctx.json)
      std::cout << "A 6-digit code was sent to " << o.email << ". Finish with:\n  varg login --email " << o.email
                << " --code <code>\n";
    return 0;
  }
  return interactive(ctx);
}

int logout(const Context& ctx) {
  auto removed = client::remove_credentials();
  if (!removed.ok()) return fail(removed.error());
  const std::string path = client::credentials_path().string();
  if (ctx.json)
    print_json({{"logged_out", true}, {"removed", *removed}, {"path", path}});
  else
    std::cout << (*removed ? "Logged out: removed " + path : "Not logged in (no " + path + ")") << "\n";
  note_environment_override();
  return 0;
}

}  // namespace

void add_login_commands(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<LoginOptions>();
  CLI::App* cmd = command(app, "login",
                          "Log in by email code or with an API key and save it to ~/.varg/credentials.\n"
                          "Without options: a menu ([1] email code, [2] paste API key) read from stdin.",
                          ctx);
  cmd->add_option("--email", o->email, "Send a login code to this address (with --code: verify it)");
  cmd->add_option("--code", o->code, "The 6-digit code from the email (needs --email)");
  cmd->add_option("--api-key", o->api_key, "Check this API key with GET /v1/balance and save it");
  on_run(cmd, ctx, [&ctx, o] { return login(ctx, *o); });

  CLI::App* out = command(app, "logout", "Remove the saved credentials (~/.varg/credentials)", ctx);
  on_run(out, ctx, [&ctx] { return logout(ctx); });
}

}  // namespace varg::cli
