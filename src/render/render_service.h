// Cloud Render (SPEC 10): render jobs from TSX compositions. A job is admitted (rate and
// concurrency limits, transpile, a dry evaluation that checks the root and the price), then run on
// a render worker: sandboxed evaluation whose generations go through Jobs::submit (cache, BYOK,
// billing, usage), then assembly with ffmpeg, the result stored with Files::put.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "auth/permissions.h"
#include "gen/files.h"
#include "gen/jobs.h"
#include "gen/provider_keys.h"
#include "common/child_process.h"
#include "render/evaluator.h"
#include "render/limits.h"
#include "store/store.h"

namespace varg::render {

struct RenderSettings {
  int max_concurrent = 5;  // renders per account queued or running
  int per_minute = 10;     // submissions per account per minute
  int64_t job_timeout_ms = 15 * 60 * 1000;
  int workers = 2;
  int per_account_running = 0;  // renders of one account running at once; 0: all workers but one
  std::string node = "node", esbuild = "esbuild", ffmpeg = "ffmpeg", ffprobe = "ffprobe";
  RenderLimits limits;
  bool require_confinement = true;  // --render-sandbox strict: no render where seccomp is unavailable
  int evaluator_memory_mb = 1024, ffmpeg_memory_mb = 2048;
};

struct RenderRequest {
  int64_t user_id = 0;
  std::string code, mode = "strict", output = "video";
  bool verbose = false;
  std::map<std::string, std::string> provider_keys;  // like X-Provider-Key-* for every generation
  std::shared_ptr<const Permissions> permissions;    // the caller's key: each generation is checked

  // POST /api/render's body (SPEC 10): code, mode, output, verbose, providerKeys; 400 naming the
  // field. user_id and permissions are the caller's, set by the route.
  static Result<RenderRequest> parse(std::string_view body);
};

struct RateInfo {
  int limit = 0, remaining = 0;
  int64_t reset = 0;  // Unix seconds when the window has room again
};

struct Accepted {
  RenderJobRecord job;
  int64_t estimated_ms = 0;
  int active = 0, waiting = 0;
};

// POST /api/render/estimate: what the render's generations would cost now, each as
// POST /v1/estimate would say (cached and BYOK 0; preview placeholders and src files free).
struct RenderEstimate {
  int64_t credits = 0;
  nlohmann::json generations = nlohmann::json::array();  // [{type, model?, credits, billing: {mode}}]
};

class RenderService {
 public:
  RenderService(Store& store, Jobs& jobs, Files& files, ProviderKeys& keys, const Clock& clock, RenderSettings s);
  ~RenderService();
  void start();  // fails renders a previous process left unfinished, starts the workers
  void stop();

  Result<Accepted> submit(const RenderRequest& req);
  Result<RenderEstimate> estimate(const RenderRequest& req);
  Result<RenderJobRecord> get(int64_t user_id, const std::string& id);
  Result<RenderJobRecord> cancel(int64_t user_id, const std::string& id);
  Result<std::vector<RenderJobRecord>> list(int64_t user_id, int limit);
  RateInfo rate(int64_t user_id);
  nlohmann::json to_json(const RenderJobRecord& r) const;

  // Change notification, as Jobs: cb(true) once the version passes `seen`, cb(false) at the deadline.
  uint64_t version(const std::string& id);
  void watch(const std::string& id, uint64_t seen, std::chrono::steady_clock::time_point deadline,
             std::function<void(bool)> cb);

 private:
  struct Running;
  void worker();
  void timer();
  void run(std::shared_ptr<Running> r);
  void finish(Running& r, RenderJobRecord rec);
  void notify(const std::string& id);
  Result<nlohmann::json> generate(Running& r, const nlohmann::json& node);
  // A generation node → its capability and gateway request body (model, prompt or text, duration, files).
  std::pair<std::string, nlohmann::json> generation_request(const nlohmann::json& node) const;
  Result<std::vector<nlohmann::json>> dry_run(const RenderRequest& req, std::string* module_js, bool estimating);
  // Every generation the dry run saw: permitted to the caller's key, and affordable.
  Status admit(const RenderRequest& req, const std::vector<nlohmann::json>& nodes);
  EvalOptions eval_options() const;
  ChildLimits ffmpeg_limits() const;
  std::deque<std::shared_ptr<Running>>::iterator next_fair();  // end(): nothing may start now

  Store& store_;
  Jobs& jobs_;
  Files& files_;
  ProviderKeys& keys_;
  const Clock& clock_;
  RenderSettings s_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<Running>> queue_;
  std::map<std::string, std::shared_ptr<Running>> live_;  // queued or running, by job id
  std::map<int64_t, std::deque<int64_t>> submits_;         // per account: submission times (ms)
  std::map<std::string, uint64_t> versions_;
  struct Watcher {
    uint64_t seen;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> cb;
  };
  std::map<std::string, std::vector<Watcher>> watchers_;
  std::vector<std::thread> threads_;
  int running_ = 0;
  std::map<int64_t, int> running_of_;  // account → renders running
};

}  // namespace varg::render
