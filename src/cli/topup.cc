// varg topup: the credit packages (SPEC 7), then a checkout URL opened in the browser or printed.
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"

extern char** environ;

namespace varg::cli {
namespace {

struct TopupOptions {
  std::string package;
};

json package_list(const json& body) { return body.is_object() ? body.value("packages", json::array()) : json::array(); }

std::string price_text(const json& p) {
  const int64_t cents = p.value("price_cents", int64_t{0});
  std::string text = "$" + grouped(cents / 100);
  if (cents % 100) text += (cents % 100 < 10 ? ".0" : ".") + std::to_string(cents % 100);
  return text;
}

void print_packages(const json& packages) {
  std::vector<std::vector<std::string>> rows;
  int n = 0;
  for (const auto& p : packages)
    rows.push_back({std::to_string(++n), field_text(p, "id"), field_text(p, "name"),
                    grouped(p.value("credits", int64_t{0})), price_text(p), p.value("popular", false) ? "popular" : ""});
  print_table({"#", "PACKAGE", "NAME", "CREDITS", "PRICE", ""}, rows);
}

// The package the user picks: by its number in the table or by its id.
std::string choose(const json& packages) {
  std::cerr << "Choose a package [1-" << packages.size() << "]: " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return {};
  for (size_t i = 0; i < packages.size(); ++i)
    if (answer == std::to_string(i + 1) || answer == field_text(packages[i], "id", "")) return field_text(packages[i], "id", "");
  return {};
}

bool has_display() {
  auto set = [](const char* name) { const char* v = std::getenv(name); return v && *v; };
  return set("DISPLAY") || set("WAYLAND_DISPLAY");
}

// xdg-open without a shell, so nothing in the URL is interpreted.
bool open_in_browser(const std::string& url) {
  pid_t pid;
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  if (posix_spawnp(&pid, "xdg-open", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) return false;
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int topup(const Context& ctx, const TopupOptions& o) {
  auto c = ctx.authenticated();
  if (!c.ok()) return fail(c.error());
  std::string package = o.package;
  if (package.empty()) {
    auto listed = c->packages();
    if (!listed.ok()) return fail(listed.error());
    const json packages = package_list(*listed);
    if (ctx.json) {  // scripts pick with --package
      print_json(*listed);
      return 0;
    }
    print_packages(packages);
    if (!stdin_is_terminal()) {
      std::cout << "\nBuy one with: varg topup --package <PACKAGE>\nOr in the dashboard: " << c->billing_url() << "\n";
      return 0;
    }
    package = choose(packages);
    if (package.empty()) return fail("no package chosen");
  }
  auto checkout = c->checkout(package);
  if (!checkout.ok()) {
    if (checkout.error().status == 503) {
      fail(checkout.error().message);
      std::cerr << "Top up in the dashboard instead: " << c->billing_url() << "\n";
      return 1;
    }
    return fail(checkout.error());
  }
  const std::string url = field_text(*checkout, "url", "");
  if (ctx.json) {
    print_json(*checkout);
    return 0;
  }
  if (url.empty()) return fail("the server's checkout answer has no url");
  std::cout << "Checkout: " << url << "\n";
  if (has_display() && open_in_browser(url)) std::cout << "Opened in your browser.\n";
  return 0;
}

}  // namespace

void add_topup_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<TopupOptions>();
  CLI::App* cmd = command(app, "topup",
                          "Buy credits: lists the packages, then opens (or prints) the checkout page", ctx);
  cmd->add_option("--package", o->package, "Package id, e.g. credits-10000 (asked for on a terminal)");
  on_run(cmd, ctx, [&ctx, o] { return topup(ctx, *o); });
}

}  // namespace varg::cli
