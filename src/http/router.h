// Method + path-pattern routing with {param} segments. Knows which paths exist for other methods,
// so the caller can answer 405 with Allow rather than 404.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace varg {

class Router {
 public:
  // Registers a pattern such as "/api/keys/{id}"; returns its index (routes keep insertion order).
  size_t add(std::string method, std::string pattern);

  struct Match {
    enum Kind { found, wrong_method, none } kind = none;
    size_t index = 0;
    std::map<std::string, std::string> params;
    std::string allow;  // for wrong_method: "GET, DELETE"
  };
  Match match(const std::string& method, const std::string& path) const;

  const std::string& pattern(size_t i) const { return routes_[i].pattern; }
  const std::string& method(size_t i) const { return routes_[i].method; }
  size_t size() const { return routes_.size(); }

 private:
  struct Entry {
    std::string method, pattern;
    std::vector<std::string> segs;
  };
  std::vector<Entry> routes_;
};

}  // namespace varg
