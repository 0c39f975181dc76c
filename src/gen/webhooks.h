// Job webhooks (SPEC 13). A generation or media job with a `webhook_url` gets a delivery row in
// the same transaction that admits it; once the job is terminal, vargd POSTs its JobResponse there
// with Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature: "v1," + base64
// HMAC-SHA256 over "id.timestamp.body" with the account's secret). At least once: a non-2xx answer,
// a timeout or a refused address is retried with backoff for 24 h, from the rows in the store, so a
// restart loses nothing; each attempt is claimed in the store, so one instance sends it. The id is
// the same on every attempt: receivers dedupe by it.
#pragma once
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "gen/jobs.h"
#include "store/store.h"

namespace varg {

class Webhooks {
 public:
  struct Options {
    std::vector<int64_t> backoff_s = {5, 300, 1800, 7200, 18000, 36000};  // before attempt 2, 3, ...; then every last
    int64_t give_up_after_s = 86400;  // no attempt starts later than this after the job was admitted
    bool allow_private_urls = false;   // --allow-private-urls: receivers on private addresses (tests)
    long timeout_ms = 10000;           // one attempt
    int senders = 2;
  };
  Webhooks(Store& store, Jobs& jobs, const Clock& clock, std::string master_key, Options opts);
  ~Webhooks();
  void start();
  void stop();

  // The account's signing secret ("whsec_" + base64 of 32 random bytes), made on first use;
  // rotate() replaces it (deliveries from then on are signed with the new one).
  Result<std::string> secret(int64_t user_id);
  Result<std::string> rotate(int64_t user_id);

  // Sends every delivery that is due now (what the sender threads loop on).
  void deliver_due();

  static std::string sign(const std::string& secret, const std::string& id, int64_t timestamp, const std::string& body);

 private:
  void sender();
  void attempt(WebhookDelivery d);
  Result<std::string> store_secret(int64_t user_id, bool replace);
  Result<std::string> open_secret(int64_t user_id, const std::string& sealed) const;

  Store& store_;
  Jobs& jobs_;
  const Clock& clock_;
  std::string master_key_;
  Options opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The webhook_url of a request body (top level or in `options`): "" when there is none; 400
// naming webhook_url unless it is an http(s) URL of at most 2048 characters.
Result<std::string> webhook_url_of(const nlohmann::json& body);

}  // namespace varg
