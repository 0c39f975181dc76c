// /mcp: a Model Context Protocol server over Streamable HTTP (SPEC 14; docs/mcp.md). JSON-RPC 2.0
// messages in POST bodies, answered as application/json; sessions by Mcp-Session-Id. Every tool is
// one or two requests through this same Api — the caller's credential goes with them — so a tool
// obeys the key's permissions, rate limit and billing exactly as the HTTP route it names.
#include <atomic>
#include <deque>
#include <mutex>
#include <regex>
#include <set>

#include "api/services.h"
#include "common/crypto.h"

namespace varg {

namespace {

constexpr const char* kLatest = "2025-06-18";
constexpr const char* kOlder = "2025-03-26";  // the first Streamable HTTP revision: allows batches
bool supported(const std::string& v) { return v == kLatest || v == kOlder; }

constexpr size_t kMaxBatch = 64;
// JSON-RPC error codes (JSON-RPC 2.0 section 5.1).
constexpr int kParseError = -32700, kInvalidRequest = -32600, kMethodNotFound = -32601, kInvalidParams = -32602;

json rpc_error(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}
json rpc_result(const json& id, json result) { return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; }

// Session ids carry what they need, signed: any instance verifies one without a shared table.
// "<random>.<version>.<mac>", the MAC over the random part, the account and the version.
class Sessions {
 public:
  explicit Sessions(const SecretHasher& hasher) : hasher_(hasher) {}
  std::string open(int64_t user_id, const std::string& version) {
    const std::string nonce = random_base62(22), tag = version == kOlder ? "1" : "2";
    return nonce + "." + tag + "." + mac(nonce, user_id, tag);
  }
  // The session's protocol version, or "" when the id is not one of ours for this account, or ended.
  std::string check(const std::string& id, int64_t user_id) {
    const size_t a = id.find('.'), b = a == std::string::npos ? a : id.find('.', a + 1);
    if (b == std::string::npos || id.size() > 128) return "";
    const std::string nonce = id.substr(0, a), tag = id.substr(a + 1, b - a - 1);
    if ((tag != "1" && tag != "2") || !constant_time_equal(id.substr(b + 1), mac(nonce, user_id, tag))) return "";
    std::lock_guard lk(mu_);
    if (ended_.count(nonce)) return "";
    return tag == "1" ? kOlder : kLatest;
  }
  // DELETE /mcp. Ended sessions are remembered by this instance (the most recent 100,000).
  void end(const std::string& id) {
    std::lock_guard lk(mu_);
    const std::string nonce = id.substr(0, id.find('.'));
    if (!ended_.insert(nonce).second) return;
    order_.push_back(nonce);
    if (order_.size() > 100000) ended_.erase(order_.front()), order_.pop_front();
  }

 private:
  std::string mac(const std::string& nonce, int64_t user_id, const std::string& tag) const {
    return hasher_.hash("mcp-session:" + nonce + ":" + std::to_string(user_id) + ":" + tag).substr(0, 32);
  }
  const SecretHasher& hasher_;
  std::mutex mu_;
  std::set<std::string> ended_;
  std::deque<std::string> order_;
};

// An answer sent as server-sent events while it is made (progress notifications, then the
// response): pieces pushed from any thread, handed to the server as it asks for them.
class Pushed final : public BodyStream {
 public:
  void push(std::optional<std::string> piece) {
    std::unique_lock lk(mu_);
    if (!waiting_) return pieces_.push_back(std::move(piece));
    auto deliver = std::move(waiting_);
    waiting_ = nullptr;
    lk.unlock();
    deliver(std::move(piece));
  }
  void event(const json& message) { push("event: message\ndata: " + message.dump() + "\n\n"); }
  void next(std::function<void(std::optional<std::string>)> deliver) override {
    std::unique_lock lk(mu_);
    if (pieces_.empty()) {
      waiting_ = std::move(deliver);
      return;
    }
    auto piece = std::move(pieces_.front());
    pieces_.pop_front();
    lk.unlock();
    deliver(std::move(piece));
  }
  void cancel() override { gone_ = true; }
  bool gone() const { return gone_; }

 private:
  std::mutex mu_;
  std::deque<std::optional<std::string>> pieces_;
  std::function<void(std::optional<std::string>)> waiting_;
  std::atomic<bool> gone_ = false;
};

// ---- tools -----------------------------------------------------------------------------------

json object_schema(json properties, json required = json::array()) {
  json s = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) s["required"] = std::move(required);
  return s;
}

const json& tool_list() {
  static const json tools = [] {
    const json job_id = {{"type", "string"}, {"description", "A job id as returned by call_tool (job_...) or render_video (render_...)"}};
    const json wait = {{"type", "integer"}, {"minimum", 0}, {"maximum", 300},
                       {"description", "Seconds to wait for the job to finish before answering (0: answer at once)"}};
    const json tool_name = {{"type", "string"},
                            {"enum", {"image", "video", "speech", "music", "transcription", "ffmpeg", "render"}},
                            {"description", "What to run: a generation capability, media processing (ffmpeg) or a render"}};
    const json input = {{"type", "object"},
                        {"description",
                         "The body of the matching HTTP request: POST /v1/<tool> (e.g. {\"model\":\"flux-pro\",\"prompt\":\"...\"}); "
                         "for ffmpeg an optional \"operation\" (command, trim, resize, slice, probe) picks POST /v1/ffmpeg/<operation>; "
                         "for render the body of POST /api/render ({\"code\": TSX})"}};
    return json::array({
        {{"name", "list_models"},
         {"description", "The model catalog: each model's id, capability, provider and price in credits (1 credit = 1 cent)"},
         {"inputSchema", object_schema(json::object())}},
        {{"name", "check_balance"},
         {"description", "The account's spendable and reserved credits"},
         {"inputSchema", object_schema(json::object())}},
        {{"name", "estimate_cost"},
         {"description", "What a call_tool request would cost now, in credits, without running it"},
         {"inputSchema", object_schema({{"tool", tool_name}, {"input", input}}, {"tool", "input"})}},
        {{"name", "call_tool"},
         {"description",
          "Run a generation, media-processing job or render, billed like the HTTP API (a cached result is free). Answers "
          "the job (status, output URL when completed); with wait, after it finishes or the wait runs out"},
         {"inputSchema", object_schema({{"tool", tool_name}, {"input", input}, {"wait", wait}}, {"tool", "input"})}},
        {{"name", "get_job"},
         {"description", "A job's state and, once completed, its output URL (wait applies to generation jobs, not renders)"},
         {"inputSchema", object_schema({{"job_id", job_id}, {"wait", wait}}, {"job_id"})}},
        {{"name", "list_jobs"},
         {"description", "The account's jobs, newest first"},
         {"inputSchema", object_schema({{"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
                                        {"cursor", {{"type", "string"}, {"description", "next_cursor of the previous page"}}},
                                        {"capability", {{"type", "string"}}},
                                        {"status", {{"type", "string"}, {"enum", {"queued", "processing", "completed", "failed", "cancelled"}}}}})}},
        {{"name", "cancel_job"},
         {"description", "Cancel a queued or processing job (its reservation is released); answers the job"},
         {"inputSchema", object_schema({{"job_id", job_id}}, {"job_id"})}},
        {{"name", "list_files"},
         {"description", "The files this account uploaded (upload_file, POST /v1/files), newest first; generated results are in list_jobs"},
         {"inputSchema", object_schema({{"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
                                        {"cursor", {{"type", "string"}, {"description", "next_cursor of the previous page"}}}})}},
        {{"name", "upload_file"},
         {"description", "Store an input file and get its URL for call_tool inputs: either a URL to fetch or base64 data"},
         {"inputSchema", object_schema({{"url", {{"type", "string"}, {"description", "An http(s) URL to fetch"}}},
                                        {"data", {{"type", "string"}, {"description", "The file's bytes, base64"}}},
                                        {"media_type", {{"type", "string"}, {"description", "e.g. image/png (with data)"}}}})}},
        {{"name", "render_video"},
         {"description", "Render a varg TSX video composition (its generations billed like call_tool); answers the render job "
                         "(poll it with get_job until its status is no longer rendering)"},
         {"inputSchema", object_schema({{"code", {{"type", "string"}, {"description", "The TSX composition"}}},
                                        {"providerKeys", {{"type", "object"}, {"description", "Optional provider keys for this render (BYOK)"}}}},
                                       {"code"})}},
    });
  }();
  return tools;
}

bool safe_id(const std::string& s) {
  static const std::regex ok("[A-Za-z0-9_-]{1,64}");
  return std::regex_match(s, ok);
}

// One inner request of a tool: what Api::handle runs with the caller's own credential.
struct Call {
  std::string method, path, query{}, body{}, content_type = "application/json";
  int wait = 0;
  std::string fetch{};  // upload_file by URL: the body is fetched from here first
};

// A tool's arguments → the request(s) it makes; an error message for arguments that cannot make one.
Result<std::vector<Call>> calls_of(const std::string& tool, const json& args) {
  auto str = [&](const char* k) { return args.contains(k) && args[k].is_string() ? args[k].get<std::string>() : std::string(); };
  auto wait_of = [&]() -> int {
    if (!args.contains("wait") || !args["wait"].is_number_integer()) return 0;
    return int(std::clamp<int64_t>(args["wait"].get<int64_t>(), 0, 300));
  };
  auto invalid = [](const std::string& m) { return error(Code::invalid, m); };
  if (!args.is_object()) return invalid("arguments must be an object");
  if (tool == "list_models") return std::vector<Call>{{"GET", "/v1/models"}};
  if (tool == "check_balance") return std::vector<Call>{{"GET", "/v1/balance"}};
  if (tool == "estimate_cost" || tool == "call_tool") {
    const std::string t = str("tool");
    if (!args.contains("input") || !args["input"].is_object()) return invalid("input must be an object: the body of the HTTP request");
    json input = args["input"];
    std::string path;
    if (t == "render") {
      path = tool == "estimate_cost" ? "/api/render/estimate" : "/api/render";
    } else if (t == "ffmpeg") {
      std::string op = input.contains("operation") && input["operation"].is_string() ? input["operation"].get<std::string>() : "command";
      input.erase("operation");
      if (op != "command" && op != "trim" && op != "resize" && op != "slice" && op != "probe")
        return invalid("operation must be one of command, trim, resize, slice, probe");
      path = op == "command" ? "/v1/ffmpeg" : "/v1/ffmpeg/" + op;
      if (tool == "estimate_cost") {
        input["model"] = op;  // each operation is a catalog model (POST /v1/ffmpeg/<op> sets it the same way)
        input = {{"capability", "ffmpeg"}, {"body", input}}, path = "/v1/estimate";
      }
    } else if (t == "image" || t == "video" || t == "speech" || t == "music" || t == "transcription") {
      path = "/v1/" + t;
      if (tool == "estimate_cost") input = {{"capability", t}, {"body", input}}, path = "/v1/estimate";
    } else {
      return invalid("tool must be one of image, video, speech, music, transcription, ffmpeg, render");
    }
    Call c{"POST", path, "", input.dump()};
    if (tool == "call_tool") c.wait = wait_of();
    return std::vector<Call>{c};
  }
  if (tool == "get_job" || tool == "cancel_job") {
    const std::string id = str("job_id");
    if (!safe_id(id)) return invalid("job_id must be a job id (job_... or render_...)");
    const bool render = id.starts_with("render_");  // a render job has its own routes (SPEC 10)
    const std::string path = (render ? "/api/render/jobs/" : "/v1/jobs/") + id;
    Call get{"GET", path};
    if (tool == "get_job") {
      if (!render) get.wait = wait_of();
      return std::vector<Call>{get};
    }
    return std::vector<Call>{{"DELETE", path}, get};  // then the job as it now is
  }
  if (tool == "list_jobs" || tool == "list_files") {
    const bool jobs = tool == "list_jobs";
    std::string q;
    for (const char* k : {"limit", "cursor", "capability", "status"}) {
      if (!jobs && (std::string_view(k) == "capability" || std::string_view(k) == "status")) continue;
      if (!args.contains(k)) continue;
      const json& v = args[k];
      const std::string s = v.is_string() ? v.get<std::string>() : v.is_number_integer() ? std::to_string(v.get<int64_t>()) : "";
      if (s.empty()) return invalid(std::string(k) + " has the wrong type");
      q += (q.empty() ? "" : "&") + std::string(k) + "=" + percent_encode(s);
    }
    return std::vector<Call>{{"GET", jobs ? "/v1/jobs" : "/v1/files", q}};
  }
  if (tool == "upload_file") {
    if (args.contains("data")) {
      if (!args["data"].is_string()) return invalid("data must be base64 text");
      auto bytes = from_base64(args["data"].get<std::string>());
      if (!bytes || bytes->empty()) return invalid("data is not base64, or empty");
      Call c{"POST", "/v1/files", "", std::move(*bytes)};
      c.content_type = str("media_type").empty() ? "application/octet-stream" : str("media_type");
      return std::vector<Call>{c};
    }
    const std::string url = str("url");
    if (!url.starts_with("https://") && !url.starts_with("http://")) return invalid("give url (http or https, to fetch) or data (base64)");
    Call c{"POST", "/v1/files"};
    c.fetch = url;  // fetched by the exchange, then uploaded
    return std::vector<Call>{c};
  }
  if (tool == "render_video") {
    if (str("code").empty()) return invalid("code must be the TSX composition");
    json body = {{"code", str("code")}};
    if (args.contains("providerKeys")) body["providerKeys"] = args["providerKeys"];
    return std::vector<Call>{{"POST", "/api/render", "", body.dump()}};
  }
  return error(Code::not_found, "no tool named " + tool);
}

// A tool call that could not be made (bad arguments, an input URL that cannot be fetched).
json error_result(const std::string& why) {
  return {{"content", json::array({{{"type", "text"}, {"text", why}}})}, {"isError", true}};
}

// The HTTP answer of a tool as its result: the body as text and, from 2025-06-18, structuredContent;
// an HTTP error is a result with isError (the model reads the message), not a JSON-RPC error.
json tool_result(const Response& r, const std::string& version) {
  json body = json::parse(r.body, nullptr, false);
  const bool error = r.status >= 400;
  std::string text = r.body;
  if (error && body.is_object() && body.contains("message") && body["message"].is_string())
    text = "HTTP " + std::to_string(r.status) + ": " + body["message"].get<std::string>() + "\n" + r.body;
  json out = {{"content", json::array({{{"type", "text"}, {"text", text}}})}, {"isError", error}};
  if (version == kLatest && body.is_object()) out["structuredContent"] = body;
  return out;
}

// One POST's messages, answered one after the other; tool calls go through the Api asynchronously
// (a `wait` holds no thread), and the answer is delivered when the last one is done.
struct Exchange : std::enable_shared_from_this<Exchange> {
  Api& api;
  Request outer;  // its Authorization header and address go with every inner request
  Principal who;                // the caller, as /mcp authenticated it
  std::optional<Principal> as;  // an OAuth caller: inner requests run as this account instead
  std::string version;
  std::vector<json> messages;
  std::vector<json> answers;
  bool batch = false;
  size_t at = 0;
  std::function<void(Response)> deliver;
  std::shared_ptr<Pushed> stream;  // set once the answer became an event stream

  const Jobs& jobs;  // upload_file by URL fetches as a generation's input is fetched

  Exchange(Api& a, const Request& r, const Jobs& j) : api(a), outer(r), jobs(j) {}

  void next() {
    while (at < messages.size()) {
      const json& m = messages[at++];
      if (!m.contains("id")) continue;  // a notification (or a response to us): nothing to answer
      const json id = m["id"];
      const std::string method = m.value("method", "");
      const json params = m.contains("params") && m["params"].is_object() ? m["params"] : json::object();
      if (method == "ping") {
        answer(rpc_result(id, json::object()));
      } else if (method == "tools/list") {
        answer(rpc_result(id, {{"tools", tool_list()}}));
      } else if (method == "tools/call") {
        const std::string name = params.value("name", "");
        auto calls = calls_of(name, params.contains("arguments") ? params["arguments"] : json::object());
        if (!calls.ok() && calls.status().code == Code::not_found) {
          answer(rpc_error(id, kInvalidParams, "Unknown tool: " + name));
        } else if (!calls.ok()) {
          answer(rpc_result(id, error_result(calls.status().message)));
        } else if (json token = progress_token(params); !token.is_null() && !batch && calls->size() == 1 && (*calls)[0].wait > 0) {
          return start_progress(id, std::move(token), std::move((*calls)[0]));
        } else {
          return run_calls(id, std::move(*calls), 0);  // continues with next() when they are done
        }
      } else if (method == "initialize") {
        answer(rpc_error(id, kInvalidRequest, "The session is initialized already"));
      } else if (method == "resources/list" || method == "prompts/list") {
        answer(rpc_error(id, kMethodNotFound, "This server offers tools only"));
      } else {
        answer(rpc_error(id, kMethodNotFound, "Unknown method: " + method));
      }
    }
    finish();
  }

  void run_calls(json id, std::vector<Call> calls, size_t i) {
    if (Call& c = calls[i]; !c.fetch.empty()) {
      if (Status st = api.permitted(who, inner_of(c)); !st.ok()) {  // no fetch for a request the key may not make
        answer(rpc_result(id, tool_result(error_response(Family::gateway, st), version)));
        return next();
      }
      auto bytes = jobs.fetch_input(c.fetch);
      if (!bytes.ok()) {
        answer(rpc_result(id, error_result(bytes.status().message)));
        return next();
      }
      c.body = std::move(*bytes);
      c.content_type = "application/octet-stream";  // /v1/files types a file by its bytes
    }
    auto self = shared_from_this();
    const Call c = calls[i];  // before the callback takes the list
    handle(c, [self, id, calls = std::move(calls), i](Response r) mutable {
      if (i + 1 < calls.size() && r.status < 400) return self->run_calls(id, std::move(calls), i + 1);
      self->answer(rpc_result(id, tool_result(r, self->version)));
      self->next();
    });
  }

  // One inner request through the Api with the caller's credential and address.
  void handle(const Call& c, std::function<void(Response)> done) {
    Request inner = inner_of(c);
    if (as) return api.handle_as(std::move(inner), *as, std::move(done));
    api.handle(std::move(inner), std::move(done));
  }

  Request inner_of(const Call& c) const {
    Request inner;
    inner.method = c.method;
    inner.path = c.path;
    inner.query = c.query;
    inner.target = c.path + (c.query.empty() ? "" : "?" + c.query);
    inner.body = c.body;
    inner.remote_ip = outer.remote_ip;
    inner.headers = {{"authorization", std::string(outer.header("authorization"))}, {"content-type", c.content_type}};
    if (c.wait > 0) inner.headers.emplace_back("prefer", "wait=" + std::to_string(c.wait));
    return inner;
  }

  void answer(json message) {
    if (stream) return stream->event(message);
    answers.push_back(std::move(message));
  }

  static json progress_token(const json& params) {
    if (!params.contains("_meta") || !params["_meta"].is_object() || !params["_meta"].contains("progressToken")) return nullptr;
    const json& t = params["_meta"]["progressToken"];
    return t.is_string() || t.is_number_integer() ? t : json(nullptr);
  }

  // A waiting call whose caller asked for progress: the answer becomes an event stream at once;
  // the job is submitted (or read) without waiting, then read again with one-second waits, each
  // read a notifications/progress, until it ends or the wait runs out; then the response.
  void start_progress(json id, json token, Call c) {
    stream = std::make_shared<Pushed>();
    Response r;
    r.content_type = "text/event-stream";
    r.stream = stream;
    deliver(std::move(r));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(c.wait);
    c.wait = 0;
    progress_step(std::move(id), std::move(token), std::move(c), deadline, 0);
  }

  void progress_step(json id, json token, Call c, std::chrono::steady_clock::time_point deadline, int n) {
    auto self = shared_from_this();
    handle(c, [self, id, token, c, deadline, n](Response r) mutable {
      json job = json::parse(r.body, nullptr, false);
      const std::string status = job.is_object() ? job.value("status", "") : "";
      const bool live = r.status < 400 && (status == "queued" || status == "processing");
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now()).count();
      if (!live || left <= 0 || self->stream->gone()) {
        self->answer(rpc_result(id, tool_result(r, self->version)));
        return self->next();
      }
      self->stream->event({{"jsonrpc", "2.0"}, {"method", "notifications/progress"},
                           {"params", {{"progressToken", token}, {"progress", n + 1},
                                       {"message", job.value("job_id", "") + " " + status}}}});
      if (c.method == "POST") c = Call{"GET", "/v1/jobs/" + job.value("job_id", "")};  // submitted: follow it
      c.wait = int(std::min<int64_t>(left, 1));
      self->progress_step(id, token, std::move(c), deadline, n + 1);
    });
  }

  void finish() {
    if (stream) return stream->push(std::nullopt);  // its answers went out as events
    if (answers.empty()) {
      Response r;
      r.status = 202;  // only notifications and responses: accepted, nothing to say
      r.content_type = "application/json";
      return deliver(std::move(r));
    }
    deliver(json_response(200, batch ? json(answers) : answers.front()));
  }
};

}  // namespace

void add_mcp_routes(Api& api, Services& s) {
  auto sessions = std::make_shared<Sessions>(s.hasher);
  const std::string server_version = "1.0";

  // The caller's credential, or the 401 an MCP client expects (with the challenge it reads).
  // An API key, or an OAuth access token this server issued (oauth_routes.cc).
  auto authenticate = [&s](const Request& req) -> Result<Principal> {
    const std::string_view token = bearer(req);
    if (token.empty()) return error(Code::unauthorized, Authenticator::kInvalid);
    if (token.starts_with("vmcp_")) return oauth_principal(s, token);
    return s.auth.api_key(token);
  };
  // The challenge names the protected-resource metadata, where an OAuth client starts (RFC 9728).
  auto refused = [challenge = "Bearer resource_metadata=\"" + s.public_url + "/.well-known/oauth-protected-resource\", scope=\"mcp:tools\""](
                     const Status& st) {
    Response r = error_response(Family::gateway, st);
    if (r.status == 401) r.set_header("WWW-Authenticate", challenge);
    return r;
  };
  // A message sent before or without initialize, or on a session that is not this account's.
  auto session_of = [sessions](const Request& req, const Principal& p, std::string* version) -> std::optional<Response> {
    const std::string id(req.header("mcp-session-id"));
    if (id.empty()) return json_response(400, rpc_error(nullptr, kInvalidRequest, "Mcp-Session-Id is required: send initialize first"));
    *version = sessions->check(id, p.user_id);
    if (version->empty()) return json_response(404, rpc_error(nullptr, kInvalidRequest, "No such session (ended or never opened): initialize again"));
    const std::string asked(req.header("mcp-protocol-version"));
    if (!asked.empty() && !supported(asked))
      return json_response(400, rpc_error(nullptr, kInvalidRequest, "Unsupported MCP-Protocol-Version " + asked + "; this server speaks " +
                                                                    kLatest + " and " + kOlder));
    return std::nullopt;
  };

  // upload_file carries a file as base64 (4/3 of its size) inside a JSON-RPC message.
  const size_t body_limit = s.jobs->options().input_max_bytes / 3 * 4 + (64 << 10);
  api.add({"POST", "/mcp", "Model Context Protocol (Streamable HTTP): JSON-RPC requests (docs/mcp.md)", Auth::none, "", "",
           nullptr, body_limit, [&api, &s, authenticate, refused, session_of, sessions, server_version](Ctx& ctx) -> Result<Response> {
             auto p = authenticate(ctx.req);
             if (!p.ok()) return refused(p.status());
             const std::string accept(ctx.req.header("accept"));
             if (!accept.empty() && accept.find("application/json") == std::string::npos &&
                 accept.find("text/event-stream") == std::string::npos && accept.find("*/*") == std::string::npos)
               return json_response(406, rpc_error(nullptr, kInvalidRequest, "Accept application/json or text/event-stream"));
             json body = json::parse(ctx.req.body, nullptr, false);
             if (body.is_discarded()) return json_response(400, rpc_error(nullptr, kParseError, "The body is not JSON"));
             auto ex = std::make_shared<Exchange>(api, ctx.req, *s.jobs);
             ex->who = *p;
             if (p->session) ex->as = *p;  // an OAuth token: REST routes would not take it
             ex->batch = body.is_array();
             if (ex->batch) {
               if (body.empty()) return json_response(400, rpc_error(nullptr, kInvalidRequest, "An empty batch"));
               if (body.size() > kMaxBatch)  // each tool call of a batch nests in the one before when answered at once
                 return json_response(400, rpc_error(nullptr, kInvalidRequest, "A batch holds at most " + std::to_string(kMaxBatch) + " messages"));
               for (auto& m : body) ex->messages.push_back(m);
             } else {
               ex->messages.push_back(body);
             }
             for (auto& m : ex->messages)
               if (!m.is_object() || m.value("jsonrpc", "") != "2.0" || (!m.contains("method") && !m.contains("result") && !m.contains("error")))
                 return json_response(400, rpc_error(m.is_object() && m.contains("id") ? m["id"] : json(nullptr), kInvalidRequest,
                                                 "Not a JSON-RPC 2.0 message"));

             // initialize: alone, without a session; it opens one.
             const json& first = ex->messages.front();
             if (first.value("method", "") == "initialize") {
               if (ex->batch) return json_response(400, rpc_error(nullptr, kInvalidRequest, "initialize cannot be part of a batch"));
               if (!first.contains("id")) return json_response(400, rpc_error(nullptr, kInvalidRequest, "initialize is a request: it needs an id"));
               const json params = first.contains("params") && first["params"].is_object() ? first["params"] : json::object();
               const std::string asked = params.value("protocolVersion", "");
               const std::string version = supported(asked) ? asked : kLatest;  // else ours: the client decides whether to go on
               Response r = json_response(200, rpc_result(first["id"], {{"protocolVersion", version},
                                                                    {"capabilities", {{"tools", {{"listChanged", false}}}}},
                                                                    {"serverInfo", {{"name", "vargd"}, {"version", server_version}}},
                                                                    {"instructions",
                                                                     "varg: AI media generation billed in credits (1 credit = 1 cent). "
                                                                     "list_models and estimate_cost first; call_tool runs a generation "
                                                                     "(wait for it, or poll get_job); results are URLs."}}));
               r.set_header("Mcp-Session-Id", sessions->open(p->user_id, version));
               return r;
             }
             std::string version;
             if (auto refusal = session_of(ctx.req, *p, &version)) return std::move(*refusal);
             if (ex->batch && version == kLatest)
               return json_response(400, rpc_error(nullptr, kInvalidRequest, "Protocol revision 2025-06-18 has no batches: send one message per request"));
             ex->version = version;
             Response held;
             held.deferred = [ex](std::function<void(Response)> deliver) {
               ex->deliver = std::move(deliver);
               ex->next();
             };
             return held;
           }});

  api.add({"GET", "/mcp", "Model Context Protocol: the server's own event stream (not offered: 405)", Auth::none, "", "",
           nullptr, 0, [authenticate, refused](Ctx& ctx) -> Result<Response> {
             auto p = authenticate(ctx.req);
             if (!p.ok()) return refused(p.status());
             Response r = json_response(405, rpc_error(nullptr, kInvalidRequest, "This server sends no messages of its own: POST requests"));
             r.set_header("Allow", "POST, DELETE");
             return r;
           }});

  api.add({"DELETE", "/mcp", "Model Context Protocol: end a session", Auth::none, "", "", nullptr, 0,
           [authenticate, refused, session_of, sessions](Ctx& ctx) -> Result<Response> {
             auto p = authenticate(ctx.req);
             if (!p.ok()) return refused(p.status());
             std::string version;
             if (auto refusal = session_of(ctx.req, *p, &version)) return std::move(*refusal);
             sessions->end(std::string(ctx.req.header("mcp-session-id")));
             Response r;
             r.status = 204;
             return r;
           }});
}

}  // namespace varg
