// A generation job as the gateway reports it (SPEC 6, JobResponse) and a Cloud Render job (SPEC 10).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace varg::client {

struct Job {
  std::string id;
  std::string status;      // queued | processing | completed | failed | cancelled (render: rendering)
  std::string output_url;  // empty until completed
  std::string media_type;  // of the output, when the server says
  std::string error;       // the failure text of a failed job
  bool cache_hit = false;
  nlohmann::json body;     // the server's JSON, as it came

  bool terminal() const { return status == "completed" || status == "failed" || status == "cancelled"; }
  bool completed() const { return status == "completed"; }
};

// From a JobResponse {"job_id","status","output":{"url","media_type"},"cache":{"hit"},"error"}.
Job job_from_response(const nlohmann::json& body);
// From a render job {"job_id","status","output_url","error"}.
Job job_from_render(const nlohmann::json& body);

// The file extension (with its dot) for a media type, falling back on the URL's own extension.
std::string extension_for(const std::string& media_type, const std::string& url);

}  // namespace varg::client
