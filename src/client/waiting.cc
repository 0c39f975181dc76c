// Waiting for jobs and fetching their results: the parts of the client that take time.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "client/http.h"
#include "client/server_error.h"
#include "varg/client.h"

namespace varg::client {
namespace {

using Clock = std::chrono::steady_clock;

template <class Fetch>
Result<Job> poll(Job job, std::chrono::seconds max_wait, const Progress& progress,
                 std::chrono::milliseconds interval, Fetch fetch) {
  const auto start = Clock::now();
  const auto deadline = start + max_wait;
  while (!job.terminal()) {
    const int waited = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count());
    if (progress) progress(job, waited);
    if (Clock::now() + interval > deadline)
      return local_error("job " + job.id + " did not finish within " + std::to_string(max_wait.count()) +
                         " s (still " + job.status + ")");
    std::this_thread::sleep_for(interval);
    auto next = fetch(job.id);
    if (!next.ok()) return next.error();
    job = std::move(*next);
  }
  return job;
}

}  // namespace

Result<Job> Client::wait(Job job, std::chrono::seconds max_wait, const Progress& progress,
                         std::chrono::milliseconds interval) {
  return poll(std::move(job), max_wait, progress, interval, [this](const std::string& id) { return this->job(id); });
}

Result<Job> Client::wait_render(Job job, std::chrono::seconds max_wait, const Progress& progress,
                                std::chrono::milliseconds interval) {
  // A render job is done at completed or failed; "rendering" is its only other state.
  return poll(std::move(job), max_wait, progress, interval,
              [this](const std::string& id) { return this->render_job(id); });
}

Result<size_t> Client::download(const std::string& url, const std::string& path) {
  // Written next to the target and renamed, so a failed download never leaves half a file behind.
  const std::string part = path + ".part";
  FILE* file = std::fopen(part.c_str(), "wb");
  if (!file) return local_error("cannot write " + path);
  HttpRequest req;
  req.url = url;
  req.timeout = opts_.download_timeout;
  req.connect_timeout = opts_.connect_timeout;
  req.sink = file;
  auto res = send(req);
  const bool closed = std::fclose(file) == 0;
  std::error_code ec;
  if (!res.ok() || res->status != 200 || !closed) {
    std::filesystem::remove(part, ec);
    if (!res.ok()) return res.error();
    if (!closed) return local_error("cannot write " + path);
    return server_error(res->status, "", url);
  }
  std::filesystem::rename(part, path, ec);
  if (ec) return local_error("cannot write " + path + ": " + ec.message());
  return res->bytes;
}

}  // namespace varg::client
