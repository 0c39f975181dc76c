// Replicate's predictions API, `Authorization: Bearer <token>`:
//   create  POST {base}/v1/models/{owner}/{name}/predictions {"input":{…}}  (an upstream id of the form
//           owner/name:version goes to POST {base}/v1/predictions {"version","input"} instead),
//           with `Prefer: wait=N` so that short predictions finish within the create call;
//   poll    GET  {base}/v1/predictions/{id} until status succeeded | failed | canceled | aborted;
//   cancel  POST {base}/v1/predictions/{id}/cancel.
// `output` is a file URL, an array of them, or (whisper) an object kept as the JSON document.
#include "gen/providers/remote.h"
#include "gen/upstream_input.h"

namespace varg {

namespace {

using json = nlohmann::json;

bool running(const std::string& s) { return s == "starting" || s == "processing"; }

class ReplicateProvider final : public Provider {
 public:
  explicit ReplicateProvider(Upstream u) : up_(std::move(u)) {}

  bool submits_first() const override { return true; }

  Result<ProviderOutput> generate(ProviderCall& call) override {
    const Headers auth = headers(call.api_key);
    json prediction;
    if (call.upstream_id.empty()) {
      auto created = create(call);
      if (!created.ok()) return created.status();
      prediction = std::move(*created);
    } else {
      prediction = {{"id", call.upstream_id}, {"status", "starting"}};
    }
    const std::string id = prediction.value("id", "");
    for (long waited = 0; running(prediction.value("status", "")); waited += up_.poll_ms) {
      call.running();
      if (waited > up_.max_wait_ms) return up_.outage("the prediction did not finish in time");
      if (!Upstream::pause(up_.poll_ms, call.cancelled)) return error(Code::unavailable, "cancelled");
      auto got = up_.call_json({"GET", up_.base_url + "/v1/predictions/" + id, auth, ""}, call.cancelled);
      if (!got.ok()) return got.status();
      prediction = std::move(*got);
    }
    const std::string status = prediction.value("status", "");
    if (status != "succeeded") {
      if (status == "failed" || status == "canceled" || status == "aborted") {
        std::string why = prediction.contains("error") && prediction["error"].is_string() ? prediction["error"].get<std::string>() : "";
        return up_.failure("the prediction " + status + (why.empty() ? "" : ": " + why.substr(0, 300)));
      }
      return up_.failure("unknown prediction status '" + status.substr(0, 40) + "'");
    }
    return output_of(prediction.contains("output") ? prediction["output"] : json());
  }

  void cancel(const ModelSpec& /*model*/, const std::string& upstream_id, const std::string& api_key) override {
    if (upstream_id.empty()) return;
    std::atomic<bool> never{false};
    Upstream once = up_;
    once.attempts = 1;
    once.call({"POST", up_.base_url + "/v1/predictions/" + upstream_id + "/cancel", headers(api_key), ""}, never);
  }

 private:
  static Headers headers(const std::string& token) {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  }

  Result<json> create(ProviderCall& call) {
    auto req = upstream_request(call.model, call.params, call.inputs);
    if (!req.ok()) return req.status();
    const std::string& model = req->endpoint;
    json body = {{"input", req->input}};
    std::string url = up_.base_url + "/v1/models/" + model + "/predictions";
    if (auto colon = model.find(':'); colon != std::string::npos) {
      body["version"] = model.substr(colon + 1);
      url = up_.base_url + "/v1/predictions";
    }
    Headers h = headers(call.api_key);
    // Hold the create call open for short predictions, but well inside our own deadline per call.
    if (long wait = std::min(60L, up_.timeout_ms / 1000 - 1); wait >= 1) h.push_back({"Prefer", "wait=" + std::to_string(wait)});
    auto created = up_.call_json({"POST", url, h, body.dump()}, call.cancelled);
    if (!created.ok()) return created.status();
    if (!created->contains("id") || !(*created)["id"].is_string() || (*created)["id"].get<std::string>().empty())
      return up_.failure("the prediction was created without an id");
    const std::string id = (*created)["id"];
    if (id.find_first_of("/?#%") != std::string::npos) return up_.failure("the prediction id is not usable");
    call.on_upstream_id(id);
    return created;
  }

  Result<ProviderOutput> output_of(const json& out) const {
    if (out.is_string() && !out.get<std::string>().empty()) return ProviderOutput{"", out.get<std::string>()};
    if (out.is_array() && !out.empty() && out.front().is_string()) return ProviderOutput{"", out.front().get<std::string>()};
    if (out.is_object() && !out.empty()) return ProviderOutput{out.dump(), ""};
    return up_.failure("the prediction succeeded without an output");
  }

  Upstream up_;
};

}  // namespace

std::unique_ptr<Provider> make_replicate_provider(Upstream u) {
  return std::make_unique<ReplicateProvider>(std::move(u));
}

}  // namespace varg
