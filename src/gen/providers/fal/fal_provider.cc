// fal's queue API: POST {base}/{model} → {request_id}; GET {base}/{app}/requests/{id}/status until
// COMPLETED; GET {base}/{app}/requests/{id} for the result; PUT .../cancel. `Authorization: Key …`.
// {app} is the model id without its sub-path (owner/alias), as fal's clients build it.
#include "gen/providers/remote.h"
#include "gen/upstream_input.h"

namespace varg {

namespace {

using json = nlohmann::json;

std::string app_of(const std::string& model) {
  auto first = model.find('/');
  if (first == std::string::npos) return model;
  auto second = model.find('/', first + 1);
  return second == std::string::npos ? model : model.substr(0, second);
}

// The media URL in a fal result, whatever the model's output shape.
bool find_media(const json& out, std::string* url) {
  for (const char* k : {"images", "video", "audio", "audio_file", "image", "output"}) {
    if (!out.contains(k)) continue;
    const json& v = out[k].is_array() && !out[k].empty() ? out[k][0] : out[k];
    if (v.is_object() && v.contains("url") && v["url"].is_string()) {
      *url = v["url"];
      return true;
    }
    if (v.is_string()) {
      *url = v;
      return true;
    }
  }
  return false;
}

class FalProvider final : public Provider {
 public:
  explicit FalProvider(Upstream u) : up_(std::move(u)) {}

  bool submits_first() const override { return true; }

  Result<ProviderOutput> generate(ProviderCall& call) override {
    auto req = upstream_request(call.model, call.params, call.inputs);
    if (!req.ok()) return req.status();
    const std::string app = app_of(req->endpoint);
    const Headers auth = {{"Authorization", "Key " + call.api_key}, {"Content-Type", "application/json"}};
    std::string id = call.upstream_id;
    if (id.empty()) {
      auto sub = up_.call_json({"POST", up_.base_url + "/" + req->endpoint, auth, req->input.dump()}, call.cancelled);
      if (!sub.ok()) return sub.status();
      if (!sub->contains("request_id") || !(*sub)["request_id"].is_string())
        return up_.failure("the queue answered without a request_id");
      id = (*sub)["request_id"];
      call.on_upstream_id(id);
    }
    const std::string base = up_.base_url + "/" + app + "/requests/" + id;
    for (long waited = 0;; waited += up_.poll_ms) {
      auto st = up_.call_json({"GET", base + "/status", auth, ""}, call.cancelled);
      if (!st.ok()) return st.status();
      std::string status = st->value("status", "");
      if (status == "COMPLETED") break;
      if (status == "FAILED" || status == "CANCELED" || status == "CANCELLED")
        return up_.failure("the request ended as " + status);
      if (status != "IN_QUEUE" && status != "IN_PROGRESS") return up_.failure("unknown queue status '" + status + "'");
      call.running();
      if (waited > up_.max_wait_ms) return up_.outage("the request did not finish in time");
      if (!Upstream::pause(up_.poll_ms, call.cancelled)) return error(Code::unavailable, "cancelled");
    }
    auto out = up_.call_json({"GET", base, auth, ""}, call.cancelled);
    if (!out.ok()) return out.status();
    if (call.model.capability == "transcription") return transcript_output(up_, *out);
    ProviderOutput result;
    if (!find_media(*out, &result.url)) return up_.failure("the result names no media file");
    return result;
  }

  void cancel(const ModelSpec& model, const std::string& upstream_id, const std::string& api_key) override {
    if (upstream_id.empty()) return;
    std::atomic<bool> never{false};
    Upstream once = up_;
    once.attempts = 1;
    once.call({"PUT", up_.base_url + "/" + app_of(model.upstream) + "/requests/" + upstream_id + "/cancel",
               {{"Authorization", "Key " + api_key}}, ""},
              never);
  }

 private:
  Upstream up_;
};

}  // namespace

std::unique_ptr<Provider> make_fal_provider(Upstream u) { return std::make_unique<FalProvider>(std::move(u)); }

}  // namespace varg
