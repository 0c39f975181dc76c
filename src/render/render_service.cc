#include "render/render_service.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/crypto.h"
#include "gen/providers/local/temp_dir.h"
#include "render/assembler.h"
#include "common/child_process.h"

namespace varg::render {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

struct RenderService::Running {
  RenderJobRecord rec;
  RenderRequest req;
  std::string module_js;
  std::atomic<bool> cancelled{false};
  steady::time_point deadline;
  std::string workdir;
  std::mutex mu;
  json files = json::array();
  std::map<std::string, std::string> local;  // file URL → local path
  std::set<std::string> sub_jobs;
};

namespace {

const std::set<std::string> kMedia = {"image", "video", "speech", "music", "talking-head"};
// The stand-in URL of a generation in the dry run (the .invalid domain: never resolvable).
constexpr const char* kPending = "https://pending.invalid/generation-";

// A Status's `field` carries the render error category across the evaluator.
Status failure(Code c, const std::string& message, const std::string& category) {
  Status s = error(c, message);
  s.field = category;
  return s;
}

std::string category_of(const Status& s) {
  switch (s.code) {
    case Code::invalid: return "invalid_source";
    case Code::insufficient_balance: return "quota_exceeded";
    case Code::rate_limited: return "rate_limited";
    case Code::provider_error: return "provider_error";
    case Code::timeout: return "timeout";
    default: return "internal";
  }
}

std::string text_of(const json& node) {
  std::string t;
  for (auto& c : node.value("children", json::array()))
    if (c.is_string()) t += (t.empty() ? "" : " ") + c.get<std::string>();
  return t;
}

std::string prompt_text(const json& props) {
  const json p = props.value("prompt", json());
  if (p.is_string()) return p.get<std::string>();
  if (p.is_object() && p.contains("text") && p["text"].is_string()) return p["text"].get<std::string>();
  return "";
}

std::string capability(const std::string& type) { return type == "talking-head" ? "video" : type; }

std::string model_name(const json& node, const Catalog& catalog) {
  const std::string type = node.value("type", "");
  const json m = node.value("props", json::object()).value("model", json());
  if (m.is_object() && m.contains("modelId")) {
    const std::string id = m.value("modelId", ""), provider = m.value("provider", "");
    if (catalog.find(id)) return id;
    return provider.empty() || provider == "varg" ? id : provider + ":" + id;
  }
  if (m.is_string()) return m.get<std::string>();
  if (type == "image") return "nano-banana-pro";
  if (type == "video" || type == "talking-head") return "kling-v3";
  if (type == "speech") return "eleven_v3";
  return "music_v1";
}

int requested_seconds(const json& node) {
  const json p = node.value("props", json::object());
  if (p.contains("duration") && p["duration"].is_number()) return std::max(1, int(std::lround(p["duration"].get<double>())));
  return 0;
}

// Segments of a multi-part speech: its parts' share of the words over the audio's length.
json segments_for(const json& node, double duration) {
  std::vector<std::string> parts;
  for (auto& c : node.value("children", json::array()))
    if (c.is_string()) parts.push_back(c.get<std::string>());
  if (parts.size() < 2) return json();
  std::vector<size_t> words;
  size_t total = 0;
  for (auto& p : parts) {
    size_t n = 0;
    bool in = false;
    for (char ch : p) {
      bool sp = std::isspace(static_cast<unsigned char>(ch));
      if (!sp && !in) n++;
      in = !sp;
    }
    words.push_back(std::max<size_t>(n, 1));
    total += words.back();
  }
  json out = json::array();
  double t = 0;
  for (size_t i = 0; i < parts.size(); i++) {
    double d = duration * double(words[i]) / double(total);
    out.push_back({{"text", parts[i]}, {"start", t}, {"end", t + d}, {"duration", d}});
    t += d;
  }
  return out;
}

}  // namespace

RenderService::RenderService(Store& store, Jobs& jobs, Files& files, ProviderKeys& keys, const Clock& clock,
                             RenderSettings s)
    : store_(store), jobs_(jobs), files_(files), keys_(keys), clock_(clock), s_(std::move(s)) {}

RenderService::~RenderService() { stop(); }

EvalOptions RenderService::eval_options() const {
  EvalOptions eo;
  eo.node = s_.node;
  eo.esbuild = s_.esbuild;
  eo.memory_mb = s_.evaluator_memory_mb;
  eo.require_confinement = s_.require_confinement;
  return eo;
}

ChildLimits RenderService::ffmpeg_limits() const {
  ChildLimits l;
  l.cpu_seconds = int(s_.job_timeout_ms / 1000);
  l.memory_mb = s_.ffmpeg_memory_mb;
  l.max_file_mb = 4096;  // the largest file ffmpeg may write (the MP4 of a maximal render is far below)
  l.max_files = 256;
  l.require_confinement = s_.require_confinement;
  return l;
}

void RenderService::start() {
  if (auto left = store_.unfinished_render_jobs(); left.ok()) {
    for (auto rec : *left) {
      rec.status = "failed";
      rec.error = "vargd restarted while this render was running; submit it again";
      rec.error_category = "internal";
      rec.completed_at = clock_.now();
      (void)store_.update_render_job(rec, "rendering");
    }
  }
  for (int i = 0; i < std::max(1, s_.workers); i++) threads_.emplace_back([this] { worker(); });
  threads_.emplace_back([this] { timer(); });
}

void RenderService::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (auto& [id, r] : live_) r->cancelled = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

RateInfo RenderService::rate(int64_t user) {
  std::lock_guard lk(mu_);
  auto& q = submits_[user];
  const int64_t now = clock_.now_ms();
  while (!q.empty() && q.front() <= now - 60000) q.pop_front();
  RateInfo r{s_.per_minute, std::max(0, s_.per_minute - int(q.size())), (q.empty() ? now : q.front() + 60000) / 1000};
  return r;
}

Status RenderService::admit(const RenderRequest& req, const std::vector<json>& nodes) {
  std::set<std::string> saved;
  if (auto keys = keys_.list(req.user_id); keys.ok())
    for (auto& k : *keys) saved.insert(k.provider);
  int64_t need = 0;
  for (auto& n : nodes) {
    const std::string type = n.value("type", "");
    if (req.mode == "preview" && (type == "image" || type == "video")) continue;
    if (n.value("props", json::object()).contains("src")) continue;
    const ModelSpec* m = jobs_.catalog().find(model_name(n, jobs_.catalog()));
    if (!m) continue;
    const int secs = requested_seconds(n);
    const int64_t price = m->price(secs ? secs : m->default_duration);
    // The same check Jobs::submit makes for each generation, made up front: a 403 before a 202.
    VARG_TRY(check_generate_right(req.permissions, capability(type), *m, price));
    if (req.provider_keys.count(m->provider) || saved.count(m->provider)) continue;
    need += price;
  }
  if (need == 0) return Status::Ok();
  auto bal = store_.balance(req.user_id);
  if (!bal.ok()) return bal.status();
  if (bal->available() < need)
    return error(Code::insufficient_balance, "Insufficient balance. Required: " + std::to_string(need) +
                                                 " credits, available: " + std::to_string(bal->available()) + " credits");
  return Status::Ok();
}

// A dry run with stand-in generations: the root must be a <Render>, and the account must be able
// to pay for what the composition generates before anything is spent — unless `estimating`, when
// any failure of the composition is the answer instead (a render would fail with it). The
// generations it saw; *module_js the transpiled composition.
Result<std::vector<json>> RenderService::dry_run(const RenderRequest& req, std::string* module_js, bool estimating) {
  EvalOptions eo = eval_options();
  auto js = transpile(req.code, eo);
  if (!js.ok()) return js.status();
  std::mutex seen_mu;
  std::vector<json> seen;
  eo.cpu_seconds = 3;
  eo.sync_timeout_ms = 2000;
  eo.deadline = steady::now() + std::chrono::seconds(4);
  std::atomic<bool> never{false};
  auto dry = evaluate(*js, [&](const json& node) -> Result<json> {
    std::lock_guard lk(seen_mu);
    seen.push_back(node);
    const std::string type = node.value("type", "");
    const int secs = requested_seconds(node);
    // A URL that is never fetched, with the extension of what the generation makes: the estimate
    // of a generation that takes it counts its kind.
    json meta = {{"url", std::string(kPending) + std::to_string(seen.size()) +
                             (type == "image" ? ".png" : type == "speech" || type == "music" ? ".mp3" : ".mp4")},
                 {"duration", type == "image" ? 0 : (secs ? secs : 3)}};
    if (auto segs = segments_for(node, 3.0); !segs.is_null()) meta["segments"] = segs;
    return meta;
  }, eo, never);
  if (!dry.ok && dry.err.category == "not_render") return error(Code::invalid, "Invalid render code: " + dry.err.message, "code");
  if (!dry.ok && dry.err.category == "internal") return error(Code::unavailable, dry.err.message);
  if (!dry.ok && estimating) return error(Code::invalid, "The composition fails: " + dry.err.message, "code");
  if (dry.ok) {
    VARG_TRY(check_tree(dry.tree, s_.limits));
    if (!estimating) VARG_TRY(admit(req, seen));
  }
  if (module_js) *module_js = std::move(*js);
  return seen;
}

Result<RenderEstimate> RenderService::estimate(const RenderRequest& req) {
  auto seen = dry_run(req, nullptr, true);
  if (!seen.ok()) return seen.status();
  RenderEstimate e;
  for (auto& node : *seen) {
    const std::string type = node.value("type", "");
    json item = {{"type", type}};
    const json props = node.value("props", json::object());
    if (props.contains("src") || (req.mode == "preview" && (type == "image" || type == "video")) || type == "talking-head") {
      item.update({{"credits", 0}, {"billing", {{"mode", "free"}}}});
    } else {
      auto [cap, body] = generation_request(node);
      item["model"] = body["model"];
      Jobs::Submission sub{req.user_id, cap, body, req.provider_keys, "", req.permissions};
      auto est = jobs_.estimate(sub);
      if (!est.ok()) return est.status();
      item.update({{"credits", est->credits}, {"billing", {{"mode", est->mode}}}});
      e.credits += est->credits;
    }
    e.generations.push_back(std::move(item));
  }
  return e;
}

Result<Accepted> RenderService::submit(const RenderRequest& req) {
  {
    std::lock_guard lk(mu_);
    auto& q = submits_[req.user_id];
    const int64_t now = clock_.now_ms();
    while (!q.empty() && q.front() <= now - 60000) q.pop_front();
    if (int(q.size()) >= s_.per_minute) {
      Status s = error(Code::rate_limited, "Too many renders: at most " + std::to_string(s_.per_minute) + " per minute");
      s.retry_after = int((q.front() + 60000 - now + 999) / 1000);
      return s;
    }
    int active = 0;
    for (auto& [id, r] : live_) active += r->req.user_id == req.user_id;
    if (active >= s_.max_concurrent) {
      Status s = error(Code::rate_limited, "Too many renders at once: at most " + std::to_string(s_.max_concurrent) +
                                               " per account; wait for one to finish");
      s.retry_after = 5;
      return s;
    }
    q.push_back(now);
  }
  std::string js;
  auto seen = dry_run(req, &js, false);
  if (!seen.ok()) return seen.status();

  auto r = std::make_shared<Running>();
  r->req = req;
  r->module_js = std::move(js);
  r->rec.id = "render_" + random_base62(20);
  r->rec.user_id = req.user_id;
  r->rec.mode = req.mode;
  r->rec.output = req.output;
  r->rec.created_at = clock_.now();
  VARG_TRY(store_.insert_render_job(r->rec));
  Accepted a;
  a.job = r->rec;
  a.estimated_ms = 8000 + 4000 * int64_t(seen->size());
  {
    std::lock_guard lk(mu_);
    live_[r->rec.id] = r;
    queue_.push_back(r);
    a.active = running_;
    a.waiting = int(queue_.size());
  }
  cv_.notify_all();
  return a;
}

Result<RenderJobRecord> RenderService::get(int64_t user, const std::string& id) {
  auto r = store_.render_job(id);
  if (!r.ok() || r->user_id != user) return error(Code::not_found, "No such render job");
  return r;
}

Result<RenderJobRecord> RenderService::cancel(int64_t user, const std::string& id) {
  auto rec = get(user, id);
  if (!rec.ok()) return rec;
  std::shared_ptr<Running> r;
  {
    std::lock_guard lk(mu_);
    if (auto it = live_.find(id); it != live_.end()) r = it->second;
  }
  if (!r) return rec;  // finished: nothing to cancel
  r->cancelled = true;
  std::set<std::string> subs;
  {
    std::lock_guard lk(r->mu);
    subs = r->sub_jobs;
  }
  for (auto& j : subs) (void)jobs_.cancel(user, j);
  RenderJobRecord done = *rec;
  done.status = "failed";
  done.error = "Render cancelled";
  done.error_category = "cancelled";
  done.completed_at = clock_.now();
  if (auto moved = store_.update_render_job(done, "rendering"); moved.ok() && *moved) notify(id);
  return get(user, id);
}

Result<std::vector<RenderJobRecord>> RenderService::list(int64_t user, int limit) {
  return store_.render_jobs_of(user, std::clamp(limit, 1, 100));
}

json RenderService::to_json(const RenderJobRecord& r) const {
  auto opt = [](const std::string& s) { return s.empty() ? json() : json(s); };
  auto time = [](const std::optional<int64_t>& t) { return t ? json(iso8601(*t)) : json(); };
  json files = json::parse(r.files, nullptr, false);
  return {{"job_id", r.id},
          {"status", r.status},
          {"mode", r.mode},
          {"output", r.output},
          {"output_url", opt(r.output_url)},
          {"thumbnail_url", opt(r.thumbnail_url)},
          {"files", files.is_array() ? files : json::array()},
          {"duration_ms", r.status == "rendering" ? json() : json(r.duration_ms)},
          {"created_at", iso8601(r.created_at)},
          {"started_at", time(r.started_at)},
          {"completed_at", time(r.completed_at)},
          {"error", opt(r.error)},
          {"error_category", opt(r.error_category)}};
}

uint64_t RenderService::version(const std::string& id) {
  std::lock_guard lk(mu_);
  return versions_[id];
}

void RenderService::watch(const std::string& id, uint64_t seen, steady::time_point deadline, std::function<void(bool)> cb) {
  {
    std::lock_guard lk(mu_);
    if (versions_[id] <= seen) {
      watchers_[id].push_back({seen, deadline, std::move(cb)});
      return;
    }
  }
  cb(true);
}

void RenderService::notify(const std::string& id) {
  std::vector<std::function<void(bool)>> fire;
  {
    std::lock_guard lk(mu_);
    versions_[id]++;
    auto it = watchers_.find(id);
    if (it != watchers_.end()) {
      for (auto& w : it->second) fire.push_back(std::move(w.cb));
      watchers_.erase(it);
    }
  }
  for (auto& f : fire) f(true);
}

void RenderService::timer() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    cv_.wait_for(lk, std::chrono::milliseconds(250));
    std::vector<std::function<void(bool)>> fire;
    const auto now = steady::now();
    for (auto& [id, ws] : watchers_) {
      for (auto it = ws.begin(); it != ws.end();) {
        if (it->deadline <= now || stopping_) {
          fire.push_back(std::move(it->cb));
          it = ws.erase(it);
        } else {
          ++it;
        }
      }
    }
    lk.unlock();
    for (auto& f : fire) f(false);
    lk.lock();
  }
}

void RenderService::worker() {
  while (true) {
    std::shared_ptr<Running> r;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || next_fair() != queue_.end(); });
      if (stopping_) return;
      auto it = next_fair();
      r = *it;
      queue_.erase(it);
      running_++;
      running_of_[r->req.user_id]++;
    }
    try {
      run(r);
    } catch (const std::exception& e) {
      RenderJobRecord rec = r->rec;
      rec.status = "failed";
      rec.error = "Internal error while rendering";
      rec.error_category = "internal";
      spdlog::error(json{{"msg", "render threw"}, {"render", r->rec.id}, {"what", e.what()}}.dump());
      finish(*r, rec);
    }
    {
      std::lock_guard lk(mu_);
      running_--;
      if (--running_of_[r->req.user_id] == 0) running_of_.erase(r->req.user_id);
      live_.erase(r->rec.id);
    }
    cv_.notify_all();  // a worker may now take a render of this account
  }
}

std::deque<std::shared_ptr<RenderService::Running>>::iterator RenderService::next_fair() {
  // The oldest render of the account running the fewest, among accounts below their share: one
  // account can never hold every worker while another waits.
  const int workers = std::max(1, s_.workers);
  const int share = s_.per_account_running > 0 ? s_.per_account_running : std::max(1, workers - 1);
  auto best = queue_.end();
  int best_running = share;
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    auto found = running_of_.find((*it)->req.user_id);
    const int running = found == running_of_.end() ? 0 : found->second;
    if (running < best_running) best = it, best_running = running;
  }
  return best;
}

void RenderService::finish(Running& r, RenderJobRecord rec) {
  rec.completed_at = clock_.now();
  {
    std::lock_guard lk(r.mu);
    rec.files = r.files.dump();
  }
  auto moved = store_.update_render_job(rec, "rendering");
  if (!moved.ok()) spdlog::error(json{{"msg", "render update failed"}, {"render", rec.id}, {"detail", moved.status().message}}.dump());
  notify(rec.id);
}

std::pair<std::string, json> RenderService::generation_request(const json& node) const {
  const std::string type = node.value("type", "");
  const json props = node.value("props", json::object());
  json body = {{"model", model_name(node, jobs_.catalog())}};
  const std::string cap = capability(type);
  if (cap == "speech") {
    body["text"] = text_of(node);
    if (props.contains("voice") && props["voice"].is_string()) body["voice"] = props["voice"];
  } else {
    body["prompt"] = prompt_text(props);
    if (props.contains("aspectRatio") && props["aspectRatio"].is_string()) body["aspect_ratio"] = props["aspectRatio"];
    if (int secs = requested_seconds(node); secs && (cap == "video" || cap == "music")) body["duration"] = secs;
    json inputs = json::array();
    const json pr = props.value("prompt", json());
    if (pr.is_object())
      for (const char* k : {"images", "audio", "video"}) {
        json v = pr.value(k, json());
        for (auto& x : v.is_array() ? v : json::array({v})) {
          if (x.is_string()) inputs.push_back({{"url", x}});
          else if (x.is_object() && x.contains("meta") && x["meta"].contains("url")) inputs.push_back({{"url", x["meta"]["url"]}});
        }
      }
    if (!inputs.empty()) body["files"] = inputs;
  }
  if (props.contains("providerOptions") && props["providerOptions"].is_object()) body["provider_options"] = props["providerOptions"];
  return {cap, body};
}

Result<json> RenderService::generate(Running& r, const json& node) {
  const std::string type = node.value("type", "");
  const json props = node.value("props", json::object());
  if (!kMedia.count(type)) return failure(Code::invalid, "Cannot generate <" + type + ">", "invalid_source");
  if (type == "talking-head")
    return failure(Code::invalid, "TalkingHead is not supported yet; use Video with prompt {images, audio}", "invalid_source");
  auto local_copy = [&](const FileRecord& f) -> Result<std::string> {
    const std::string url = files_.url(f);
    std::lock_guard lk(r.mu);
    if (auto it = r.local.find(url); it != r.local.end()) return it->second;
    auto bytes = files_.bytes(f);
    if (!bytes.ok()) return bytes.status();
    const std::string path = r.workdir + "/in" + std::to_string(r.local.size()) + "." + f.ext;
    std::ofstream(path, std::ios::binary) << *bytes;
    r.local[url] = path;
    return path;
  };
  auto probe = [&](const std::string& path, json& meta) {
    auto p = run_captured({s_.ffprobe, "-v", "error", "-show_entries", "format=duration:stream=codec_type", "-of", "json", path},
                          "", steady::now() + std::chrono::seconds(20), &r.cancelled, ffmpeg_limits());
    if (!p.ok() || !p->exited_ok()) return;
    json j = json::parse(p->out, nullptr, false);
    if (!j.is_object()) return;
    try {
      meta["duration"] = std::stod(j["format"].value("duration", std::string("0")));
    } catch (...) {
    }
    for (auto& s : j.value("streams", json::array()))
      if (s.value("codec_type", "") == "audio") meta["has_audio"] = true;
  };
  auto describe = [&](const FileRecord& f, const std::string& model) -> Result<json> {
    auto path = local_copy(f);
    if (!path.ok()) return path.status();
    json meta = {{"url", files_.url(f)}, {"mediaType", f.media_type}, {"duration", 0}};
    if (type != "image") probe(*path, meta);
    if (type == "speech") {
      meta["text"] = text_of(node);
      if (auto segs = segments_for(node, meta.value("duration", 0.0)); !segs.is_null()) meta["segments"] = segs;
    }
    std::lock_guard lk(r.mu);
    r.files.push_back({{"url", files_.url(f)}, {"mediaType", f.media_type},
                       {"metadata", {{"type", type}, {"model", model}, {"prompt", type == "speech" ? text_of(node) : prompt_text(props)}}}});
    return meta;
  };

  if (props.contains("src")) {
    if (!props["src"].is_string()) return failure(Code::invalid, "src must be a URL", "invalid_source");
    auto f = files_.resolve(props["src"].get<std::string>());
    if (!f.ok())
      return failure(Code::invalid, "src must be a file of this gateway (upload it with POST /v1/files): " + props["src"].get<std::string>(),
                     "invalid_source");
    return describe(*f, "src");
  }

  if (r.req.mode == "preview" && (type == "image" || type == "video")) {
    // A placeholder of the right size and length; nothing generated, nothing charged.
    const std::string name = r.workdir + "/ph" + random_base62(8) + (type == "image" ? ".png" : ".mp4");
    const std::string colour = "0x" + to_hex(sha256(prompt_text(props))).substr(0, 6);
    const int secs = type == "video" ? (requested_seconds(node) ? requested_seconds(node) : 5) : 1;
    std::vector<std::string> argv = {s_.ffmpeg, "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                                     "color=c=" + colour + ":s=1280x720:r=30:d=" + std::to_string(secs)};
    if (type == "image") argv.insert(argv.end(), {"-frames:v", "1", name});
    else argv.insert(argv.end(), {"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", name});
    auto p = run_captured(argv, "", steady::now() + std::chrono::seconds(60), &r.cancelled, ffmpeg_limits());
    if (!p.ok() || !p->exited_ok()) return failure(Code::internal, "placeholder failed", "internal");
    std::ifstream in(name, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool existed = false;
    auto f = files_.put(bytes, &existed);
    if (!f.ok()) return f.status();
    return describe(*f, "placeholder");
  }

  auto [cap, body] = generation_request(node);
  const std::string model = body["model"];
  Jobs::Submission sub{r.req.user_id, cap, body, r.req.provider_keys, "", r.req.permissions};
  auto job = jobs_.submit(sub);
  if (!job.ok()) return failure(job.status().code, job.status().message, category_of(job.status()));
  {
    std::lock_guard lk(r.mu);
    r.sub_jobs.insert(job->id);
  }
  JobRecord j = *job;
  while (is_live(j.status)) {
    if (r.cancelled.load()) {
      (void)jobs_.cancel(r.req.user_id, j.id);
      return failure(Code::unavailable, "Render cancelled", "cancelled");
    }
    if (steady::now() > r.deadline) {
      (void)jobs_.cancel(r.req.user_id, j.id);
      return failure(Code::timeout, "The render timed out", "timeout");
    }
    const uint64_t v = jobs_.version(j.id);
    std::mutex m;
    std::condition_variable cv;
    bool fired = false;
    jobs_.watch(j.id, v, steady::now() + std::chrono::milliseconds(500), [&](bool) {
      std::lock_guard lk(m);
      fired = true;
      cv.notify_all();
    });
    {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return fired; });
    }
    auto now = jobs_.get(r.req.user_id, j.id);
    if (!now.ok()) return failure(Code::internal, now.status().message, "internal");
    j = *now;
  }
  if (j.status != JobStatus::completed) {
    const std::string why = j.error.empty() ? std::string("generation ") + job_status_name(j.status) : j.error;
    return failure(Code::provider_error, model + ": " + why, j.status == JobStatus::cancelled ? "cancelled" : "provider_error");
  }
  auto f = store_.file(j.output_file_id);
  if (!f.ok()) return failure(Code::internal, "result file missing", "internal");
  return describe(*f, j.model);
}

void RenderService::run(std::shared_ptr<Running> r) {
  const auto t0 = steady::now();
  RenderJobRecord rec = r->rec;
  rec.started_at = clock_.now();
  (void)store_.update_render_job(rec, "rendering");
  notify(rec.id);
  r->deadline = t0 + std::chrono::milliseconds(s_.job_timeout_ms);
  auto fail = [&](const std::string& message, const std::string& category) {
    rec.status = "failed";
    rec.error = message;
    rec.error_category = category;
    rec.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
    finish(*r, rec);
  };
  if (r->cancelled.load()) return fail("Render cancelled", "cancelled");
  auto dir = local::TempDir::create("varg-render-");
  if (!dir.ok()) return fail("cannot create a work directory", "internal");
  r->workdir = dir->path().string();

  EvalOptions eo = eval_options();
  eo.deadline = r->deadline;
  auto ev = evaluate(r->module_js, [&](const json& node) { return generate(*r, node); }, eo, r->cancelled);
  if (!ev.ok) return fail(ev.err.message, ev.err.category == "not_render" ? "invalid_source" : ev.err.category);

  // Every media node of the tree, by id, with its local copy.
  AssembleJob aj;
  aj.tree = ev.tree;
  aj.workdir = r->workdir;
  aj.ffmpeg = s_.ffmpeg;
  aj.deadline = r->deadline;
  aj.limits = s_.limits;
  aj.ffmpeg_limits = ffmpeg_limits();
  std::map<std::string, json> by_id;  // for {"$ref"}
  std::function<void(const json&)> walk = [&](const json& n) {
    if (n.is_array()) {
      for (auto& x : n) walk(x);
      return;
    }
    if (!n.is_object()) return;
    if (n.contains("type") && n.contains("id") && n["id"].is_string() && !by_id.count(n["id"])) by_id[n["id"]] = n;
    if (n.contains("type") && kMedia.count(n.value("type", "")) && n.contains("meta") && n["meta"].contains("url")) {
      std::lock_guard lk(r->mu);
      auto it = r->local.find(n["meta"].value("url", ""));
      if (it != r->local.end())
        aj.media[n.value("id", "")] = {it->second, n["meta"].value("duration", 0.0), n["meta"].value("has_audio", false)};
    }
    for (auto& [k, v] : n.items())
      if (k != "meta") walk(v);
  };
  walk(ev.tree);
  if (r->cancelled.load()) return fail("Render cancelled", "cancelled");

  if (r->req.output == "frames") {
    json files = json::array();
    int clip = 0;
    for (auto& c : ev.tree.value("children", json::array())) {
      if (c.value("type", "") != "clip") continue;
      std::function<json(const json&)> first = [&](const json& n) -> json {
        if (!n.is_object()) return nullptr;
        if (n.value("type", "") == "image" && n.contains("meta")) return n;
        if (n.contains("$ref") && n["$ref"].is_string()) return first(by_id[n["$ref"].get<std::string>()]);
        if (n.contains("children") && n["children"].is_array())
          for (auto& k : n["children"])
            if (json f = first(k); !f.is_null()) return f;
        return nullptr;
      };
      if (json img = first(c); !img.is_null())
        files.push_back({{"url", img["meta"].value("url", "")}, {"mediaType", img["meta"].value("mediaType", "image/png")},
                         {"clipIndex", clip},
                         {"metadata", {{"type", "image"}, {"prompt", prompt_text(img.value("props", json::object()))}}}});
      clip++;
    }
    {
      std::lock_guard lk(r->mu);
      r->files = files;
    }
    rec.status = "completed";
    rec.output_url = files.empty() ? "" : files[0].value("url", "");
    rec.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
    return finish(*r, rec);
  }

  auto out = assemble(aj, r->cancelled);
  if (!out.ok()) {
    if (r->cancelled.load()) return fail("Render cancelled", "cancelled");
    spdlog::warn(json{{"msg", "assembly failed"}, {"render", rec.id}, {"detail", out.status().message}}.dump());
    return fail(out.status().code == Code::invalid ? out.status().message : "Assembling the video failed: " + out.status().message,
                out.status().code == Code::invalid ? "invalid_source" : out.status().code == Code::timeout ? "timeout" : "internal");
  }
  std::ifstream in(out->path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bool existed = false;
  auto f = files_.put(bytes, &existed);
  if (!f.ok()) return fail("storing the video failed", "internal");
  rec.output_url = files_.url(*f);
  auto th = run_captured({s_.ffmpeg, "-nostdin", "-y", "-loglevel", "error", "-ss", std::to_string(std::min(0.5, out->duration / 2)),
                          "-i", out->path, "-frames:v", "1", "-q:v", "3", r->workdir + "/thumb.jpg"},
                         "", steady::now() + std::chrono::seconds(30), &r->cancelled, ffmpeg_limits());
  if (th.ok() && th->exited_ok()) {
    std::ifstream tin(r->workdir + "/thumb.jpg", std::ios::binary);
    std::string tb((std::istreambuf_iterator<char>(tin)), std::istreambuf_iterator<char>());
    if (auto tf = files_.put(tb, &existed); tf.ok()) rec.thumbnail_url = files_.url(*tf);
  }
  if (r->cancelled.load()) return fail("Render cancelled", "cancelled");
  rec.status = "completed";
  rec.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
  finish(*r, rec);
}

}  // namespace varg::render
