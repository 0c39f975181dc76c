// The ffmpeg provider (gen/provider.h): runs a media job's operation in a fresh directory where
// its inputs are in_1.<ext>, in_2.<ext>, ... and its results are written, then hands the results
// to the job. Nothing outside that directory is readable or writable to ffmpeg (Landlock), it
// has no network (seccomp), and it runs under CPU, memory, file-size and wall-clock limits.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/child_process.h"
#include "gen/blob_store.h"
#include "gen/provider.h"
#include "media/media.h"

namespace varg {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// The job's directory, removed with everything in it when the job is done.
struct WorkDir {
  fs::path path;
  ~WorkDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

struct Input {
  std::string name, media_type;
  std::vector<std::string> options;
  bool video() const { return media_type.starts_with("video/"); }
  bool audio() const { return media_type.starts_with("audio/"); }
};

class FfmpegProvider final : public Provider {
 public:
  FfmpegProvider(BlobStore& blobs, FfmpegSettings s) : blobs_(blobs), s_(std::move(s)) {}
  bool needs_key() const override { return false; }

  Result<ProviderOutput> generate(ProviderCall& call) override {
    WorkDir dir;
    std::string root = s_.work_dir.empty() ? fs::temp_directory_path().string() : s_.work_dir;
    std::string tmpl = root + "/varg-media-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return error(Code::internal, "cannot make the job's directory in " + root);
    dir.path = tmpl;
    Job job{call, dir.path, std::chrono::steady_clock::now() + std::chrono::seconds(s_.timeout_s), {}};
    for (size_t i = 0; i < call.inputs.size(); i++) {
      const InputFile& f = call.inputs[i];
      const std::string label = "in_" + std::to_string(i + 1);
      auto opts = media::input_options(f.media_type);
      if (!opts) return error(Code::invalid, label + " is not an image, audio or video file (it is " + f.media_type + ")");
      auto bytes = blobs_.get(f.hash);
      if (!bytes.ok()) return error(Code::internal, "cannot read " + label + " from the blob store");
      Input in{label + "." + media::copy_extension(f.media_type), f.media_type, *opts};
      std::ofstream out(dir.path / in.name, std::ios::binary);
      out << *bytes;
      if (!out.flush()) return error(Code::internal, "cannot write " + label + " to the job's directory");
      job.inputs.push_back(std::move(in));
    }
    const std::string op = call.params.value("op", "");
    if (job.inputs.empty()) return error(Code::invalid, "The media job has no input");
    if (op == "probe") return probe(job);
    if (op == "trim") return trim(job);
    if (op == "resize") return resize(job);
    if (op == "slice") return slice(job);
    if (op == "command") return command(job);
    return error(Code::invalid, "Unknown media operation '" + op + "'");
  }

 private:
  struct Job {
    ProviderCall& call;
    fs::path dir;
    std::chrono::steady_clock::time_point deadline;
    std::vector<Input> inputs;
  };

  ChildLimits limits(const Job& job) const {
    ChildLimits l;
    l.cpu_seconds = s_.timeout_s * 2;  // ffmpeg's threads share the two cores' time
    l.memory_mb = s_.memory_mb;
    l.max_files = 64;
    l.max_file_mb = s_.max_output_mb;
    l.isolate_network = true;
    l.require_confinement = s_.require_confinement;
    l.files_dir = job.dir.string();
    return l;
  }

  // One confined run in the job's directory; stdout is the answer (ffprobe's JSON).
  Result<std::string> exec(const Job& job, std::vector<std::string> argv) const {
    auto r = run_captured(argv, "", job.deadline, &job.call.cancelled, limits(job), job.dir.string(), 4u << 20);
    if (!r.ok()) {
      if (r.status().code == Code::timeout)
        return error(Code::timeout, "the job ran out of time (" + std::to_string(s_.timeout_s) + " s, --media-timeout)");
      return r.status();
    }
    if (unconfined(r->status)) return error(Code::unavailable, "cannot run confined on this machine (--render-sandbox strict)");
    if (!r->exited_ok()) {
      std::string why = r->err.substr(0, 600);
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
      if (WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGXFSZ)
        why = "a result passed " + std::to_string(s_.max_output_mb) + " MiB";
      if (WIFSIGNALED(r->status) && (WTERMSIG(r->status) == SIGXCPU || WTERMSIG(r->status) == SIGKILL) && why.empty())
        why = "stopped by its CPU or memory limit";
      return error(Code::invalid, "could not process the media: " + (why.empty() ? "exit status " + std::to_string(r->status) : why));
    }
    return std::move(r->out);
  }

  Status ffmpeg(const Job& job, const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {s_.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = exec(job, std::move(argv));
    return r.ok() ? Status::Ok() : r.status();
  }

  Result<json> ffprobe(const Job& job, const Input& in) const {
    std::vector<std::string> argv = {s_.ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"};
    argv.insert(argv.end(), in.options.begin(), in.options.end());
    argv.push_back(in.name);
    auto out = exec(job, std::move(argv));
    if (!out.ok()) return out.status();
    auto doc = json::parse(*out, nullptr, false);
    if (!doc.is_object()) return error(Code::invalid, in.name.substr(0, in.name.find('.')) + " could not be read as media");
    return doc;
  }

  // The results, read back in order, their total under the output cap.
  struct Results {
    std::vector<std::string> files;
    size_t total = 0;
  };
  Status collect(const Job& job, const std::string& name, Results& r) const {
    std::ifstream in(job.dir / name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str();
    if (!in || bytes.empty()) return error(Code::invalid, "ffmpeg wrote no " + name);
    r.total += bytes.size();
    if (r.total > size_t(s_.max_output_mb) << 20)
      return error(Code::invalid, "The job's results pass " + std::to_string(s_.max_output_mb) + " MiB");
    r.files.push_back(std::move(bytes));
    return Status::Ok();
  }

  static ProviderOutput output(Results r, json listing = nullptr) {
    ProviderOutput out;
    out.bytes = std::move(r.files.front());
    out.more.assign(std::make_move_iterator(r.files.begin() + 1), std::make_move_iterator(r.files.end()));
    out.listing = std::move(listing);
    return out;
  }

  Result<ProviderOutput> one_result(const Job& job, const std::vector<std::string>& args, const std::string& out) const {
    VARG_TRY(ffmpeg(job, args));
    Results r;
    VARG_TRY(collect(job, out, r));
    return output(std::move(r));
  }

  Result<ProviderOutput> probe(const Job& job) const {
    auto doc = ffprobe(job, job.inputs[0]);
    if (!doc.ok()) return doc.status();
    const auto size = int64_t(fs::file_size(job.dir / job.inputs[0].name));
    ProviderOutput out;
    out.bytes = media::probe_answer(*doc, size).dump();
    return out;
  }

  Result<ProviderOutput> trim(const Job& job) const {
    const Input& in = job.inputs[0];
    if (!in.video() && !in.audio()) return error(Code::invalid, "Trim takes a video or audio file, not " + in.media_type);
    const bool precise = job.call.params["precise"];
    const std::string out = "out." + (precise ? media::encode_extension(in.media_type) : media::copy_extension(in.media_type));
    return one_result(job, media::trim_args(job.call.params, in.options, in.name, in.video(), out), out);
  }

  Result<ProviderOutput> resize(const Job& job) const {
    const Input& in = job.inputs[0];
    if (in.audio()) return error(Code::invalid, "Resize takes a video or an image, not " + in.media_type);
    const std::string out = "out." + media::encode_extension(in.media_type);
    return one_result(job, media::resize_args(job.call.params, in.options, in.name, in.video(), out), out);
  }

  Result<ProviderOutput> slice(const Job& job) const {
    const Input& in = job.inputs[0];
    if (!in.video()) return error(Code::invalid, "Slice takes a video, not " + in.media_type);
    auto doc = ffprobe(job, in);
    if (!doc.ok()) return doc.status();
    const json probed = media::probe_answer(*doc, 0);
    auto ranges = media::slice_ranges(job.call.params, probed["duration"].is_number() ? probed["duration"].get<double>() : 0);
    if (!ranges.ok()) return ranges.status();
    const bool copy = job.call.params["codec"] == "copy", thumbs = job.call.params["thumbnails"];
    const std::string ext = copy ? media::copy_extension(in.media_type) : "mp4";
    const auto seg_opts = *media::input_options(copy ? in.media_type : "video/mp4");
    Results r;
    json segments = json::array();
    for (size_t i = 0; i < ranges->size(); i++) {
      const auto [start, end] = (*ranges)[i];
      const std::string seg = "seg_" + std::to_string(i) + "." + ext;
      VARG_TRY(ffmpeg(job, media::segment_args(in.options, in.name, start, end, copy, seg)));
      json entry = {{"index", i}, {"start", start}, {"end", end}, {"duration", std::round((end - start) * 1000) / 1000},
                    {"file", r.files.size()}};
      VARG_TRY(collect(job, seg, r));
      if (thumbs) {
        const std::string first = "seg_" + std::to_string(i) + ".jpg", thumb = "seg_" + std::to_string(i) + ".webp";
        VARG_TRY(ffmpeg(job, media::first_frame_args(seg_opts, seg, first)));
        VARG_TRY(ffmpeg(job, media::thumbnail_args(seg_opts, seg, thumb)));
        entry["first_frame"] = {{"file", r.files.size()}};
        VARG_TRY(collect(job, first, r));
        entry["thumbnail"] = {{"file", r.files.size()}};
        VARG_TRY(collect(job, thumb, r));
      }
      segments.push_back(std::move(entry));
      std::error_code ec;  // the job's directory holds one segment at a time besides the input
      for (auto name : {seg, "seg_" + std::to_string(i) + ".jpg", "seg_" + std::to_string(i) + ".webp"}) fs::remove(job.dir / name, ec);
    }
    return output(std::move(r), {{"segments", segments}});
  }

  Result<ProviderOutput> command(const Job& job) const {
    media::CommandFiles files;
    for (auto& in : job.inputs) {
      files.inputs.push_back(in.name);
      files.input_options.push_back(in.options);
    }
    const json& outputs = job.call.params["outputs"];
    for (auto& [label, name] : outputs.items()) {
      const std::string n = name;
      files.outputs[label] = label + n.substr(n.rfind('.'));
    }
    auto args = media::command_args(job.call.params["words"].get<std::vector<std::string>>(), files);
    if (!args.ok()) return args.status();
    VARG_TRY(ffmpeg(job, *args));
    Results r;
    json listed = json::object();
    for (auto& [label, name] : outputs.items()) {
      listed[label] = {{"name", name}, {"file", r.files.size()}};
      VARG_TRY(collect(job, files.outputs[label], r));
    }
    return output(std::move(r), {{"files", listed}});
  }

  BlobStore& blobs_;
  FfmpegSettings s_;
};

}  // namespace

std::unique_ptr<Provider> make_ffmpeg_provider(BlobStore& blobs, FfmpegSettings settings) {
  return std::make_unique<FfmpegProvider>(blobs, std::move(settings));
}

}  // namespace varg
