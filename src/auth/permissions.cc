#include "auth/permissions.h"

#include <algorithm>

#include "common/text.h"

namespace varg {

using json = nlohmann::json;

const std::vector<std::string>& enforced_categories() {
  static const std::vector<std::string> v = {"user_read", "user_write", "billing_read", "billing_write", "generate", "render"};
  return v;
}

const std::vector<std::string>& inert_categories() {
  static const std::vector<std::string> v = {"instance_read", "instance_write", "machine_read", "machine_write",
                                             "misc", "team_read", "team_write"};
  return v;
}

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

const std::vector<std::string> kOps = {"eq", "lte", "gte", "in"};

Status bad(const std::string& msg) { return error(Code::invalid, msg, "permissions"); }

bool satisfies(const std::string& op, const json& want, const json& have) {
  if (op == "eq") return have == want;
  if (op == "in") return want.is_array() && std::find(want.begin(), want.end(), have) != want.end();
  if (!have.is_number() || !want.is_number()) return false;
  return op == "lte" ? have.get<double>() <= want.get<double>() : have.get<double>() >= want.get<double>();
}

// Whether constraint (op, c) on a child is at least as strict as (op, p) on the parent.
bool stricter(const std::string& op, const json& p, const json& c) {
  if (op == "eq") return p == c;
  if (op == "in") {
    if (!c.is_array()) return false;
    return std::all_of(c.begin(), c.end(), [&](const json& x) { return satisfies("in", p, x); });
  }
  return satisfies(op, p, c);
}

}  // namespace

Result<Permissions> Permissions::parse(const json& doc) {
  if (!doc.is_object()) return bad("permissions must be a JSON object like {\"api\": {...}}");
  for (auto& [k, _] : doc.items())
    if (k != "api") return bad("unknown permissions field '" + k + "'; expected {\"api\": {...}}");
  json api = doc.contains("api") ? doc["api"] : json::object();
  if (!api.is_object()) return bad("permissions 'api' must be an object");
  for (auto& [cat, names] : api.items()) {
    if (!contains(enforced_categories(), cat) && !contains(inert_categories(), cat))
      return bad("unknown permission category '" + cat + "'; valid categories: " + join(enforced_categories()) + ", " +
                 join(inert_categories()));
    if (!names.is_object()) return bad("permission category '" + cat + "' must be an object");
    for (auto& [name, spec] : names.items()) {
      if (!spec.is_object()) return bad("permission '" + name + "' must be an object");
      for (auto& [k, _] : spec.items())
        if (k != "constraints") return bad("unknown field '" + k + "' in permission '" + name + "'; expected 'constraints'");
      if (!spec.contains("constraints")) continue;
      const json& cons = spec["constraints"];
      if (!cons.is_object()) return bad("constraints of '" + name + "' must be an object");
      for (auto& [field, ops] : cons.items()) {
        if (!ops.is_object() || ops.empty()) return bad("constraint on '" + field + "' must be an object of operators");
        for (auto& [op, v] : ops.items()) {
          if (!contains(kOps, op)) return bad("unknown constraint operator '" + op + "'; valid operators: " + join(kOps));
          if ((op == "lte" || op == "gte") && !v.is_number()) return bad("operator '" + op + "' needs a number");
          if (op == "in" && !v.is_array()) return bad("operator 'in' needs an array");
        }
      }
    }
  }
  Permissions p;
  p.doc_ = json{{"api", api}};
  return p;
}

bool Permissions::allows(const std::string& category, const std::string& api_name, const json& attrs) const {
  const json& api = doc_["api"];
  auto cat = api.find(category);
  if (cat == api.end() || !contains(enforced_categories(), category)) return false;
  if (cat->empty()) return true;  // an empty category grants all of it
  auto spec = cat->find(api_name);
  if (spec == cat->end()) return false;
  auto cons = spec->find("constraints");
  if (cons == spec->end()) return true;
  for (auto& [field, ops] : cons->items()) {
    auto have = attrs.find(field);
    if (have == attrs.end()) return false;
    for (auto& [op, want] : ops.items())
      if (!satisfies(op, want, *have)) return false;
  }
  return true;
}

bool Permissions::covers(const Permissions& child) const {
  const json& mine = doc_["api"];
  for (auto& [cat, names] : child.doc_["api"].items()) {
    if (contains(inert_categories(), cat)) continue;  // grants nothing here
    auto pc = mine.find(cat);
    if (pc == mine.end()) return false;
    if (pc->empty()) continue;        // parent has the whole category
    if (names.empty()) return false;  // child asks for the whole category, parent has part of it
    for (auto& [name, spec] : names.items()) {
      auto ps = pc->find(name);
      if (ps == pc->end()) return false;
      auto pcons = ps->find("constraints");
      if (pcons == ps->end()) continue;
      auto ccons = spec.find("constraints");
      if (ccons == spec.end()) return false;
      for (auto& [field, ops] : pcons->items()) {
        auto cf = ccons->find(field);
        if (cf == ccons->end()) return false;
        for (auto& [op, pv] : ops.items()) {
          auto cv = cf->find(op);
          if (cv == cf->end() || !stricter(op, pv, *cv)) return false;
        }
      }
    }
  }
  return true;
}

bool permitted(const std::shared_ptr<const Permissions>& p, const std::string& category, const std::string& api_name,
               const json& attrs) {
  return !p || p->allows(category, api_name, attrs);
}

}  // namespace varg
