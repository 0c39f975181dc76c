// What generation and render share once a job runs: a progress line on a terminal, and fetching
// the finished job's result to a file.
#pragma once
#include <string>

#include "cli/context.h"

namespace varg::cli {

// A progress callback that redraws one stderr line when stderr is a terminal, else does nothing.
client::Progress progress_line();
void clear_progress_line();

// Reports a failed job, or downloads a completed one to `path` (default: job id + extension) and
// prints where it went (or the job JSON with --json). Returns the exit status.
int finish_job(const Context& ctx, Client& client, const client::Job& job, std::string path, bool download);

}  // namespace varg::cli
