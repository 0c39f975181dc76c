#include "client/server_error.h"

#include <nlohmann/json.hpp>

namespace varg::client {
namespace {

std::string text_of(const nlohmann::json& body) {
  if (!body.is_object()) return {};
  auto str = [&](const char* name) -> std::string {
    auto it = body.find(name);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto err = body.find("error");
  if (err != body.end() && err->is_object()) {  // gateway: {"error":{"code","message"}}
    auto m = err->find("message");
    if (m != err->end() && m->is_string()) return m->get<std::string>();
  }
  // Vast puts the kind in "error" and the text in "msg", so msg comes first.
  for (const char* name : {"msg", "error", "message"})
    if (auto s = str(name); !s.empty()) return s;
  return {};
}

}  // namespace

Error server_error(int status, const std::string& body, const std::string& url) {
  std::string text = text_of(nlohmann::json::parse(body, nullptr, false));
  if (text.empty()) {
    text = "HTTP " + std::to_string(status);
    std::string snippet = body.substr(0, 200);
    for (char& c : snippet)
      if (c == '\n' || c == '\r') c = ' ';
    if (!snippet.empty()) text += ": " + snippet;
  }
  return Error{status, text, url};
}

}  // namespace varg::client
