-- wrk script shared by every scenario of bench/run. Configured by environment:
--   BENCH_METHOD, BENCH_BODY   request method and body (headers come from wrk -H)
--   BENCH_SEQ                  "METHOD PATH;METHOD PATH;..." cycled per connection instead of the URL's path
--   BENCH_MAX                  stop a thread after this many responses (every load is bounded in
--                              requests as well as by wrk -d in time)
-- done() prints one JSON line: requests, seconds, p50/p99 in microseconds, non-2xx and socket errors.
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local max = tonumber(os.getenv("BENCH_MAX") or "1000000")
local seq = {}
for m, p in string.gmatch(os.getenv("BENCH_SEQ") or "", "(%u+) ([^;]+)") do seq[#seq + 1] = {m, p} end

wrk.method = method
if body and body ~= "" then wrk.body = body end

local n, i = 0, 0

request = function()
  if #seq == 0 then return wrk.format() end
  i = i % #seq + 1
  local m, p = seq[i][1], seq[i][2]
  return wrk.format(m, p, nil, m == "GET" and "" or wrk.body)
end

response = function(status, headers, b)
  n = n + 1
  if n >= max then wrk.thread:stop() end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.mean,
    e.status, e.connect + e.read + e.write + e.timeout))
end
