// Evaluation of a composition: TSX → JS with esbuild, then run in a separate node process
// (empty environment, seccomp, permission model, frozen intrinsics, rlimits, a vm context that
// holds no host object) against varg's own component runtime. The script may ask for generations
// while it runs (`await Speech(...)`); the resolver answers them. The result is the element tree
// as JSON.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace varg::render {

struct EvalOptions {
  std::string node = "node", esbuild = "esbuild";
  int cpu_seconds = 8;
  int heap_mb = 128;
  int memory_mb = 1024;  // the whole evaluator process: heap, ArrayBuffers, code (RLIMIT_DATA)
  int sync_timeout_ms = 2500;  // the module's synchronous evaluation
  int idle_ms = 3000;    // no generation outstanding and no message for this long: a promise that never settles
  bool require_confinement = true;
  std::chrono::steady_clock::time_point deadline;
};

// A failed evaluation: the message and one of the render error categories.
struct EvalError {
  std::string message;
  std::string category = "invalid_source";  // or not_render, provider_error, quota_exceeded, ...
};

// TSX → ES module text; invalid (with line and column) on a syntax error, a missing default
// export or an import from outside vargai.
Result<std::string> transpile(const std::string& tsx, const EvalOptions& opts);

// A generation request: the media node ({type, props, children}); answers meta
// {url, duration, mediaType, words?, segments?} or an error.
using Resolver = std::function<Result<nlohmann::json>(const nlohmann::json& node)>;

struct EvalResult {
  bool ok = false;
  nlohmann::json tree;
  EvalError err;
};

// Runs the module; resolver calls run concurrently on their own threads.
EvalResult evaluate(const std::string& module_js, const Resolver& resolve, const EvalOptions& opts,
                    const std::atomic<bool>& cancelled);

}  // namespace varg::render
