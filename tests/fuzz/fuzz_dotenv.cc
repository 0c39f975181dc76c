// The CLI's .env parser (SPEC 8): KEY=VALUE lines, export, quotes, comments.
#include <cstdint>
#include <string>

#include "varg/credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto vars = varg::client::parse_dotenv(std::string(reinterpret_cast<const char*>(data), size));
  for (auto& [k, v] : vars)
    if (k.empty()) __builtin_trap();
  return 0;
}
