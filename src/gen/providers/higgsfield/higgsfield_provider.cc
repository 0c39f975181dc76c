// Higgsfield's platform API (as its official clients speak it), `Authorization: Key KEY_ID:KEY_SECRET`:
//   submit  POST {base}/{application} with the arguments as the JSON body
//           → {"status":"queued","request_id","status_url","cancel_url"};
//   poll    GET  {base}/requests/{id}/status until completed | failed | nsfw | canceled, the completed
//           answer carrying "images":[{"url"}] or "video":{"url"};
//   cancel  POST {base}/requests/{id}/cancel (only while still queued; 400 afterwards).
// A bare catalog id such as "soul" names Higgsfield's own application higgsfield-ai/soul/standard.
#include "gen/providers/remote.h"
#include "gen/upstream_input.h"

namespace varg {

namespace {

using json = nlohmann::json;

std::string application_of(const std::string& upstream) {
  return upstream.find('/') == std::string::npos ? "higgsfield-ai/" + upstream + "/standard" : upstream;
}

bool find_media(const json& r, std::string* url) {
  for (const char* k : {"images", "video", "audio"}) {
    if (!r.contains(k)) continue;
    const json& v = r[k].is_array() && !r[k].empty() ? r[k][0] : r[k];
    if (v.is_object() && v.contains("url") && v["url"].is_string() && !v["url"].get<std::string>().empty()) {
      *url = v["url"];
      return true;
    }
  }
  return false;
}

class HiggsfieldProvider final : public Provider {
 public:
  explicit HiggsfieldProvider(Upstream u) : up_(std::move(u)) {}

  bool submits_first() const override { return true; }

  Result<ProviderOutput> generate(ProviderCall& call) override {
    const Headers auth = headers(call.api_key);
    std::string id = call.upstream_id;
    if (id.empty()) {
      auto req = upstream_request(call.model, call.params, call.inputs);
      if (!req.ok()) return req.status();
      auto sub = up_.call_json({"POST", up_.base_url + "/" + application_of(req->endpoint), auth, req->input.dump()},
                               call.cancelled);
      if (!sub.ok()) return sub.status();
      if (!sub->contains("request_id") || !(*sub)["request_id"].is_string() || (*sub)["request_id"].get<std::string>().empty())
        return up_.failure("the submission was answered without a request_id");
      id = (*sub)["request_id"];
      if (id.find_first_of("/?#%") != std::string::npos) return up_.failure("the request id is not usable");
      call.on_upstream_id(id);
    }
    for (long waited = 0;; waited += up_.poll_ms) {
      auto st = up_.call_json({"GET", up_.base_url + "/requests/" + id + "/status", auth, ""}, call.cancelled);
      if (!st.ok()) return st.status();
      const std::string status = st->value("status", "");
      if (status == "completed") {
        ProviderOutput out;
        if (!find_media(*st, &out.url)) return up_.failure("the completed request names no media file");
        return out;
      }
      if (status == "nsfw") return up_.failure("the request was refused as NSFW");
      if (status == "failed" || status == "canceled") return up_.failure("the request ended as " + status);
      if (status != "queued" && status != "in_progress") return up_.failure("unknown request status '" + status.substr(0, 40) + "'");
      call.running();
      if (waited > up_.max_wait_ms) return up_.outage("the request did not finish in time");
      if (!Upstream::pause(up_.poll_ms, call.cancelled)) return error(Code::unavailable, "cancelled");
    }
  }

  void cancel(const ModelSpec& /*model*/, const std::string& upstream_id, const std::string& api_key) override {
    if (upstream_id.empty()) return;
    std::atomic<bool> never{false};
    Upstream once = up_;
    once.attempts = 1;
    once.call({"POST", up_.base_url + "/requests/" + upstream_id + "/cancel", headers(api_key), ""}, never);
  }

 private:
  static Headers headers(const std::string& key) {
    return {{"Authorization", "Key " + key}, {"Content-Type", "application/json"}};
  }

  Upstream up_;
};

}  // namespace

std::unique_ptr<Provider> make_higgsfield_provider(Upstream u) {
  return std::make_unique<HiggsfieldProvider>(std::move(u));
}

}  // namespace varg
