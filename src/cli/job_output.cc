#include "cli/job_output.h"

#include <iostream>

#include "cli/output.h"

namespace varg::cli {

client::Progress progress_line() {
  if (!stderr_is_terminal()) return {};
  return [](const client::Job& job, int seconds) {
    std::cerr << "\r\033[K" << job.id << "  " << (job.status.empty() ? "queued" : job.status) << "  " << seconds
              << " s" << std::flush;
  };
}

void clear_progress_line() {
  if (stderr_is_terminal()) std::cerr << "\r\033[K" << std::flush;
}

int finish_job(const Context& ctx, Client& client, const client::Job& job, std::string path, bool download) {
  if (!job.completed()) {
    if (ctx.json) print_json(job.body);
    return fail("job " + job.id + " " + job.status + (job.error.empty() ? "" : ": " + job.error));
  }
  if (job.output_url.empty()) return fail("job " + job.id + " completed without an output URL");
  if (download) {
    if (path.empty()) path = job.id + client::extension_for(job.media_type, job.output_url);
    auto size = client.download(job.output_url, path);
    if (!size.ok()) return fail(size.error());
    if (!ctx.json)
      std::cout << "Saved " << path << " (" << grouped(static_cast<int64_t>(*size)) << " bytes"
                << (job.media_type.empty() ? "" : ", " + job.media_type) << ")\n";
  }
  if (ctx.json) {
    print_json(job.body);
    return 0;
  }
  std::string cost;
  if (auto b = job.body.find("billing"); b != job.body.end() && b->is_object())
    cost = ", " + grouped(b->value("cost_cents", int64_t{0})) + " credits (" + b->value("mode", std::string("-")) + ")";
  std::cout << "URL: " << job.output_url << "\n"
            << "Job: " << job.id << (job.cache_hit ? ", cache hit" : "") << cost << "\n";
  return 0;
}

}  // namespace varg::cli
