// Issuing keys: the {"name","expires_in","permissions"} request, the no-escalation rule, and email
// normalization used by admin commands and login.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/keys.h"
#if __has_include("auth/login.h")
#include "auth/login.h"
#endif
#include "server/secret.h"

namespace varg {
namespace {

using nlohmann::json;
constexpr int64_t kNow = 1'800'000'000;

struct KeyRequestCase {
  const char* name;
  const char* body;
  bool ok;
  std::optional<int64_t> expires_in;  // when ok
  const char* field;                  // when not ok
};

const KeyRequestCase kKeyRequestCases[] = {
    {"name only", R"({"name":"ci"})", true, std::nullopt, ""},
    {"expires_in seconds", R"({"name":"ci","expires_in":3600})", true, 3600, ""},
    {"expires_in one second", R"({"name":"ci","expires_in":1})", true, 1, ""},
    {"expires_in 30d", R"({"name":"ci","expires_in":"30d"})", true, 30 * 86400, ""},
    {"expires_in 12h", R"({"name":"ci","expires_in":"12h"})", true, 12 * 3600, ""},
    {"expires_in 2w", R"({"name":"ci","expires_in":"2w"})", true, 14 * 86400, ""},
    {"expires_in digits as a string", R"({"name":"ci","expires_in":"90"})", true, 90, ""},
    {"expires_in exactly 10 years", R"({"name":"ci","expires_in":"3650d"})", true, 3650 * 86400, ""},
    {"expires_in null means never", R"({"name":"ci","expires_in":null})", true, std::nullopt, ""},
    {"permissions null means full rights", R"({"name":"ci","permissions":null})", true, std::nullopt, ""},

    {"name missing", R"({})", false, std::nullopt, "name"},
    {"name null", R"({"name":null})", false, std::nullopt, "name"},
    {"name a number", R"({"name":5})", false, std::nullopt, "name"},
    {"name an array", R"({"name":["a"]})", false, std::nullopt, "name"},
    {"name empty", R"({"name":""})", false, std::nullopt, "name"},
    {"expires_in zero", R"({"name":"ci","expires_in":0})", false, std::nullopt, "expires_in"},
    {"expires_in negative", R"({"name":"ci","expires_in":-5})", false, std::nullopt, "expires_in"},
    {"expires_in fractional", R"({"name":"ci","expires_in":1.5})", false, std::nullopt, "expires_in"},
    {"expires_in boolean", R"({"name":"ci","expires_in":true})", false, std::nullopt, "expires_in"},
    {"expires_in object", R"({"name":"ci","expires_in":{}})", false, std::nullopt, "expires_in"},
    {"expires_in words", R"({"name":"ci","expires_in":"soon"})", false, std::nullopt, "expires_in"},
    {"expires_in bad unit", R"({"name":"ci","expires_in":"30y"})", false, std::nullopt, "expires_in"},
    {"expires_in empty string", R"({"name":"ci","expires_in":""})", false, std::nullopt, "expires_in"},
    {"expires_in zero days", R"({"name":"ci","expires_in":"0d"})", false, std::nullopt, "expires_in"},
    {"expires_in over 10 years", R"({"name":"ci","expires_in":"3651d"})", false, std::nullopt, "expires_in"},
    {"expires_in huge", R"({"name":"ci","expires_in":18446744073709551615})", false, std::nullopt, "expires_in"},
    {"permissions unknown category", R"({"name":"ci","permissions":{"api":{"root":{}}}})", false, std::nullopt, "permissions"},
    {"permissions not an object", R"({"name":"ci","permissions":"all"})", false, std::nullopt, "permissions"},
};

TEST(KeyRequest, ParsesPerTable) {
  for (auto& c : kKeyRequestCases) {
    auto r = parse_key_request(json::parse(c.body), 7, kNow, true);
    ASSERT_EQ(r.ok(), c.ok) << c.name << ": " << c.body << " → " << r.status().message;
    if (c.ok) {
      EXPECT_EQ(r->user_id, 7);
      EXPECT_EQ(r->name, "ci");
      if (c.expires_in) {
        ASSERT_TRUE(r->expires_at.has_value()) << c.name;
        EXPECT_EQ(*r->expires_at, kNow + *c.expires_in) << c.name;
      } else {
        EXPECT_FALSE(r->expires_at.has_value()) << c.name;
      }
    } else {
      EXPECT_EQ(r.status().code, Code::invalid) << c.name;
      EXPECT_EQ(r.status().field, c.field) << c.name << ": " << r.status().message;
      if (std::string(c.field) != "permissions") {  // those messages name the bad category or operator instead
        EXPECT_NE(r.status().message.find(c.field), std::string::npos) << c.name << ": " << r.status().message;
      }
    }
  }
}

TEST(KeyRequest, NameLimitIs100Characters) {
  EXPECT_TRUE(parse_key_request(json{{"name", std::string(100, 'n')}}, 1, kNow, true).ok());
  auto r = parse_key_request(json{{"name", std::string(101, 'n')}}, 1, kNow, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field, "name");
}

TEST(KeyRequest, NameMayDefaultWhenNotRequired) {
  auto r = parse_key_request(json::object(), 1, kNow, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_FALSE(r->name.empty());
}

TEST(KeyRequest, PermissionsAreParsedAndNormalized) {
  auto r = parse_key_request(json::parse(R"({"name":"ro","permissions":{"api":{"user_read":{}}}})"), 1, kNow, true);
  ASSERT_TRUE(r.ok()) << r.status().message;
  ASSERT_TRUE(r->permissions.has_value());
  EXPECT_EQ(r->permissions->document(), json::parse(R"({"api":{"user_read":{}}})"));
  EXPECT_TRUE(r->permissions->allows("user_read", "api.keys.read", json::object()));
  EXPECT_FALSE(r->permissions->allows("user_write", "api.keys.write", json::object()));
}

Permissions perms(const char* doc) { return *Permissions::parse(json::parse(doc)); }

Principal key_principal(std::optional<const char*> doc, std::optional<int64_t> expires_at) {
  Principal p;
  p.user_id = 1;
  p.key_id = 10;
  p.expires_at = expires_at;
  if (doc) p.permissions = std::make_shared<const Permissions>(perms(*doc));
  return p;
}

KeyRequest request(std::optional<const char*> doc, std::optional<int64_t> expires_at) {
  KeyRequest r;
  r.user_id = 1;
  r.name = "child";
  if (doc) r.permissions = perms(*doc);
  r.expires_at = expires_at;
  return r;
}

struct EscalationCase {
  const char* name;
  Principal creator;
  KeyRequest req;
  bool allowed;
  const char* field;
};

TEST(NoEscalation, PerTable) {
  const char* ro = R"({"api":{"user_read":{}}})";
  const char* rw = R"({"api":{"user_read":{},"user_write":{}}})";
  const std::vector<EscalationCase> cases = {
      {"full key creates full key", key_principal(std::nullopt, std::nullopt), request(std::nullopt, std::nullopt), true, ""},
      {"full key creates scoped expiring key", key_principal(std::nullopt, std::nullopt), request(ro, kNow + 5), true, ""},
      {"scoped key creates full key", key_principal(rw, std::nullopt), request(std::nullopt, std::nullopt), false, "permissions"},
      {"scoped key creates narrower key", key_principal(rw, std::nullopt), request(ro, std::nullopt), true, ""},
      {"scoped key creates same key", key_principal(rw, std::nullopt), request(rw, std::nullopt), true, ""},
      {"scoped key creates wider key", key_principal(ro, std::nullopt), request(rw, std::nullopt), false, "permissions"},
      {"expiring key creates a key that never expires", key_principal(std::nullopt, kNow + 100), request(std::nullopt, std::nullopt), false, "expires_in"},
      {"expiring key creates a key that outlives it", key_principal(std::nullopt, kNow + 100), request(std::nullopt, kNow + 101), false, "expires_in"},
      {"expiring key creates a key expiring with it", key_principal(std::nullopt, kNow + 100), request(std::nullopt, kNow + 100), true, ""},
      {"expiring key creates a key expiring sooner", key_principal(std::nullopt, kNow + 100), request(std::nullopt, kNow + 50), true, ""},
  };
  for (auto& c : cases) {
    Status s = check_no_escalation(c.creator, c.req);
    EXPECT_EQ(s.ok(), c.allowed) << c.name << ": " << s.message;
    if (!c.allowed && !s.ok()) {
      EXPECT_EQ(s.code, Code::forbidden) << c.name;
      EXPECT_EQ(s.field, c.field) << c.name;
    }
  }
}

TEST(NoEscalation, SessionExpiryDoesNotLimitTheKeysItCreates) {
  Principal session;
  session.user_id = 1;
  session.session = true;
  session.expires_at = kNow + 3600;  // the access token's own 24 h life, not a key's
  EXPECT_TRUE(check_no_escalation(session, request(std::nullopt, std::nullopt)).ok());
}

TEST(IssueKey, NewKeyRecordStoresOnlyTheHashAndDisplayPrefix) {
  SecretHasher hasher("pepper");
  const std::string key = ApiKey::generate();
  KeyRequest req = request(R"({"api":{"user_read":{}}})", kNow + 60);
  ApiKeyRecord rec = new_key_record(hasher, req, key, kNow);
  EXPECT_EQ(rec.hash, hasher.hash(key));
  EXPECT_EQ(rec.prefix, key.substr(0, 9));
  EXPECT_EQ(rec.user_id, 1);
  EXPECT_EQ(rec.name, "child");
  EXPECT_EQ(rec.created_at, kNow);
  EXPECT_EQ(rec.expires_at, kNow + 60);
  ASSERT_TRUE(rec.permissions.has_value());
  EXPECT_EQ(json::parse(*rec.permissions), json::parse(R"({"api":{"user_read":{}}})"));
  for (const std::string* field : {&rec.name, &rec.prefix, &rec.hash, &*rec.permissions})
    EXPECT_EQ(field->find(key.substr(9)), std::string::npos) << "the key's secret part must not be stored";
}

struct EmailCase {
  const char* raw;
  const char* normalized;  // "" when invalid
};

TEST(NormalizeEmail, PerTable) {
  const EmailCase cases[] = {
      {"you@example.com", "you@example.com"},
      {"  You@Example.COM \t", "you@example.com"},
      {"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"},
      {"", ""},
      {"   ", ""},
      {"no-at-sign.example.com", ""},
      {"@example.com", ""},
      {"you@", ""},
      {"you@localhost", ""},
      {"you@@example.com", ""},
      {"a@b@example.com", ""},
      {"you@.example.com", ""},
      {"you@example.com.", ""},
      {"you@example..com", ""},
      {"you name@example.com", ""},
      {"you@exa mple.com", ""},
      {"<you@example.com>", ""},
      {"you@example.com,me@example.com", ""},
      {"you\n@example.com", ""},
  };
  for (auto& c : cases) EXPECT_EQ(normalize_email(c.raw), c.normalized) << "'" << c.raw << "'";
  EXPECT_EQ(normalize_email(std::string(250, 'a') + "@b.co"), "");
}

}  // namespace
}  // namespace varg
