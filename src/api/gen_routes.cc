// The v1 gateway's generation API (SPEC 6): generation requests, jobs, their event streams,
// uploads, public result files, and the model, voice and price listings.
#include <algorithm>
#include <chrono>
#include <mutex>

#include <sys/stat.h>

#include "api/services.h"
#include "api/status_events.h"
#include "common/crypto.h"
#include "common/json.h"
#include "gen/media_type.h"

namespace varg {

namespace {

using steady = std::chrono::steady_clock;
const char* const kCapabilities[] = {"image", "video", "speech", "music", "transcription"};

std::string cache_control(const Request& req) {
  std::string_view cc = req.header("cache-control");
  if (cc.find("no-store") != std::string_view::npos) return "no-store";
  if (cc.find("no-cache") != std::string_view::npos) return "no-cache";
  return "";
}

// Prefer: wait[=N] → seconds to hold the answer (N ≤ 60, default 30); 0 when absent.
int prefer_wait(const Request& req) {
  std::string_view p = req.header("prefer");
  auto at = p.find("wait");
  if (at == std::string_view::npos) return 0;
  p.remove_prefix(at + 4);
  if (p.empty() || p.front() != '=') return 30;
  int n = 0;
  for (size_t i = 1; i < p.size() && std::isdigit(static_cast<unsigned char>(p[i])) && n < 1000; i++) n = n * 10 + (p[i] - '0');
  return std::clamp(n, 1, 60);
}

Response job_response(Jobs& jobs, const JobRecord& j, int status) {
  Response r = json_response(status, jobs.to_json(j));
  r.set_header("X-Cache", j.cache_hit ? "HIT" : "MISS");
  r.set_header("X-Cache-Key", j.cache_key);
  r.set_header("X-Cache-TTL", std::to_string(jobs.options().cache_ttl));
  return r;
}

// Holds a job's answer until it ends or the deadline passes (Prefer: wait, probe): then `answer`
// makes the response from the job as it is.
void wait_for_job(Jobs& jobs, int64_t user, std::string id, steady::time_point deadline,
                  std::function<Response(const JobRecord&)> answer, std::function<void(Response)> deliver) {
  uint64_t seen = jobs.version(id);
  auto j = jobs.get(user, id);
  if (j.ok() && (!is_live(j->status) || steady::now() >= deadline)) return deliver(answer(*j));
  if (!j.ok()) return deliver(error_response(Family::gateway, j.status()));
  jobs.watch(id, seen, deadline, [&jobs, user, id, deadline, answer, deliver](bool) {
    wait_for_job(jobs, user, id, deadline, answer, deliver);
  });
}

json model_json(const ModelSpec& m) {
  json params = json::object();
  const std::string& cap = m.capability;
  if (cap == "image" || cap == "video" || cap == "music") params["prompt"] = {{"required", !m.prompt_optional}};
  if (m.takes_duration()) {
    params["duration"] = {{"default", m.default_duration}};
    if (!m.durations.empty()) params["duration"]["values"] = m.durations;
    else params["duration"].update({{"min", m.min_duration}, {"max", m.max_duration ? m.max_duration : 3600}});
  }
  if (cap == "image" || cap == "video") {
    params["aspect_ratio"] = {{"default", m.default_aspect_ratio()}};
    if (!m.aspect_ratios.empty()) params["aspect_ratio"]["values"] = m.aspect_ratios;
  }
  if (cap == "speech") params["voice"] = {{"default", "rachel"}};
  for (auto& f : m.files) params["files"][f.media] = {{"min", f.min}, {"max", f.max}};
  for (auto& c : m.choices) params[c.name] = {{"default", c.def}, {"values", c.values}};
  return {{"id", m.id},          {"capability", m.capability}, {"provider", m.provider},
          {"credits", m.credits}, {"unit", m.unit()},           {"parameters", params}};
}

// Permission constraints on generation see the model and the price of this very request.
std::function<json(const Request&)> generation_attrs(Services& s, std::string cap) {
  return [&s, cap](const Request& req) -> json {
    auto parsed = parse_untrusted(req.body);
    if (!parsed.ok() || !parsed->is_object()) return json::object();
    const json& body = *parsed;
    auto r = normalize_request(cap, body, s.jobs->catalog());
    if (!r.ok()) return body.contains("model") ? json{{"model", body["model"]}} : json::object();
    return generate_attrs(*r->model, r->credits());
  };
}

// GET /files/{name}: the bytes, with ETag, 304 and one Range; only allow-listed media types inline.
Result<Response> serve_file(Services& s, Ctx& ctx) {
  auto f = s.files->by_name(ctx.param("name"));
  if (!f.ok()) return f.status();
  Response r;
  if (servable_inline(f->media_type)) {
    r.content_type = f->media_type;
  } else {
    r.content_type = "application/octet-stream";
    r.set_header("Content-Disposition", "attachment; filename=\"" + f->id + "." + f->ext + "\"");
  }
  const std::string etag = "\"" + f->hash + "\"";
  r.set_header("ETag", etag);
  r.set_header("Cache-Control", "public, max-age=31536000, immutable");
  r.set_header("Accept-Ranges", "bytes");
  if (ctx.req.header("if-none-match") == etag) {
    r.status = 304;
    return r;
  }
  const int64_t size = f->size;
  int64_t first = 0, last = size - 1;
  std::string_view range = ctx.req.header("range");
  if (range.starts_with("bytes=") && range.find(',') == std::string_view::npos) {
    std::string spec(range.substr(6));
    auto dash = spec.find('-');
    bool ok = dash != std::string::npos;
    try {
      if (ok && dash == 0) {
        first = std::max<int64_t>(0, size - int64_t(std::stoll(spec.substr(1))));
      } else if (ok) {
        first = int64_t(std::stoll(spec.substr(0, dash)));
        if (dash + 1 < spec.size()) last = std::min<int64_t>(size - 1, std::stoll(spec.substr(dash + 1)));
      }
    } catch (...) {
      ok = false;
    }
    if (!ok || first > last || first >= size) {
      r.status = 416;
      r.set_header("Content-Range", "bytes */" + std::to_string(size));
      return r;
    }
    r.status = 206;
    r.set_header("Content-Range",
                 "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
  }
  // From the disk with sendfile(2) when the blob is a local file of the recorded size.
  if (auto fd = s.files->open(*f); fd.ok()) {
    auto body = std::make_shared<FileBody>(*fd, first, last - first + 1);
    struct stat st;
    if (::fstat(*fd, &st) == 0 && st.st_size == size) {
      r.file = std::move(body);
      return r;
    }
  }
  auto bytes = s.files->bytes(*f);
  if (!bytes.ok()) return bytes.status();
  if (int64_t(bytes->size()) != size) return error(Code::internal, "stored file " + f->id + " has the wrong size");
  r.body = bytes->substr(size_t(first), size_t(last - first + 1));
  return r;

}

}  // namespace

const std::vector<std::string>& generation_capabilities() {
  static const std::vector<std::string> caps = [] {
    std::vector<std::string> c(std::begin(kCapabilities), std::end(kCapabilities));
    c.push_back("ffmpeg");  // media processing: its own routes (/v1/ffmpeg...), the same jobs
    return c;
  }();
  return caps;
}

// `what` names where the value came from: "Field" or "Query parameter".
static Status check_capability(const std::string& capability, const std::string& what) {
  const auto& caps = generation_capabilities();
  if (std::find(caps.begin(), caps.end(), capability) != caps.end()) return Status::Ok();
  return error(Code::invalid, what + " 'capability' must be image, video, speech, music, transcription or ffmpeg", "capability");
}

static Jobs::Submission submission(Ctx& ctx, const std::string& capability, json body) {
  Jobs::Submission sub{ctx.principal.user_id, capability, std::move(body), {}, cache_control(ctx.req),
                       ctx.principal.permissions, ctx.idempotency};
  for (auto& p : byok_providers()) {
    std::string_view k = ctx.req.header(provider_key_header(p));
    if (!k.empty()) sub.header_keys[p] = std::string(k);
  }
  return sub;
}

// ?limit= of a listing: 1 to 100, default 20.
static Result<int> page_limit(const Request& req) {
  const std::string limit = req.query_param("limit").value_or("20");
  if (limit.empty() || limit.size() > 3 || limit.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(limit) < 1 || std::stoi(limit) > 100)
    return error(Code::invalid, "Query parameter 'limit' must be an integer from 1 to 100", "limit");
  return std::stoi(limit);
}

// ?cursor= of a listing: "<time>.<id of the previous page's last row>" (ids start with `prefix`).
static Status page_cursor(const Request& req, std::string_view prefix, int64_t* at, std::string* id) {
  auto cursor = req.query_param("cursor");
  if (!cursor || cursor->empty()) return Status::Ok();
  const size_t dot = cursor->find('.');
  const std::string when = cursor->substr(0, dot);
  if (dot == std::string::npos || when.empty() || when.size() > 18 || when.find_first_not_of("0123456789") != std::string::npos ||
      !cursor->substr(dot + 1).starts_with(prefix))
    return error(Code::invalid, "Query parameter 'cursor' is not a cursor this API returned", "cursor");
  *at = std::stoll(when);
  *id = cursor->substr(dot + 1);
  return Status::Ok();
}

static Result<JobRecord> submit_job(Services& s, Ctx& ctx, const std::string& c, const std::string& model, bool* replayed) {
  auto body = parse_object(ctx.req.body);
  if (!body.ok()) return body.status();
  if (!model.empty()) (*body)["model"] = model;
  return s.jobs->submit(submission(ctx, c, std::move(*body)), replayed);
}

// A submitted generation's answer: its JobResponse, held for `Prefer: wait`.
static Result<Response> generation_response(Services& s, Ctx& ctx, const Result<JobRecord>& j, bool replayed) {
  if (!j.ok()) return j.status();
  Response r = job_response(*s.jobs, *j, replayed ? 200 : 202);
  if (replayed) r.set_header("Idempotent-Replayed", "true");
  if (int wait = prefer_wait(ctx.req); wait > 0 && is_live(j->status)) {
    Jobs* jobs = s.jobs;
    r.deferred = [jobs, user = ctx.principal.user_id, id = j->id, wait](std::function<void(Response)> deliver) {
      wait_for_job(*jobs, user, id, steady::now() + std::chrono::seconds(wait),
                   [jobs](const JobRecord& j) { return job_response(*jobs, j, is_live(j.status) ? 202 : 200); },
                   std::move(deliver));
    };
  }
  return r;
}

Result<Response> submit_generation(Services& s, Ctx& ctx, const std::string& c, const std::string& model) {
  bool replayed = false;
  auto j = submit_job(s, ctx, c, model, &replayed);
  return generation_response(s, ctx, j, replayed);
}

// POST /v1/ffmpeg/probe answers with the probe itself once its job ends (within 60 s; a job still
// running then answers 202 with its JobResponse, to poll).
static Response probe_answer(Services& s, const JobRecord& j) {
  if (j.status == JobStatus::completed) {
    auto f = s.files->by_name(j.output_file_id + ".json");
    auto bytes = f.ok() ? s.files->bytes(*f) : Result<std::string>(f.status());
    if (bytes.ok()) {
      Response r;
      r.content_type = "application/json";
      r.body = std::move(*bytes);
      r.set_header("X-Cache", j.cache_hit ? "HIT" : "MISS");
      return r;
    }
  }
  if (is_live(j.status)) return job_response(*s.jobs, j, 202);
  return error_response(Family::gateway, error(Code::invalid, j.error.empty() ? "The probe was cancelled" : j.error, "url"));
}

Result<Response> job_state(Services& s, Ctx& ctx) {
  auto j = s.jobs->get(ctx.principal.user_id, ctx.param("id"));
  if (!j.ok()) return j.status();
  return json_response(200, s.jobs->to_json(*j));
}

Result<Response> job_events(Services& s, Ctx& ctx) {
  auto j = s.jobs->get(ctx.principal.user_id, ctx.param("id"));
  if (!j.ok()) return j.status();
  Response r;
  r.content_type = "text/event-stream";
  Jobs& jobs = *s.jobs;
  const int64_t user = ctx.principal.user_id;
  const std::string id = j->id;
  // GET /v1/jobs/{id}/stream: closed at a terminal state or after 10 minutes.
  r.stream = std::make_shared<StatusEvents>(
      StatusEvents::Source{[&jobs, id] { return jobs.version(id); },
                           [&jobs, id](uint64_t seen, auto deadline, auto cb) { jobs.watch(id, seen, deadline, std::move(cb)); },
                           [&jobs, user, id]() -> Result<std::pair<json, bool>> {
                             auto now = jobs.get(user, id);
                             if (!now.ok()) return now.status();
                             return std::pair{jobs.to_json(*now), !is_live(now->status)};
                           }},
      std::chrono::minutes(10), false);
  return r;
}

// A generation starts where the request is: where reads do not block, it is planned there and a
// cached result answered from memory and reads (Jobs::cached); anything to admit moves to a worker,
// its plan with it.
static Task<Result<Response>> generate(Services& s, Ctx& ctx, Flow& flow, std::string c) {
  if (!flow.may_read() || ctx.idempotency) {
    const bool moved = co_await flow.to_worker();
    if (!moved) co_return overloaded();
    co_return submit_generation(s, ctx, c);
  }
  auto body = parse_object(ctx.req.body);
  if (!body.ok()) co_return body.status();
  const Jobs::Submission sub = submission(ctx, c, std::move(*body));
  std::optional<Jobs::Plan> plan;
  auto hit = s.jobs->cached(sub, &plan);
  if (!hit.ok()) co_return hit.status();
  if (*hit) co_return job_response(*s.jobs, **hit, 202);
  const bool moved = co_await flow.to_worker();
  if (!moved) co_return overloaded();
  bool replayed = false;
  auto j = s.jobs->admit(sub, std::move(*plan), &replayed);
  co_return generation_response(s, ctx, j, replayed);
}

void add_generation_routes(Api& api, Services& s) {
  for (const char* cap : kCapabilities) {
    const std::string c = cap;
    RouteSpec& r = api.add({"POST", "/v1/" + c, "Generate " + c + " (202 with a JobResponse)", Auth::api_key, "generate",
                            "api.generate." + c, generation_attrs(s, c), 0,
                            [&s, c](Ctx& ctx) -> Result<Response> { return submit_generation(s, ctx, c); }});
    r.own_idempotency = true;
    r.async_handler = [&s, c](Ctx& ctx, Flow& flow) { return generate(s, ctx, flow, c); };
  }

  // Media processing (SPEC 12): metered jobs on the local ffmpeg, each operation a catalog model.
  for (const char* op : {"command", "trim", "resize", "slice", "probe"}) {
    const std::string o = op, path = o == "command" ? "/v1/ffmpeg" : "/v1/ffmpeg/" + o;
    api.add({"POST", path, o == "probe" ? "Probe a media file (200 with its duration, size, codecs)" : "Media processing: " + o + " (202 with a JobResponse)",
             Auth::api_key, "generate", "api.generate.ffmpeg", nullptr, 0, [&s, o](Ctx& ctx) -> Result<Response> {
               if (o != "probe") return submit_generation(s, ctx, "ffmpeg", o);
               auto j = submit_job(s, ctx, "ffmpeg", o, nullptr);
               if (!j.ok()) return j.status();
               if (!is_live(j->status)) return probe_answer(s, *j);
               Response held;
               held.deferred = [&s, user = ctx.principal.user_id, id = j->id](std::function<void(Response)> deliver) {
                 wait_for_job(*s.jobs, user, id, steady::now() + std::chrono::seconds(60),
                              [&s](const JobRecord& j) { return probe_answer(s, j); }, std::move(deliver));
               };
               return held;
             }})
        .own_idempotency = true;
  }

  api.add({"POST", "/v1/estimate", "What a generation would cost now: {capability, body} -> {credits, billing}", Auth::api_key,
           "generate", "api.generate.jobs", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto doc = parse_object(ctx.req.body);
             if (!doc.ok()) return doc.status();
             auto cap = req_string(*doc, "capability");
             if (!cap.ok()) return cap.status();
             VARG_TRY(check_capability(*cap, "Field"));
             auto body = opt_object(*doc, "body");
             if (!body.ok()) return body.status();
             if (!*body) return error(Code::invalid, "Field 'body' is required: the generation request to estimate", "body");
             auto e = s.jobs->estimate(submission(ctx, *cap, std::move(**body)));
             if (!e.ok()) return e.status();
             return json_response(200, {{"credits", e->credits}, {"billing", {{"mode", e->mode}, {"cost_cents", e->credits}}}});
           }});

  api.add({"GET", "/v1/jobs", "The account's jobs, newest first: ?limit=&cursor=&capability=&status=", Auth::api_key,
           "generate", "api.generate.jobs", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             Store::JobPage q;
             q.user_id = ctx.principal.user_id;
             auto limit = page_limit(ctx.req);
             if (!limit.ok()) return limit.status();
             q.limit = *limit + 1;  // one more: is there a next page?
             q.capability = ctx.req.query_param("capability").value_or("");
             if (!q.capability.empty()) VARG_TRY(check_capability(q.capability, "Query parameter"));
             q.status = ctx.req.query_param("status").value_or("");
             if (!q.status.empty() && !job_status_from(q.status))
               return error(Code::invalid, "Query parameter 'status' must be queued, processing, completed, failed or cancelled", "status");
             // The cursor is the last job of the previous page: "<created_at>.<job id>".
             VARG_TRY(page_cursor(ctx.req, "job_", &q.after_created, &q.after_id));
             VARG_TRY(s.jobs->flush_hits());
             auto page = s.store.jobs_page(q);
             if (!page.ok()) return page.status();
             json out = json::array(), next = nullptr;
             for (size_t i = 0; i < page->size() && int(i) + 1 < q.limit; i++) out.push_back(s.jobs->to_json((*page)[i]));
             if (int(page->size()) == q.limit) {
               const JobRecord& last = (*page)[page->size() - 2];
               next = std::to_string(last.created_at) + "." + last.id;
             }
             return json_response(200, {{"jobs", out}, {"next_cursor", next}});
           }});

  api.add({"GET", "/v1/jobs/{id}", "A job's state (JobResponse)", Auth::api_key, "generate", "api.generate.jobs",
           nullptr, 0, [&s](Ctx& ctx) { return job_state(s, ctx); }});

  api.add({"DELETE", "/v1/jobs/{id}", "Cancel a queued or processing job (204)", Auth::api_key, "generate",
           "api.generate.jobs", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             VARG_TRY(s.jobs->cancel(ctx.principal.user_id, ctx.param("id")));
             Response r;
             r.status = 204;
             r.content_type = "application/json";
             return r;
           }});

  api.add({"POST", "/v1/jobs/{id}/retry", "Run a failed or cancelled job again: a new job, charged anew (202 JobResponse)",
           Auth::api_key, "generate", "api.generate.jobs", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             // The body is optional: {"webhook_url"} for the new job.
             auto body = ctx.req.body.empty() ? Result<json>(json::object()) : parse_object(ctx.req.body);
             if (!body.ok()) return body.status();
             bool replayed = false;
             auto j = s.jobs->retry(submission(ctx, "", std::move(*body)), ctx.param("id"), &replayed);
             if (!j.ok()) return j.status();
             Response r = job_response(*s.jobs, *j, replayed ? 200 : 202);
             if (replayed) r.set_header("Idempotent-Replayed", "true");
             return r;
           }})
      .own_idempotency = true;

  api.add({"GET", "/v1/jobs/{id}/stream", "Server-sent events of a job's state", Auth::api_key, "generate",
           "api.generate.jobs", nullptr, 0, [&s](Ctx& ctx) { return job_events(s, ctx); }});

  api.add({"POST", "/v1/files", "Upload an input file (raw body, real Content-Type)", Auth::api_key, "generate",
           "api.generate.upload", nullptr, s.jobs->options().input_max_bytes, [&s](Ctx& ctx) -> Result<Response> {
             if (ctx.req.body.empty()) return error(Code::invalid, "The upload is empty", "body");
             std::string_view claimed = ctx.req.header("x-content-hash");
             const std::string hash = "sha256:" + to_hex(sha256(ctx.req.body));
             if (!claimed.empty() && claimed != hash)
               return error(Code::invalid, "X-Content-Hash does not match the uploaded bytes (got " + hash + ")", "X-Content-Hash");
             bool existed = false;
             auto f = s.files->put(ctx.req.body, &existed);  // typed by its bytes, not by Content-Type
             if (!f.ok()) return f.status();
             VARG_TRY(s.store.record_upload(ctx.principal.user_id, f->id, s.clock.now_ms()));
             return json_response(200, {{"file_id", f->id}, {"url", s.files->url(*f)}, {"hash", hash}, {"size", f->size},
                                        {"media_type", f->media_type}, {"deduplicated", existed}});
           }});

  api.add({"GET", "/v1/files", "The account's uploads, newest first: ?limit=&cursor=", Auth::api_key, "generate",
           "api.generate.upload", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             Store::UploadPage q;
             q.user_id = ctx.principal.user_id;
             auto limit = page_limit(ctx.req);
             if (!limit.ok()) return limit.status();
             q.limit = *limit + 1;  // one more: is there a next page?
             VARG_TRY(page_cursor(ctx.req, "file_", &q.after_at, &q.after_id));
             auto page = s.store.uploads_page(q);
             if (!page.ok()) return page.status();
             json out = json::array(), next = nullptr;
             for (size_t i = 0; i < page->size() && int(i) + 1 < q.limit; i++) {
               const auto& [f, at] = (*page)[i];
               out.push_back({{"file_id", f.id}, {"url", s.files->url(f)}, {"hash", "sha256:" + f.hash}, {"size", f.size},
                              {"media_type", f.media_type}, {"uploaded_at", iso8601(at / 1000)}});
             }
             if (int(page->size()) == q.limit) {
               const auto& last = (*page)[page->size() - 2];
               next = std::to_string(last.uploaded_at) + "." + last.file.id;
             }
             return json_response(200, {{"files", out}, {"next_cursor", next}});
           }});

  api.add({"GET", "/files/{name}", "A result or upload file (public, immutable; Range, ETag)", Auth::none, "", "",
           nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto r = serve_file(s, ctx);
             Response out = r.ok() ? std::move(*r) : error_response(Family::gateway, r.status());
             // Whatever a file holds, a browser must not run it on this origin (SPEC 11).
             out.set_header("X-Content-Type-Options", "nosniff");
             out.set_header("Content-Security-Policy", "default-src 'none'; sandbox");
             out.set_header("Cross-Origin-Resource-Policy", "cross-origin");
             return out;
           },
           true});

  api.add({"GET", "/v1/models", "The model catalog with prices", Auth::key_or_session, "", "", nullptr, 0,
           [&s](Ctx&) -> Result<Response> {
             json list = json::array();
             for (auto& m : s.jobs->catalog().models()) list.push_back(model_json(m));
             return json_response(200, {{"models", list}});
           }});

  api.add({"GET", "/v1/voices", "Voices: ?search= (name and labels) and filters gender, accent, age, use_case, category, provider",
           Auth::key_or_session, "", "", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto lower = [](std::string v) {
               for (auto& c : v) c = char(std::tolower(static_cast<unsigned char>(c)));
               return v;
             };
             std::map<std::string, std::string> filters;
             for (const char* f : {"search", "gender", "accent", "age", "use_case", "category", "provider"})
               if (auto v = ctx.req.query_param(f); v && !v->empty()) {
                 if (v->size() > 100) return error(Code::invalid, std::string("Query parameter '") + f + "' is longer than 100 characters", f);
                 filters[f] = lower(*v);
               }
             json list = json::array();
             for (auto& v : s.jobs->catalog().voices()) {
               std::string text = v.name;
               bool match = true;
               for (auto& [k, x] : v.labels) text += " " + x;
               for (auto& [f, want] : filters) {
                 if (f == "search") match = match && lower(text).find(want) != std::string::npos;
                 else match = match && v.labels.count(f) && lower(v.labels.at(f)) == want;
               }
               if (!match) continue;
               json entry = {{"voice_id", v.voice_id}, {"name", v.name}};
               for (auto& [k, x] : v.labels) entry[k] = x;
               list.push_back(std::move(entry));
             }
             return json_response(200, {{"voices", list}, {"total", list.size()}});
           }});

  api.add({"GET", "/v1/pricing", "The price table (1 credit = 1 cent)", Auth::key_or_session, "", "", nullptr, 0,
           [&s](Ctx&) -> Result<Response> {
             json list = json::array();
             for (auto& m : s.jobs->catalog().models()) {
               json entry = {{"model", m.id}, {"provider", m.provider}, {"capability", m.capability},
                             {"credits", m.credits}, {"unit", m.unit()}};
               if (m.takes_duration() && m.per_seconds > 0) entry["per_seconds"] = m.per_seconds;
               list.push_back(std::move(entry));
             }
             return json_response(200, {{"currency", "usd"}, {"credit_cents", 1}, {"cache_hits", 0}, {"byok", 0},
                                        {"pricing", list}});
           }});
}

}  // namespace varg
