// Every JSON request body through its validator: the first byte picks the validator (generation
// per capability, key creation, permission documents), the rest is the body as a client sends it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/keys.h"
#include "auth/permissions.h"
#include "common/json.h"
#include "gen/catalog.h"
#include "gen/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const varg::Catalog catalog = varg::Catalog::builtin();
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto parsed = varg::parse_object(body);
  if (!parsed.ok()) return 0;
  const nlohmann::json& doc = *parsed;
  switch (data[0] % 4) {
    case 0: {
      static const char* const caps[] = {"image", "video", "speech", "music", "transcription"};
      for (const char* cap : caps) {
        auto r = varg::normalize_request(cap, doc, catalog);
        if (r.ok()) (void)r->params.dump();  // the cache key hashes this
      }
      break;
    }
    case 1:
      (void)varg::parse_key_request(doc, 1, 1'800'000'000, false);
      break;
    case 2: {
      auto p = varg::Permissions::parse(doc.contains("permissions") ? doc["permissions"] : doc);
      if (p.ok()) {
        if (!p->covers(*p)) __builtin_trap();  // every document covers itself
        (void)p->allows("generate", "api.generate.image", {{"model", "flux-pro"}, {"credits", 5}});
        (void)p->document().dump();
      }
      break;
    }
    default:
      (void)doc.dump();
      (void)(doc == doc);
  }
  return 0;
}
