// libvarg: the calls the varg CLI makes, for programs. One Client talks to two addresses: the
// gateway (/v1/...) and the app (/api/...); usually both are the same vargd. Every call has a
// timeout and returns a Result: the server's JSON on success, its status and error text otherwise.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "varg/job.h"
#include "varg/result.h"

namespace varg::client {

using json = nlohmann::json;

struct Endpoints {
  std::string gateway_url = "http://127.0.0.1:8080";  // VARG_GATEWAY_URL, without /v1
  std::string app_url = "http://127.0.0.1:8080";      // VARG_APP_URL

  // From VARG_GATEWAY_URL and VARG_APP_URL, each defaulting to the local vargd.
  static Endpoints from_environment();
};

struct ClientOptions {
  Endpoints endpoints;
  std::string api_key;  // may be empty for the login calls
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds download_timeout{600'000};
};

enum class Capability { image, video, speech, music, transcription };
const char* capability_name(Capability c);  // "image", ..., "transcription": the /v1 path

struct GenerateOptions {
  bool no_cache = false;                              // Cache-Control: no-cache
  std::map<std::string, std::string> provider_keys;  // provider name -> key, sent as X-Provider-Key-*
  std::string webhook_url;                            // non-empty: sent as the request's webhook_url (SPEC 13)
};

struct JobQuery {
  int limit = 20;
  std::string cursor, capability, status;  // empty: not sent
};

struct UsageQuery {
  std::string from, to, model, group_by;  // empty: not sent
};

struct NewKey {
  std::string name;
  std::optional<json> permissions;  // the Vast permission document
  std::string expires_in;           // e.g. "30d"; empty: never expires
};

// Called while a job is waited for, with the job as last seen and the seconds waited.
using Progress = std::function<void(const Job&, int seconds)>;

class Client {
 public:
  explicit Client(ClientOptions options);

  const Endpoints& endpoints() const { return opts_.endpoints; }

  // Login by emailed code (SPEC 3); no API key needed.
  Result<json> send_login_code(const std::string& email);
  Result<json> verify_login_code(const std::string& email, const std::string& code);

  // Account (SPEC 4).
  Result<json> balance();
  Result<json> me();
  Result<json> usage(const UsageQuery& query);

  // The caller's API keys (SPEC 4, 5).
  Result<json> keys();
  Result<json> key(const std::string& id);
  Result<json> create_key(const NewKey& key);
  Result<json> delete_key(const std::string& id);
  Result<json> reset_key();  // {"success","new_api_key"}; the calling key is revoked

  // Saved provider keys for BYOK (SPEC 6).
  Result<json> provider_keys();
  Result<json> set_provider_key(const std::string& provider, const std::string& key);
  Result<json> delete_provider_key(const std::string& provider);

  // Top-up (SPEC 7).
  Result<json> packages();
  Result<json> checkout(const std::string& package_id);
  std::string billing_url() const;  // the dashboard's billing tab

  // Generation (SPEC 6).
  Result<Job> generate(Capability capability, const json& request, const GenerateOptions& options = {});
  Result<Job> job(const std::string& job_id);
  // The account's jobs, newest first (GET /v1/jobs): {"jobs": [...], "next_cursor"}.
  Result<json> jobs(const JobQuery& query);
  // A failed or cancelled job run again as a new job, charged anew (POST /v1/jobs/{id}/retry).
  Result<Job> retry(const std::string& job_id, const GenerateOptions& options = {});
  // What a request would cost now (POST /v1/estimate): {"credits", "billing": {"mode", ...}}.
  Result<json> estimate(const std::string& capability, const json& request);
  // The model catalog (GET /v1/models): {"models": [{"id","capability","provider","credits","unit","parameters"}]}.
  Result<json> models();

  // Media processing (SPEC 12): op "command" (POST /v1/ffmpeg), "trim", "resize" or "slice";
  // probe answers at once with the file's duration, size, codecs.
  Result<Job> media(const std::string& op, const json& request, const GenerateOptions& options = {});
  Result<json> probe(const std::string& url);
  // Polls every interval until the job is terminal or max_wait passes.
  Result<Job> wait(Job job, std::chrono::seconds max_wait, const Progress& progress = {},
                   std::chrono::milliseconds interval = std::chrono::seconds(1));

  // Cloud Render (SPEC 10).
  Result<Job> render(const json& request);  // {"code", "mode"?, ...}
  Result<Job> render_job(const std::string& job_id);
  Result<Job> wait_render(Job job, std::chrono::seconds max_wait, const Progress& progress = {},
                          std::chrono::milliseconds interval = std::chrono::seconds(1));

  // Uploads a local file as a generation input (POST /v1/files) → {"file_id","url","hash",...}; the
  // media type is guessed from the extension when not given.
  Result<json> upload(const std::string& path, std::string media_type = "");

  // Fetches a public result URL (no key sent) into a file; returns its size in bytes.
  Result<size_t> download(const std::string& url, const std::string& path);

  // One Model Context Protocol message to the gateway's /mcp (`varg mcp`, the stdio bridge):
  // method POST (a JSON-RPC message or batch) or DELETE (end the session). Any HTTP status is an
  // answer; only a transport failure is an error.
  struct McpAnswer {
    int status = 0;
    std::string body;
    std::string session_id;  // Mcp-Session-Id of an initialize answer
  };
  Result<McpAnswer> mcp(const std::string& method, const std::string& message, const std::string& session_id,
                        const std::string& protocol_version);

 private:
  Result<Job> submit(const std::string& path, json request, const GenerateOptions& options);
  Result<json> call(const std::string& method, const std::string& url, const json* body,
                    const std::vector<std::string>& headers = {});
  Result<json> exchange(const std::string& method, const std::string& url, const std::string* body,
                        const std::string& content_type, const std::vector<std::string>& headers);
  std::string gateway(const std::string& path) const;
  std::string app(const std::string& path) const;

  ClientOptions opts_;
};

}  // namespace varg::client
