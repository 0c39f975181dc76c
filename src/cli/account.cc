// varg balance / usage (SPEC 4).
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/output.h"

namespace varg::cli {
namespace {

int64_t cents(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

void print_balance(const json& b) {
  std::cout << "Balance: " << credits_text(cents(b, "balance_cents")) << "\n";
  if (int64_t reserved = cents(b, "reserved_cents"); reserved > 0)
    std::cout << "Reserved by running jobs: " << credits_text(reserved) << "\n";
}

// Credits per day as bars (by generations when nothing cost credits), oldest day first.
void print_day_chart(const json& usage) {
  std::map<std::string, std::pair<int64_t, int64_t>> days;  // day → (credits, generations)
  for (const auto& e : usage) {
    auto& d = days[field_text(e, "created_at").substr(0, 10)];
    d.first += cents(e, "cost_cents");
    d.second++;
  }
  int64_t top_credits = 0, top_jobs = 0;
  for (auto& [_, d] : days) {
    top_credits = std::max(top_credits, d.first);
    top_jobs = std::max(top_jobs, d.second);
  }
  const bool by_credits = top_credits > 0;
  std::cout << "\n" << (by_credits ? "Credits" : "Generations") << " per day\n";
  for (auto& [day, d] : days) {
    const int64_t v = by_credits ? d.first : d.second, top = by_credits ? top_credits : top_jobs;
    const int width = int((v * 40 + top - 1) / std::max<int64_t>(top, 1));
    std::string bar;
    for (int i = 0; i < width; i++) bar += "\u2588";
    std::cout << day << " " << bar << (bar.empty() ? "" : " ") << grouped(d.first) << " credits, " << d.second
              << (d.second == 1 ? " generation\n" : " generations\n");
  }
}

void print_usage(const json& u, bool chart) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : u.value("usage", json::array())) {
    const bool hit = e.value("cache_hit", false);
    rows.push_back({field_text(e, "created_at"), field_text(e, "job_id"), field_text(e, "model"),
                    field_text(e, "billing"), grouped(cents(e, "cost_cents")), hit ? "hit" : "miss"});
  }
  if (rows.empty())
    std::cout << "No usage in this period.\n";
  else
    print_table({"CREATED", "JOB", "MODEL", "BILLING", "CREDITS", "CACHE"}, rows);
  if (auto groups = u.find("groups"); groups != u.end() && groups->is_array() && !groups->empty()) {
    std::vector<std::vector<std::string>> totals;
    for (const auto& g : *groups)
      totals.push_back({field_text(g, "key"), field_text(g, "count", "0"), grouped(cents(g, "cost_cents")),
                        field_text(g, "cache_hits", "0"), field_text(g, "byok", "0"), field_text(g, "metered", "0")});
    std::cout << "\n";
    print_table({"GROUP", "JOBS", "CREDITS", "CACHE HITS", "BYOK", "METERED"}, totals);
  }
  std::cout << "Total: " << credits_text(cents(u, "total_cents")) << "\n";
  if (chart && !rows.empty()) print_day_chart(u["usage"]);
}

}  // namespace

void add_account_commands(CLI::App& app, Context& ctx) {
  CLI::App* balance = command(app, "balance", "Show the credits you can spend (1 credit = 1 cent)", ctx);
  on_run(balance, ctx, [&ctx] { return present(ctx, [](Client& c) { return c.balance(); }, print_balance); });

  auto q = std::make_shared<client::UsageQuery>();
  CLI::App* usage = command(app, "usage", "List your generations and what they cost", ctx);
  usage->add_option("--from", q->from, "First day, YYYY-MM-DD");
  usage->add_option("--to", q->to, "Last day, YYYY-MM-DD");
  usage->add_option("--model", q->model, "Only this model");
  usage->add_option("--group-by", q->group_by, "Also total by day or model")->check(CLI::IsMember({"day", "model"}));
  auto chart = std::make_shared<bool>(false);
  usage->add_flag("--chart", *chart, "Draw credits per day (always on a terminal)");
  on_run(usage, ctx, [&ctx, q, chart] {
    const bool draw = *chart || stdout_is_terminal();
    return present(ctx, [q](Client& c) { return c.usage(*q); }, [draw](const json& u) { print_usage(u, draw); });
  });
}

}  // namespace varg::cli
