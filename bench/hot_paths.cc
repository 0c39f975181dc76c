// Micro-benchmarks of what every gateway request pays before any I/O: API key shape check and
// peppered hash, the permission check of a scoped key, request validation (JSON parse and
// normalize_request) and the cache key over the normalized request.
#include <benchmark/benchmark.h>

#include "auth/api_key.h"
#include "auth/permissions.h"
#include "common/crypto.h"
#include "gen/catalog.h"
#include "gen/request.h"

namespace {

using json = nlohmann::json;
using namespace varg;

const std::string kBody = R"({"model":"flux-pro","prompt":"a red fox in the snow, studio light","aspect_ratio":"16:9"})";

void BM_ApiKeyWellFormed(benchmark::State& st) {
  crypto_init();
  const std::string key = ApiKey::generate();
  for (auto _ : st) benchmark::DoNotOptimize(ApiKey::well_formed(key));
}
BENCHMARK(BM_ApiKeyWellFormed);

void BM_SecretHasherHash(benchmark::State& st) {
  crypto_init();
  const std::string key = ApiKey::generate();
  SecretHasher hasher(random_bytes(32));
  for (auto _ : st) benchmark::DoNotOptimize(hasher.hash(key));
}
BENCHMARK(BM_SecretHasherHash);

// What Authenticator::api_key does before its cache lookup: shape, checksum and hash.
void BM_KeyVerify(benchmark::State& st) {
  crypto_init();
  const std::string key = ApiKey::generate();
  SecretHasher hasher(random_bytes(32));
  for (auto _ : st) {
    bool ok = ApiKey::well_formed(key);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(hasher.hash(key));
  }
}
BENCHMARK(BM_KeyVerify);

void BM_PermissionsAllows(benchmark::State& st) {
  auto doc = json::parse(R"({"api":{"user_read":{},"generate":{"image":{"constraints":{
      "model":{"in":["flux-pro","flux-schnell","soul"]},"credits":{"lte":100}}}}}})");
  auto perms = Permissions::parse(doc);
  if (!perms.ok()) return st.SkipWithError("permissions did not parse");
  const json attrs = {{"model", "flux-pro"}, {"credits", 10}};
  const std::string category = "generate", name = "image";
  for (auto _ : st) benchmark::DoNotOptimize(perms->allows(category, name, attrs));
}
BENCHMARK(BM_PermissionsAllows);

void BM_JsonParseRequest(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(json::parse(kBody, nullptr, false));
}
BENCHMARK(BM_JsonParseRequest);

void BM_NormalizeRequest(benchmark::State& st) {
  const Catalog catalog = Catalog::builtin();
  const json body = json::parse(kBody);
  const std::string cap = "image";
  for (auto _ : st) benchmark::DoNotOptimize(normalize_request(cap, body, catalog));
}
BENCHMARK(BM_NormalizeRequest);

// Parse + validate, as the /v1/image route does with the raw body.
void BM_ParseAndNormalize(benchmark::State& st) {
  const Catalog catalog = Catalog::builtin();
  const std::string cap = "image";
  for (auto _ : st) {
    auto body = json::parse(kBody, nullptr, false);
    benchmark::DoNotOptimize(normalize_request(cap, body, catalog));
  }
}
BENCHMARK(BM_ParseAndNormalize);

void BM_CacheKey(benchmark::State& st) {
  const Catalog catalog = Catalog::builtin();
  auto req = normalize_request("image", json::parse(kBody), catalog);
  if (!req.ok()) return st.SkipWithError("request did not normalize");
  const std::string cap = "image";
  const std::vector<std::string> inputs;
  for (auto _ : st) benchmark::DoNotOptimize(cache_key(cap, *req->model, req->params, inputs, 0));
}
BENCHMARK(BM_CacheKey);

}  // namespace

BENCHMARK_MAIN();
