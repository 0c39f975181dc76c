// One interface for every upstream (fal, elevenlabs, replicate, higgsfield) and the built-in
// local provider, registered by name. generate() blocks (it runs on a job worker), honours the
// cancel flag between upstream calls, and reports the upstream request id as soon as it has one
// so that a restarted vargd can resume instead of paying twice.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "gen/catalog.h"

namespace varg {

struct InputFile {
  std::string url;  // absolute, fetchable by the provider
  std::string hash;
  std::string media_type;
};

struct ProviderCall {
  std::string job_id;
  const ModelSpec& model;
  nlohmann::json params;  // normalized request parameters
  std::vector<InputFile> inputs;
  std::string api_key;      // empty for providers that need none
  std::string upstream_id;  // non-empty when resuming after a restart
  const std::atomic<bool>& cancelled;
  // A queue API's adapter reports the id its submit got (kept in memory: a cancel names it), then
  // calls running() each time the upstream answers that the request is not finished yet: the
  // first makes the id durable, so a restart resumes the request instead of submitting it again.
  // A request finished at its first answer is written once, with its completion.
  std::function<void(const std::string&)> on_upstream_id;
  std::function<void()> on_running{};
  void running() const {
    if (on_running) on_running();
  }
};

// Either the bytes themselves or a URL the gateway fetches once. No media type: whatever a
// provider claims, the stored file is typed by its bytes (gen/media_type.h).
struct ProviderOutput {
  std::string bytes;
  std::string url;
  // Several results (media processing): `bytes` is the first (output.url), `more` the others.
  // `listing` is merged into the JobResponse's output (output.segments, output.files); in it each
  // object with a "file": i member (0 the first result, i the i-th of `more`) gets that file's url
  // and media_type instead.
  std::vector<std::string> more{};
  nlohmann::json listing{};  // null: one result
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual bool needs_key() const { return true; }
  // A queue API: generate()'s first upstream call submits the request and reports its id
  // (ProviderCall::on_upstream_id, running()), so the job's move to processing is written with
  // that id when the request turns out to take a while, not before the submit.
  virtual bool submits_first() const { return false; }
  virtual Result<ProviderOutput> generate(ProviderCall& call) = 0;
  // Best effort: tell the upstream to stop (after a user cancel).
  virtual void cancel(const ModelSpec& /*model*/, const std::string& /*upstream_id*/, const std::string& /*api_key*/) {}
};

using ProviderRegistry = std::map<std::string, std::unique_ptr<Provider>>;

// The built-in offline provider.
std::unique_ptr<Provider> make_local_provider();

// Media processing on the local ffmpeg (SPEC 12; media/media.h): each job in a directory of its
// own, its inputs read from the blob store, ffmpeg under these limits and confined to that directory.
struct FfmpegSettings {
  std::string ffmpeg = "ffmpeg", ffprobe = "ffprobe";
  std::string work_dir;            // where job directories are made; "": the system's temp directory
  int timeout_s = 300;             // wall clock of one job, all its ffmpeg runs together
  int64_t memory_mb = 2048;        // per ffmpeg process (RLIMIT_DATA)
  int64_t max_output_mb = 512;     // all results of one job together (each file: RLIMIT_FSIZE)
  bool require_confinement = true;  // --render-sandbox strict: no run without the seccomp filter
};
class BlobStore;
std::unique_ptr<Provider> make_ffmpeg_provider(BlobStore& blobs, FfmpegSettings settings);

}  // namespace varg
