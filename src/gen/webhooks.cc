#include "gen/webhooks.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/crypto.h"
#include "http/client.h"

namespace varg {

using json = nlohmann::json;

Result<std::string> webhook_url_of(const json& body) {
  const json* v = nullptr;
  if (auto it = body.find("webhook_url"); it != body.end() && !it->is_null()) v = &*it;
  else if (auto o = body.find("options"); o != body.end() && o->is_object())
    if (auto w = o->find("webhook_url"); w != o->end() && !w->is_null()) v = &*w;
  if (!v) return std::string();
  const std::string url = v->is_string() ? v->get<std::string>() : "";
  if ((!url.starts_with("https://") && !url.starts_with("http://")) || url.size() > 2048 ||
      url.find_first_of(" \t\r\n") != std::string::npos)
    return error(Code::invalid, "Field 'webhook_url' must be an http(s) URL of at most 2048 characters", "webhook_url");
  return url;
}

Webhooks::Webhooks(Store& store, Jobs& jobs, const Clock& clock, std::string master_key, Options opts)
    : store_(store), jobs_(jobs), clock_(clock), master_key_(std::move(master_key)), opts_(std::move(opts)) {
  if (opts_.backoff_s.empty()) opts_.backoff_s = {5};
}

Webhooks::~Webhooks() { stop(); }

void Webhooks::start() {
  for (int i = 0; i < std::max(1, opts_.senders); i++) threads_.emplace_back([this] { sender(); });
}

void Webhooks::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::string Webhooks::sign(const std::string& secret, const std::string& id, int64_t timestamp, const std::string& body) {
  const std::string_view b64 = std::string_view(secret).substr(secret.starts_with("whsec_") ? 6 : 0);
  const std::string key = from_base64(b64).value_or("");
  return "v1," + to_base64(hmac_sha256(key, id + "." + std::to_string(timestamp) + "." + body));
}

// A sealed secret as the store holds it (hex) → the secret.
Result<std::string> Webhooks::open_secret(int64_t user_id, const std::string& sealed) const {
  auto raw = from_hex(sealed);
  auto plain = raw ? aead_open(master_key_, *raw, "webhook:" + std::to_string(user_id)) : std::nullopt;
  if (!plain) return error(Code::internal, "The webhook signing secret cannot be opened (was the server secret changed?)");
  return *plain;
}

Result<std::string> Webhooks::store_secret(int64_t user_id, bool replace) {
  const std::string fresh = "whsec_" + to_base64(random_bytes(32));
  auto sealed = store_.put_webhook_secret(user_id, to_hex(aead_seal(master_key_, fresh, "webhook:" + std::to_string(user_id))),
                                          replace, clock_.now());
  if (!sealed.ok()) return sealed.status();
  return open_secret(user_id, *sealed);
}

Result<std::string> Webhooks::secret(int64_t user_id) {
  auto sealed = store_.webhook_secret(user_id);
  if (!sealed.ok()) return sealed.status();
  if (!*sealed) return store_secret(user_id, false);
  return open_secret(user_id, **sealed);
}

Result<std::string> Webhooks::rotate(int64_t user_id) { return store_secret(user_id, true); }

void Webhooks::sender() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    lk.unlock();
    deliver_due();
    lk.lock();
    cv_.wait_for(lk, std::chrono::milliseconds(250), [this] { return stopping_; });
  }
}

void Webhooks::deliver_due() {
  auto due = store_.due_webhooks(clock_.now_ms(), 16);
  if (!due.ok()) return;
  for (auto& d : *due) {
    // The claim is a lease past the attempt's own deadline: no other sender takes it meanwhile.
    auto mine = store_.claim_webhook(d.id, d.next_attempt_at, clock_.now_ms() + opts_.timeout_ms + 5000);
    if (!mine.ok() || !*mine) continue;
    d.attempts++;
    attempt(std::move(d));
  }
}

void Webhooks::attempt(WebhookDelivery d) {
  const int64_t now = clock_.now();
  std::string body, why;
  auto job = store_.job(d.job_id);
  auto key = secret(d.user_id);
  HttpCall call;
  if (job.ok() && key.ok()) {
    body = jobs_.to_json(*job).dump();
    call.method = "POST";
    call.url = d.url;
    call.body = body;
    call.timeout_ms = opts_.timeout_ms;
    call.max_bytes = 64 * 1024;  // the receiver's answer is not kept
    call.allow_private = opts_.allow_private_urls;
    call.headers = {{"Content-Type", "application/json"},
                    {"User-Agent", "vargd-webhooks"},
                    {"webhook-id", d.id},
                    {"webhook-timestamp", std::to_string(now)},
                    {"webhook-signature", sign(*key, d.id, now, body)}};
    auto r = http_call(call);
    if (r.ok()) {
      d.last_status = int(r->status);
      if (r->status >= 200 && r->status < 300) {
        d.status = "delivered";
        d.delivered_at = now;
        d.last_error.clear();
      } else {
        why = "the receiver answered HTTP " + std::to_string(r->status);
      }
    } else {
      d.last_status = 0;
      // One message for every address that is refused or does not answer: no port-scan oracle.
      why = r.status().code == Code::timeout ? "the receiver did not answer in time" : "the receiver could not be reached";
    }
  } else {
    why = job.ok() ? key.status().message : "the job is gone";
  }
  if (d.status != "delivered") {
    d.last_error = why;
    const size_t i = std::min(size_t(std::max(d.attempts, 1) - 1), opts_.backoff_s.size() - 1);
    const int64_t next = now + opts_.backoff_s[i];
    if (next > d.created_at + opts_.give_up_after_s || !job.ok()) {
      d.status = "failed";
    } else {
      d.next_attempt_at = next * 1000;
    }
  }
  if (auto st = store_.record_webhook(d); !st.ok())
    spdlog::error(json{{"msg", "cannot record a webhook attempt"}, {"id", d.id}, {"error", st.message}}.dump());
  spdlog::info(json{{"msg", "webhook attempt"}, {"id", d.id}, {"job_id", d.job_id}, {"attempt", d.attempts},
                    {"status", d.status}, {"http_status", d.last_status}}
                   .dump());
}

}  // namespace varg
