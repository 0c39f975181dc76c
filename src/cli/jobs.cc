// varg models | jobs | retry | estimate (SPEC 6, 13): the catalog, the account's jobs, running a
// failed job again, and what a request would cost.
#include <iostream>

#include "cli/commands.h"
#include "cli/job_output.h"
#include "cli/output.h"

namespace varg::cli {
namespace {

void print_models(const json& doc, const std::string& capability, const std::string& provider) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : doc.value("models", json::array())) {
    if ((!capability.empty() && m.value("capability", "") != capability) || (!provider.empty() && m.value("provider", "") != provider))
      continue;
    std::string params;
    const json parameters = m.value("parameters", json::object());
    for (auto& [name, rule] : parameters.items()) {
      std::string p = name;
      if (rule.contains("values")) {
        std::string values;
        for (auto& v : rule["values"]) values += (values.empty() ? "" : "/") + (v.is_string() ? v.get<std::string>() : v.dump());
        p += " " + values;
      } else if (rule.contains("min") && rule.contains("max")) {
        p += " " + rule["min"].dump() + "-" + rule["max"].dump();
      }
      params += (params.empty() ? "" : "; ") + p;
    }
    rows.push_back({field_text(m, "id"), field_text(m, "capability"), field_text(m, "provider"),
                    grouped(m.value("credits", int64_t(0))) + " / " + field_text(m, "unit"), params});
  }
  if (rows.empty()) {
    std::cout << "No model matches.\n";
    return;
  }
  print_table({"MODEL", "CAPABILITY", "PROVIDER", "CREDITS", "PARAMETERS"}, rows);
}

void print_jobs(const json& page) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& j : page.value("jobs", json::array())) {
    const json billing = j.value("billing", json::object());
    rows.push_back({field_text(j, "created_at"), field_text(j, "job_id"), field_text(j, "model"), field_text(j, "status"),
                    grouped(billing.value("cost_cents", int64_t(0))), j.value("output", json::object()).value("url", "-")});
  }
  if (rows.empty())
    std::cout << "No jobs.\n";
  else
    print_table({"CREATED", "JOB", "MODEL", "STATUS", "CREDITS", "OUTPUT"}, rows);
  if (page.contains("next_cursor") && page["next_cursor"].is_string())
    std::cout << "More: varg jobs --cursor " << page["next_cursor"].get<std::string>() << "\n";
}

}  // namespace

void add_job_commands(CLI::App& app, Context& ctx) {
  auto filter = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* models = command(app, "models", "List the models with their prices and parameters", ctx);
  models->add_option("--capability", filter->first, "Only image, video, speech, music, transcription or ffmpeg");
  models->add_option("--provider", filter->second, "Only this provider (fal, elevenlabs, replicate, higgsfield, groq, local, ffmpeg)");
  on_run(models, ctx, [&ctx, filter] {
    return present(ctx, [](Client& c) { return c.models(); },
                   [filter](const json& doc) { print_models(doc, filter->first, filter->second); });
  });

  auto q = std::make_shared<client::JobQuery>();
  CLI::App* jobs = command(app, "jobs", "List your jobs, newest first", ctx);
  jobs->add_option("--limit", q->limit, "How many (1-100)")->capture_default_str();
  jobs->add_option("--capability", q->capability, "Only image, video, speech, music, transcription or ffmpeg");
  jobs->add_option("--status", q->status, "Only queued, processing, completed, failed or cancelled");
  jobs->add_option("--cursor", q->cursor, "Continue after the page that printed it");
  on_run(jobs, ctx, [&ctx, q] { return present(ctx, [q](Client& c) { return c.jobs(*q); }, print_jobs); });

  struct RetryOptions {
    std::string job, webhook, output;
    bool wait = true, no_download = false;
    int timeout = 900;
  };
  auto r = std::make_shared<RetryOptions>();
  CLI::App* retry = command(app, "retry", "Run a failed or cancelled job again (a new job, charged anew)", ctx);
  retry->add_option("job", r->job, "The job id (job_...)")->required();
  retry->add_option("--webhook", r->webhook, "POST the finished job to this URL (signed, docs/webhooks.md)");
  retry->add_option("-o,--output", r->output, "Where to save the result (default: <job id>.<ext> here)");
  retry->add_flag("--no-download", r->no_download, "Do not download the result; print its URL");
  retry->add_option("--timeout", r->timeout, "Seconds to wait for the job")->capture_default_str();
  on_run(retry, ctx, [&ctx, r] {
    auto c = ctx.authenticated();
    if (!c.ok()) return fail(c.error());
    client::GenerateOptions o;
    o.webhook_url = r->webhook;
    auto started = c->retry(r->job, o);
    if (!started.ok()) return fail(started.error());
    auto done = c->wait(*started, std::chrono::seconds(r->timeout), progress_line());
    clear_progress_line();
    if (!done.ok()) return fail(done.error());
    return finish_job(ctx, *c, *done, r->output, !r->no_download);
  });

  struct EstimateOptions {
    std::string capability, body;
  };
  auto e = std::make_shared<EstimateOptions>();
  CLI::App* estimate = command(app, "estimate", "What a request would cost now, in credits (cached and BYOK: 0)", ctx);
  estimate->add_option("capability", e->capability, "image, video, speech, music, transcription or ffmpeg")->required();
  estimate->add_option("body", e->body, "The request as JSON, e.g. '{\"model\":\"kling-v3\",\"prompt\":\"x\",\"duration\":10}'")
      ->required();
  on_run(estimate, ctx, [&ctx, e] {
    json body = json::parse(e->body, nullptr, false);
    if (!body.is_object()) return fail("The request must be a JSON object");
    return present(ctx, [e, body](Client& c) { return c.estimate(e->capability, body); }, [](const json& est) {
      std::cout << credits_text(est.value("credits", int64_t(0))) << " ("
                << est.value("billing", json::object()).value("mode", "metered") << ")\n";
    });
  });
}

}  // namespace varg::cli
