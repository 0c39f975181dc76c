// A provider call's endpoint and input document, built from the model's catalog entry (its
// `input` mapping, `routes` and `files` rules) so that a new model of a known family is data only.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "gen/catalog.h"
#include "gen/provider.h"

namespace varg {

struct UpstreamRequest {
  std::string endpoint;  // the model's upstream, or the route its input files choose
  nlohmann::json input;  // provider_options, then every mapped field (which wins: the price depends on them)
};

// Input files are matched to the model's roles by kind, in the order given. A file of a kind the
// model does not take, or a missing required one, is Code::invalid naming `files`.
Result<UpstreamRequest> upstream_request(const ModelSpec& m, const nlohmann::json& params,
                                         const std::vector<InputFile>& inputs);

// Counts of input files by kind ("" for a kind the model cannot know) against the model's `files`
// rules: more than a rule allows, or a kind it does not take, is Code::invalid naming `files`; so is
// fewer than a rule needs when `complete` (every file's kind is known).
Status check_file_kinds(const ModelSpec& m, const std::map<std::string, int>& counts, bool complete);

// "image", "video", "audio" from a media type; "" for anything else.
std::string media_kind(const std::string& media_type);

}  // namespace varg
