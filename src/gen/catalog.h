// The model catalog: model → capability, provider, upstream id, parameter rules and price. Data,
// not code: the default is catalog.json (embedded at build time); --catalog FILE replaces it.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace varg {

// How many input files of each kind (image, video, audio) a model takes in `files`.
struct FileRule {
  std::string media;  // "image" | "video" | "audio"
  int min = 0, max = 0;
};

// An extra enumerated parameter of a model ("resolution": "480p" | "720p").
struct Choice {
  std::string name;
  std::vector<std::string> values;
  std::string def;
};

struct ModelSpec {
  std::string id, capability, provider, upstream;
  int64_t credits = 0;
  int per_seconds = 0;             // 0: flat price per request; N: `credits` per started N seconds
  std::vector<int> durations;      // accepted durations in seconds; empty: any in [min_duration, max_duration]
  int default_duration = 5;
  int min_duration = 1;
  int max_duration = 0;            // 0: no upper bound besides the request limit
  bool prompt_optional = false;    // lipsync/upscale models take "" prompts
  std::vector<std::string> aspect_ratios;  // accepted; empty: any W:H
  std::vector<FileRule> files;     // empty: the model takes no input files
  std::vector<Choice> choices;
  // The upstream endpoint when a file of a kind is given (image-to-video, video editing): video
  // first, then image, then audio; otherwise `upstream`. A route may have its own input mapping.
  struct Route {
    std::string endpoint;
    nlohmann::json input;  // null: the model's
  };
  std::map<std::string, Route> routes;
  std::vector<std::string> required_options;  // provider_options fields a request must give (sora remix's video_id)
  // The provider's input document: field → source ("prompt", "duration:string", "file:image",
  // "files:image", "file:image:2", "choice:resolution", "aspect_ratio:image_size", or a literal
  // JSON value). See docs/models.md.
  nlohmann::json input = nlohmann::json::object();

  std::string qualified() const { return provider + ":" + id; }
  int64_t price(int duration_seconds) const;
  std::string unit() const;  // "request" or "5s"
  // Another provider's model of the same capability that takes this model's requests while this
  // provider's circuit breaker is open — only when the caller pays exactly the same. "": none.
  std::string fallback;
  bool timed = true;  // false: the output's length follows its inputs (lipsync, upscale, edit): no duration, a flat price
  bool takes_duration() const { return timed && (capability == "video" || capability == "music"); }
  const FileRule* file_rule(const std::string& media) const;  // nullptr: the model takes no such files
  // 1:1 for images, 16:9 for video, unless the model does not take it (then its first).
  std::string default_aspect_ratio() const;
};

struct Voice {
  std::string voice_id, name;
  // What GET /v1/voices filters on: gender, accent, age, use_case, description, provider, category.
  std::map<std::string, std::string> labels;
};

class Catalog {
 public:
  // {"families": {name: {shared fields}}, "models": [{"id", "family"?, fields...}], "voices": [...]}:
  // a model's fields are its family's, overridden by its own.
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
