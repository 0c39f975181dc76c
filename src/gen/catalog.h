// The model catalog: model → capability, provider, upstream id, parameter rules and price. Data,
// not code: the default is catalog.json (embedded at build time); --catalog FILE replaces it.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace varg {

struct ModelSpec {
  std::string id, capability, provider, upstream;
  int64_t credits = 0;
  int per_seconds = 0;             // 0: flat price per request; N: `credits` per started N seconds
  std::vector<int> durations;      // accepted durations in seconds (video); empty: any in [1, max_duration]
  int default_duration = 5;
  int max_duration = 0;
  bool prompt_optional = false;    // lipsync/upscale models take "" prompts
  bool needs_files = false;

  std::string qualified() const { return provider + ":" + id; }
  int64_t price(int duration_seconds) const;
  std::string unit() const;  // "request" or "5s"
};

struct Voice {
  std::string voice_id, name;
};

class Catalog {
 public:
  static Result<Catalog> parse(const nlohmann::json& doc);
  static Catalog builtin();

  // By plain id ("kling-v3") or qualified id ("fal:kling-v3"); nullptr when unknown.
  const ModelSpec* find(const std::string& name) const;
  const std::vector<ModelSpec>& models() const { return models_; }
  const std::vector<Voice>& voices() const { return voices_; }
  // An alias ("rachel") → its voice id; anything else is taken as a provider voice id.
  std::string voice_id(const std::string& voice) const;

 private:
  std::vector<ModelSpec> models_;
  std::vector<Voice> voices_;
};

}  // namespace varg
