#include "auth/authenticator.h"

#include "common/crypto.h"

namespace varg {

namespace {
Status invalid() { return error(Code::unauthorized, Authenticator::kInvalid); }
constexpr int64_t kTouchEvery = 60;  // seconds between last_used_at writes for one key
}  // namespace

Result<Authenticator::Cached> Authenticator::load(const std::string& hash) {
  auto rec = store_.key_by_hash(hash);
  if (!rec.ok()) return rec.status().code == Code::not_found ? invalid() : rec.status();
  if (!constant_time_equal(rec->hash, hash)) return invalid();
  Cached c;
  c.principal.user_id = rec->user_id;
  c.principal.key_id = rec->id;
  c.principal.expires_at = rec->expires_at;
  if (rec->revoked_at) return invalid();
  if (rec->permissions) {
    auto doc = nlohmann::json::parse(*rec->permissions, nullptr, false);
    auto p = Permissions::parse(doc);
    if (!p.ok()) return error(Code::internal, "stored permissions are invalid");
    c.principal.permissions = std::make_shared<const Permissions>(std::move(*p));
  }
  c.fetched_ms = clock_.now_ms();
  c.last_used_at = rec->last_used_at.value_or(0);
  return c;
}

std::string Authenticator::key_hash(std::string_view key) const {
  return ApiKey::well_formed(key) ? hasher_.hash(key) : std::string();
}

Result<Principal> Authenticator::api_key_by_hash(const std::string& hash) {
  if (hash.empty()) return invalid();
  const int64_t now_ms = clock_.now_ms();
  Cached entry;
  bool hit = false;
  {
    std::lock_guard lk(mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && now_ms - it->second.fetched_ms < kCacheMs) {
      entry = it->second;
      hit = true;
    }
  }
  if (!hit) {
    auto loaded = load(hash);
    if (!loaded.ok()) {
      std::lock_guard lk(mu_);
      cache_.erase(hash);
      return loaded.status();
    }
    entry = std::move(*loaded);
    const int64_t now = now_ms / 1000;
    if (now - entry.last_used_at >= kTouchEvery) {
      store_.touch_key(entry.principal.key_id, now);  // best effort: a failed touch must not fail the request
      entry.last_used_at = now;
    }
    std::lock_guard lk(mu_);
    if (cache_.size() > 100000) cache_.clear();  // bounded: a flood of distinct keys cannot grow it forever
    cache_[hash] = entry;
  }
  if (entry.principal.expires_at && *entry.principal.expires_at <= now_ms / 1000) return invalid();
  return entry.principal;
}

bool Authenticator::cached(const std::string& hash) {
  if (hash.empty()) return false;
  std::lock_guard lk(mu_);
  auto it = cache_.find(hash);
  return it != cache_.end() && clock_.now_ms() - it->second.fetched_ms < kCacheMs;
}

Result<Principal> Authenticator::session(std::string_view token) {
  if (!AccessToken::well_formed(token)) return invalid();
  std::string hash = hasher_.hash(token);
  auto s = store_.session_by_hash(hash);
  if (!s.ok()) return s.status().code == Code::not_found ? invalid() : s.status();
  if (!constant_time_equal(s->hash, hash) || s->expires_at <= clock_.now()) return invalid();
  Principal p;
  p.user_id = s->user_id;
  p.session = true;
  p.expires_at = s->expires_at;
  return p;
}

void Authenticator::forget(int64_t key_id) {
  std::lock_guard lk(mu_);
  for (auto it = cache_.begin(); it != cache_.end();)
    it = it->second.principal.key_id == key_id ? cache_.erase(it) : std::next(it);
}

}  // namespace varg
