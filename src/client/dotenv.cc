// .env files as Bun and dotenv read them: KEY=VALUE, optional `export `, quotes, # comments.
#include <sstream>

#include "varg/credentials.h"

namespace varg::client {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// A value: quoted (up to the closing quote; \n and \" unescaped inside double quotes) or bare (up
// to a " #" comment).
std::string value_of(const std::string& raw) {
  if (!raw.empty() && (raw[0] == '"' || raw[0] == '\'')) {
    const char q = raw[0];
    std::string out;
    for (size_t i = 1; i < raw.size(); ++i) {
      if (raw[i] == q) return out;
      if (q == '"' && raw[i] == '\\' && i + 1 < raw.size()) {
        const char n = raw[++i];
        out += n == 'n' ? '\n' : n;
        continue;
      }
      out += raw[i];
    }
    return raw;  // no closing quote: taken literally
  }
  const auto hash = raw.find(" #");
  return trim(hash == std::string::npos ? raw : raw.substr(0, hash));
}

}  // namespace

std::map<std::string, std::string> parse_dotenv(const std::string& text) {
  std::map<std::string, std::string> vars;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = trim(line.substr(0, eq));
    if (name.empty() || name.find_first_of(" \t") != std::string::npos) continue;
    vars[name] = value_of(trim(line.substr(eq + 1)));
  }
  return vars;
}

}  // namespace varg::client
