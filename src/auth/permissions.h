// Scoped keys (SPEC 5): a Vast-shaped permission document
//   {"api": {"<category>": {"<api.name>": {"constraints": {"<field>": {"eq"|"lte"|"gte"|"in": v}}}}}}
// validated on creation and checked by the pipeline's permission step. null = full rights.
#pragma once
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"

namespace varg {

class Permissions {
 public:
  // Validates a document; 400 naming the bad category, operator or shape.
  static Result<Permissions> parse(const nlohmann::json& doc);

  // Whether the document grants `api_name` in `category`, given the call's attributes (e.g. model,
  // credits) for constraints. An attribute a constraint names but the call lacks does not match.
  bool allows(const std::string& category, const std::string& api_name, const nlohmann::json& attrs) const;

  // Whether every right of `child` is also granted here (no escalation).
  bool covers(const Permissions& child) const;

  const nlohmann::json& document() const { return doc_; }

 private:
  nlohmann::json doc_;  // normalized: {"api": {...}}
};

// The categories this gateway enforces, and Vast's own categories that are accepted and inert.
const std::vector<std::string>& enforced_categories();
const std::vector<std::string>& inert_categories();

// The pipeline's check: a null document (shared_ptr empty) is full access.
bool permitted(const std::shared_ptr<const Permissions>& p, const std::string& category, const std::string& api_name,
               const nlohmann::json& attrs);

}  // namespace varg
