#include "cli/output.h"

#include <unistd.h>

#include <iostream>

namespace varg::cli {
namespace {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string server_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

}  // namespace

int fail(const std::string& message) {
  std::cerr << "varg: " << message << "\n";
  return 1;
}

int fail(const Error& e) {
  if (e.unreachable())
    return fail("cannot reach the varg server at " + server_of(e.url) + " (" + e.message +
                "); is vargd running? Set VARG_GATEWAY_URL and VARG_APP_URL to its address");
  switch (e.status) {
    case 0: return fail(e.message);
    case 401: return fail(e.message + " (HTTP 401): the API key was refused; run `varg login`");
    case 402: return fail(e.message + " (HTTP 402): add credits with `varg topup`");
    case 403: return fail(e.message + " (HTTP 403): this key's permissions do not allow it");
    default: return fail(e.message + " (HTTP " + std::to_string(e.status) + ")");
  }
}

void print_json(const json& value) { std::cout << value.dump(2) << std::endl; }

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string credits_text(int64_t cents) {
  const int64_t abs = cents < 0 ? -cents : cents;
  std::string frac = std::to_string(abs % 100);
  if (frac.size() < 2) frac = "0" + frac;
  return grouped(cents) + " credits (" + (cents < 0 ? "-" : "") + "$" + grouped(abs / 100) + "." + frac + ")";
}

std::string field_text(const json& object, const std::string& name, const std::string& fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = display_width(header[i]);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - display_width(cells[i]) + 2, ' ');
    }
    out.erase(out.find_last_not_of(' ') + 1);
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
  std::cout << std::flush;
}

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }
bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }
bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

}  // namespace varg::cli
