// Content sniffing of stored files: whatever the bytes, the verdict is an inline-servable type
// or application/octet-stream, never anything a browser would run.
#include <cstdint>
#include <string_view>

#include "gen/media_type.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto t = varg::sniff_media_type(std::string_view(reinterpret_cast<const char*>(data), size));
  if (t != "application/octet-stream" && !varg::servable_inline(t)) __builtin_trap();
  return 0;
}
