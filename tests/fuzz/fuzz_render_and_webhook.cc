// The two remaining JSON bodies through their readers: POST /api/render (first byte even) and a
// signed payment event (odd).
#include <cstdint>
#include <string_view>

#include "billing/checkout_event.h"
#include "render/render_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto r = varg::render::RenderRequest::parse(body);
    if (r.ok() && (r->code.empty() || (r->mode != "strict" && r->mode != "preview"))) __builtin_trap();
  } else {
    auto e = varg::read_checkout_event(body);
    if (e.paid && (e.session_id.empty() || e.package_id.empty() || e.user_id < 0)) __builtin_trap();
  }
  return 0;
}
