#include "http/router.h"

namespace varg {

namespace {
std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool match_segs(const std::vector<std::string>& pat, const std::vector<std::string>& got,
                std::map<std::string, std::string>* params) {
  if (pat.size() != got.size()) return false;
  for (size_t i = 0; i < pat.size(); i++) {
    const std::string& p = pat[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      (*params)[p.substr(1, p.size() - 2)] = got[i];
    } else if (p != got[i]) {
      return false;
    }
  }
  return true;
}
}  // namespace

size_t Router::add(std::string method, std::string pattern) {
  auto segs = split(pattern);
  routes_.push_back(Entry{std::move(method), std::move(pattern), std::move(segs)});
  return routes_.size() - 1;
}

Router::Match Router::match(const std::string& method, const std::string& path) const {
  Match m;
  auto segs = split(path);
  for (size_t i = 0; i < routes_.size(); i++) {
    std::map<std::string, std::string> params;
    if (!match_segs(routes_[i].segs, segs, &params)) continue;
    bool same = routes_[i].method == method || (method == "HEAD" && routes_[i].method == "GET");
    if (same) {
      m.kind = Match::found;
      m.index = i;
      m.params = std::move(params);
      return m;
    }
    m.kind = Match::wrong_method;
    if (m.allow.find(routes_[i].method) == std::string::npos)
      m.allow += (m.allow.empty() ? "" : ", ") + routes_[i].method;
  }
  return m;
}

}  // namespace varg
