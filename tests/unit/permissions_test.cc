// Scoped keys (SPEC 5), table-driven: which documents parse, what they allow, and what they cover.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/permissions.h"

namespace varg {
namespace {

using nlohmann::json;

struct ParseCase {
  const char* name;
  const char* doc;
  bool ok;
  std::vector<std::string> message_has;  // for rejections: what the 400 must say
};

const ParseCase kParseCases[] = {
    {"empty object grants nothing", R"({})", true, {}},
    {"empty api", R"({"api":{}})", true, {}},
    {"whole category", R"({"api":{"user_read":{}}})", true, {}},
    {"every enforced category", R"({"api":{"user_read":{},"user_write":{},"billing_read":{},"billing_write":{},"generate":{},"render":{}}})", true, {}},
    {"one api name", R"({"api":{"generate":{"api.generate.image":{}}}})", true, {}},
    {"eq constraint", R"({"api":{"generate":{"api.generate.image":{"constraints":{"model":{"eq":"flux-pro"}}}}}})", true, {}},
    {"lte and gte", R"({"api":{"generate":{"api.generate.video":{"constraints":{"credits":{"gte":1,"lte":100}}}}}})", true, {}},
    {"in constraint", R"({"api":{"generate":{"api.generate.image":{"constraints":{"model":{"in":["a","b"]}}}}}})", true, {}},
    {"vast instance_read is inert but accepted", R"({"api":{"instance_read":{}}})", true, {}},
    {"every vast inert category", R"({"api":{"instance_read":{},"instance_write":{},"machine_read":{},"machine_write":{},"misc":{},"team_read":{},"team_write":{}}})", true, {}},
    {"vast-style named permission in inert category", R"({"api":{"machine_write":{"api.machine.list":{}}}})", true, {}},

    {"array document", R"([])", false, {"JSON object"}},
    {"string document", R"("all")", false, {"JSON object"}},
    {"unknown top-level field", R"({"apis":{}})", false, {"apis"}},
    {"api not an object", R"({"api":["user_read"]})", false, {"'api' must be an object"}},
    {"unknown category", R"({"api":{"admin":{}}})", false,
     {"unknown permission category 'admin'", "valid categories", "user_read", "user_write", "billing_read", "billing_write",
      "generate", "render", "instance_read", "team_write"}},
    {"category typo", R"({"api":{"user-read":{}}})", false, {"'user-read'", "valid categories"}},
    {"category not an object", R"({"api":{"user_read":true}})", false, {"user_read"}},
    {"permission not an object", R"({"api":{"generate":{"api.generate.image":1}}})", false, {"api.generate.image"}},
    {"unknown permission field", R"({"api":{"generate":{"api.generate.image":{"limits":{}}}}})", false, {"limits"}},
    {"constraints not an object", R"({"api":{"generate":{"x":{"constraints":[]}}}})", false, {"constraints"}},
    {"constraint not an object", R"({"api":{"generate":{"x":{"constraints":{"model":"flux"}}}}})", false, {"model"}},
    {"constraint with no operator", R"({"api":{"generate":{"x":{"constraints":{"model":{}}}}}})", false, {"model"}},
    {"unknown operator", R"({"api":{"generate":{"x":{"constraints":{"model":{"ne":"a"}}}}}})", false,
     {"unknown constraint operator 'ne'", "eq", "lte", "gte", "in"}},
    {"lte needs a number", R"({"api":{"generate":{"x":{"constraints":{"credits":{"lte":"100"}}}}}})", false, {"lte"}},
    {"gte needs a number", R"({"api":{"generate":{"x":{"constraints":{"credits":{"gte":null}}}}}})", false, {"gte"}},
    {"in needs an array", R"({"api":{"generate":{"x":{"constraints":{"model":{"in":"a"}}}}}})", false, {"in"}},
};

TEST(Permissions, ParseAcceptsAndRejectsPerTable) {
  for (auto& c : kParseCases) {
    auto p = Permissions::parse(json::parse(c.doc));
    EXPECT_EQ(p.ok(), c.ok) << c.name << ": " << c.doc << " → " << p.status().message;
    if (c.ok || p.ok()) continue;
    EXPECT_EQ(p.status().code, Code::invalid) << c.name;
    EXPECT_EQ(http_status(p.status().code), 400) << c.name;
    EXPECT_EQ(p.status().field, "permissions") << c.name;
    for (auto& want : c.message_has)
      EXPECT_NE(p.status().message.find(want), std::string::npos) << c.name << ": '" << want << "' missing from: " << p.status().message;
  }
}

TEST(Permissions, ParseNormalizesToAnApiDocument) {
  auto p = Permissions::parse(json::object());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->document(), (json{{"api", json::object()}}));
  auto q = Permissions::parse(json::parse(R"({"api":{"user_read":{}}})"));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->document(), json::parse(R"({"api":{"user_read":{}}})"));
}

struct AllowCase {
  const char* name;
  const char* doc;
  const char* category;
  const char* api_name;
  const char* attrs;
  bool allowed;
};

const AllowCase kAllowCases[] = {
    {"whole category grants any name", R"({"api":{"user_read":{}}})", "user_read", "api.keys.read", "{}", true},
    {"whole category grants only itself", R"({"api":{"user_read":{}}})", "user_write", "api.keys.write", "{}", false},
    {"empty document grants nothing", R"({})", "user_read", "api.keys.read", "{}", false},
    {"named permission grants that name", R"({"api":{"generate":{"api.generate.image":{}}}})", "generate", "api.generate.image", "{}", true},
    {"named permission denies other names", R"({"api":{"generate":{"api.generate.image":{}}}})", "generate", "api.generate.video", "{}", false},
    {"inert category grants nothing", R"({"api":{"instance_read":{}}})", "instance_read", "api.instance.list", "{}", false},
    {"eq matches", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"flux-pro"}}}}}})", "generate", "g", R"({"model":"flux-pro"})", true},
    {"eq mismatches", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"flux-pro"}}}}}})", "generate", "g", R"({"model":"kling-v3"})", false},
    {"eq with missing attribute", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"flux-pro"}}}}}})", "generate", "g", R"({})", false},
    {"eq is type-sensitive", R"({"api":{"generate":{"g":{"constraints":{"credits":{"eq":5}}}}}})", "generate", "g", R"({"credits":"5"})", false},
    {"lte at the bound", R"({"api":{"generate":{"g":{"constraints":{"credits":{"lte":100}}}}}})", "generate", "g", R"({"credits":100})", true},
    {"lte above the bound", R"({"api":{"generate":{"g":{"constraints":{"credits":{"lte":100}}}}}})", "generate", "g", R"({"credits":101})", false},
    {"lte with a string attribute", R"({"api":{"generate":{"g":{"constraints":{"credits":{"lte":100}}}}}})", "generate", "g", R"({"credits":"50"})", false},
    {"gte at the bound", R"({"api":{"generate":{"g":{"constraints":{"credits":{"gte":10}}}}}})", "generate", "g", R"({"credits":10})", true},
    {"gte below the bound", R"({"api":{"generate":{"g":{"constraints":{"credits":{"gte":10}}}}}})", "generate", "g", R"({"credits":9})", false},
    {"gte and lte window inside", R"({"api":{"generate":{"g":{"constraints":{"credits":{"gte":10,"lte":20}}}}}})", "generate", "g", R"({"credits":15})", true},
    {"gte and lte window outside", R"({"api":{"generate":{"g":{"constraints":{"credits":{"gte":10,"lte":20}}}}}})", "generate", "g", R"({"credits":25})", false},
    {"in member", R"({"api":{"generate":{"g":{"constraints":{"model":{"in":["a","b"]}}}}}})", "generate", "g", R"({"model":"b"})", true},
    {"in non-member", R"({"api":{"generate":{"g":{"constraints":{"model":{"in":["a","b"]}}}}}})", "generate", "g", R"({"model":"c"})", false},
    {"all fields must match", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"},"credits":{"lte":5}}}}}})", "generate", "g", R"({"model":"a","credits":6})", false},
    {"all fields matching", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"},"credits":{"lte":5}}}}}})", "generate", "g", R"({"model":"a","credits":5})", true},
};

TEST(Permissions, AllowsPerTable) {
  for (auto& c : kAllowCases) {
    auto p = Permissions::parse(json::parse(c.doc));
    ASSERT_TRUE(p.ok()) << c.name << ": " << p.status().message;
    EXPECT_EQ(p->allows(c.category, c.api_name, json::parse(c.attrs)), c.allowed)
        << c.name << ": " << c.doc << " " << c.category << "/" << c.api_name << " " << c.attrs;
  }
}

TEST(Permissions, PermittedTreatsNullAsFullAccess) {
  EXPECT_TRUE(permitted(nullptr, "billing_write", "api.billing.checkout", json::object()));
  auto p = std::make_shared<const Permissions>(*Permissions::parse(json::parse(R"({"api":{"billing_read":{}}})")));
  EXPECT_TRUE(permitted(p, "billing_read", "api.billing.balance", json::object()));
  EXPECT_FALSE(permitted(p, "billing_write", "api.billing.checkout", json::object()));
}

struct CoverCase {
  const char* name;
  const char* parent;
  const char* child;
  bool covers;
};

const CoverCase kCoverCases[] = {
    {"same document", R"({"api":{"user_read":{}}})", R"({"api":{"user_read":{}}})", true},
    {"empty child", R"({"api":{"user_read":{}}})", R"({})", true},
    {"empty parent, empty child", R"({})", R"({})", true},
    {"empty parent, any child", R"({})", R"({"api":{"user_read":{}}})", false},
    {"whole category covers a name in it", R"({"api":{"generate":{}}})", R"({"api":{"generate":{"api.generate.image":{}}}})", true},
    {"a name does not cover the whole category", R"({"api":{"generate":{"api.generate.image":{}}}})", R"({"api":{"generate":{}}})", false},
    {"missing category", R"({"api":{"user_read":{}}})", R"({"api":{"user_write":{}}})", false},
    {"extra category", R"({"api":{"user_read":{}}})", R"({"api":{"user_read":{},"billing_write":{}}})", false},
    {"other name in the category", R"({"api":{"generate":{"api.generate.image":{}}}})", R"({"api":{"generate":{"api.generate.video":{}}}})", false},
    {"inert child category grants nothing, so it is covered", R"({"api":{"user_read":{}}})", R"({"api":{"instance_write":{}}})", true},
    {"unconstrained parent covers a constrained child", R"({"api":{"generate":{"g":{}}}})", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"}}}}}})", true},
    {"constrained parent, unconstrained child", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"}}}}}})", R"({"api":{"generate":{"g":{}}}})", false},
    {"eq same", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"}}}}}})", true},
    {"eq different", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"b"}}}}}})", false},
    {"lte tighter", R"({"api":{"generate":{"g":{"constraints":{"credits":{"lte":100}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"credits":{"lte":50}}}}}})", true},
    {"lte looser", R"({"api":{"generate":{"g":{"constraints":{"credits":{"lte":100}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"credits":{"lte":200}}}}}})", false},
    {"gte tighter", R"({"api":{"generate":{"g":{"constraints":{"credits":{"gte":10}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"credits":{"gte":20}}}}}})", true},
    {"gte looser", R"({"api":{"generate":{"g":{"constraints":{"credits":{"gte":10}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"credits":{"gte":5}}}}}})", false},
    {"in subset", R"({"api":{"generate":{"g":{"constraints":{"model":{"in":["a","b","c"]}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"model":{"in":["a","b"]}}}}}})", true},
    {"in superset", R"({"api":{"generate":{"g":{"constraints":{"model":{"in":["a","b"]}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"model":{"in":["a","d"]}}}}}})", false},
    {"constraint on another field", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"credits":{"lte":1}}}}}})", false},
    {"child adds a constraint", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"}}}}}})", R"({"api":{"generate":{"g":{"constraints":{"model":{"eq":"a"},"credits":{"lte":1}}}}}})", true},
};

TEST(Permissions, CoversPerTableSoNoKeyEscalates) {
  for (auto& c : kCoverCases) {
    auto parent = Permissions::parse(json::parse(c.parent));
    auto child = Permissions::parse(json::parse(c.child));
    ASSERT_TRUE(parent.ok() && child.ok()) << c.name;
    EXPECT_EQ(parent->covers(*child), c.covers) << c.name << ": parent " << c.parent << " child " << c.child;
  }
}

// Whatever covers() says, a covered child must never allow a call its parent refuses.
TEST(Permissions, ACoveredChildNeverAllowsMoreThanItsParent) {
  const std::vector<std::pair<const char*, const char*>> calls = {
      {"generate", R"({"model":"a","credits":5})"},   {"generate", R"({"model":"b","credits":50})"},
      {"generate", R"({"model":"d","credits":150})"}, {"generate", R"({"credits":15})"},
      {"user_read", R"({})"},                          {"user_write", R"({})"},
  };
  int checked = 0;
  for (auto& c : kCoverCases) {
    auto parent = Permissions::parse(json::parse(c.parent));
    auto child = Permissions::parse(json::parse(c.child));
    if (!parent->covers(*child)) continue;
    for (auto& [cat, attrs] : calls)
      for (const char* name : {"g", "api.generate.image", "api.generate.video", "api.keys.read"}) {
        checked++;
        if (child->allows(cat, name, json::parse(attrs))) {
          EXPECT_TRUE(parent->allows(cat, name, json::parse(attrs))) << c.name << ": " << cat << "/" << name << " " << attrs;
        }
      }
  }
  EXPECT_GT(checked, 0);
}

TEST(Permissions, CategoryListsMatchTheSpec) {
  EXPECT_EQ(enforced_categories(),
            (std::vector<std::string>{"user_read", "user_write", "billing_read", "billing_write", "generate", "render"}));
  EXPECT_EQ(inert_categories(), (std::vector<std::string>{"instance_read", "instance_write", "machine_read", "machine_write",
                                                          "misc", "team_read", "team_write"}));
}

}  // namespace
}  // namespace varg
