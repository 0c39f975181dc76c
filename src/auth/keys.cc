#include "auth/keys.h"

#include "common/clock.h"
#include "common/json.h"

namespace varg {

ApiKeyRecord new_key_record(const SecretHasher& hasher, const KeyRequest& req, const std::string& key, int64_t now) {
  ApiKeyRecord rec;
  rec.user_id = req.user_id;
  rec.name = req.name;
  rec.prefix = ApiKey::display_prefix(key);
  rec.hash = hasher.hash(key);
  if (req.permissions) rec.permissions = req.permissions->document().dump();
  rec.created_at = now;
  rec.expires_at = req.expires_at;
  return rec;
}

Result<IssuedKey> issue_key(Store& store, const SecretHasher& hasher, const KeyRequest& req, int64_t now) {
  std::string key = ApiKey::generate();
  auto rec = store.insert_key(new_key_record(hasher, req, key, now));
  if (!rec.ok()) return rec.status();
  return IssuedKey{std::move(*rec), std::move(key)};
}

Result<IssuedKey> rotate_key(Store& store, const SecretHasher& hasher, const ApiKeyRecord& old, int64_t now) {
  std::string key = ApiKey::generate();
  ApiKeyRecord fresh = old;
  fresh.id = 0;
  fresh.prefix = ApiKey::display_prefix(key);
  fresh.hash = hasher.hash(key);
  fresh.created_at = now;
  fresh.last_used_at.reset();
  auto rec = store.rotate_key(old.id, fresh, now);
  if (!rec.ok()) return rec.status();
  return IssuedKey{std::move(*rec), std::move(key)};
}

Status check_no_escalation(const Principal& creator, const KeyRequest& req) {
  if (creator.permissions) {
    if (!req.permissions)
      return error(Code::forbidden, "A scoped key cannot create a key with full rights", "permissions");
    if (!creator.permissions->covers(*req.permissions))
      return error(Code::forbidden, "A key cannot create a key with rights it does not have", "permissions");
  }
  if (creator.key_id && creator.expires_at && (!req.expires_at || *req.expires_at > *creator.expires_at))
    return error(Code::forbidden, "A key that expires cannot create a key that outlives it", "expires_in");
  return Status::Ok();
}

Result<KeyRequest> parse_key_request(const nlohmann::json& body, int64_t user_id, int64_t now, bool name_required) {
  KeyRequest req;
  req.user_id = user_id;
  auto name = opt_string(body, "name");
  if (!name.ok()) return name.status();
  if (!*name && name_required) return error(Code::invalid, "Field 'name' is required", "name");
  req.name = name->value_or("api key");
  if (req.name.empty() || req.name.size() > 100)
    return error(Code::invalid, "Field 'name' must be 1 to 100 characters", "name");

  auto exp = body.find("expires_in");
  if (exp != body.end() && !exp->is_null()) {
    int64_t secs = 0;
    if (exp->is_number_integer()) {
      secs = exp->get<int64_t>();
    } else if (!exp->is_string() || !parse_duration(exp->get<std::string>(), &secs)) {
      return error(Code::invalid, "Field 'expires_in' must be seconds or a duration such as \"30d\"", "expires_in");
    }
    if (secs <= 0 || secs > 10LL * 365 * 86400)
      return error(Code::invalid, "Field 'expires_in' must be between 1 second and 10 years", "expires_in");
    req.expires_at = now + secs;
  }

  auto perms = body.find("permissions");
  if (perms != body.end() && !perms->is_null()) {
    auto p = Permissions::parse(*perms);
    if (!p.ok()) return p.status();
    req.permissions = std::move(*p);
  }
  return req;
}

}  // namespace varg
