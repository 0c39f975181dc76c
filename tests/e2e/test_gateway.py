#!/usr/bin/env python3
"""End-to-end: generation, cache, jobs, files and money through the real vargd, with the fal and
Stripe protocols served by tests/fakes/fake_upstream.py. Usage: test_gateway.py /path/to/vargd"""
import hashlib, hmac, json, sys, threading, time, unittest
from concurrent.futures import ThreadPoolExecutor

from harness import Vargd, balance, call, start_fake, wait_job


class Gateway(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake, cls.fake_url = start_fake()
        cls.v = Vargd(["--allow-private-urls", "1", "--allow-private-provider-urls", "1", "--provider-poll-ms", "50", "--provider-timeout-ms", "3000",
                       "--fal-url", cls.fake_url, "--fal-key", "pooled_fal_key", "--stripe-url", cls.fake_url,
                       "--stripe-secret-key", "sk_test_123", "--stripe-webhook-secret", "whsec_test"])
        cls.u = cls.v.url

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()
        cls.fake.kill()
        cls.fake.wait()

    def setUp(self):
        call("POST", self.fake_url + "/_reset")

    def fake_calls(self, method=None):
        calls = call("GET", self.fake_url + "/_calls")[2]["calls"]
        return [c for c in calls if method is None or c["method"] == method]

    def control(self, **cfg):
        call("POST", self.fake_url + "/_control", body=cfg)

    def gen(self, key, body, cap="image", headers=None):
        return call("POST", "%s/v1/%s" % (self.u, cap), key, body, headers)

    # ---- job listing ----
    def test_job_listing_pages_newest_first_with_filters(self):
        key, other = self.v.user("lister@example.com", 0), self.v.user("lister2@example.com", 0)
        ids = []
        for i in range(5):
            s, _, j = self.gen(key, {"model": "local-image", "prompt": "list %d %f" % (i, time.time())})
            self.assertEqual(s, 202, j)
            ids.append(j["job_id"])
            time.sleep(1.05)  # created_at has whole seconds: two pages must also order jobs of one second by id
        s, _, j = self.gen(key, {"model": "local-speech", "text": "listed %f" % time.time()}, cap="speech")
        ids.append(j["job_id"])
        for jid in ids:
            wait_job(self.u, key, jid)
        seen, cursor, pages = [], None, 0
        while True:
            s, _, page = call("GET", "%s/v1/jobs?limit=2%s" % (self.u, "&cursor=" + cursor if cursor else ""), key)
            self.assertEqual(s, 200, page)
            self.assertLessEqual(len(page["jobs"]), 2)
            seen += [j["job_id"] for j in page["jobs"]]
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, list(reversed(ids)), "every job once, newest first")
        self.assertEqual(pages, 3)
        s, _, speech = call("GET", self.u + "/v1/jobs?capability=speech&status=completed", key)
        self.assertEqual([j["job_id"] for j in speech["jobs"]], [ids[-1]])
        self.assertIsNone(speech["next_cursor"])
        self.assertEqual(call("GET", self.u + "/v1/jobs?status=failed", key)[2]["jobs"], [])
        self.assertEqual(call("GET", self.u + "/v1/jobs", other)[2]["jobs"], [], "another account sees none of them")
        for q, field in (("limit=0", "limit"), ("limit=abc", "limit"), ("limit=101", "limit"), ("status=done", "status"),
                         ("capability=poetry", "capability"), ("cursor=nonsense", "cursor")):
            s, _, err = call("GET", self.u + "/v1/jobs?" + q, key)
            self.assertEqual(s, 400, (q, err))
            self.assertEqual(err.get("field"), field, (q, err))

    # ---- local provider, cache ----
    def test_local_image_then_cache_hit_then_no_cache_and_no_store(self):
        key = self.v.user("cache@example.com", 0)
        req = {"model": "local-image", "prompt": "a cabin at sunset %f" % time.time()}
        s, h, j = self.gen(key, req)
        self.assertEqual(s, 202, j)
        self.assertEqual(h["X-Cache"], "MISS")
        done = wait_job(self.u, key, j["job_id"])
        self.assertEqual(done["status"], "completed", done)
        s, _, png = call("GET", done["output"]["url"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        s, h, hit = self.gen(key, dict(reversed(list(req.items()))))
        self.assertEqual((h["X-Cache"], hit["status"], hit["billing"]["mode"]), ("HIT", "completed", "cached"), hit)
        self.assertEqual(hit["output"]["url"], done["output"]["url"])
        s, h, nc = self.gen(key, req, headers={"Cache-Control": "no-cache"})
        self.assertEqual(h["X-Cache"], "MISS")
        wait_job(self.u, key, nc["job_id"])
        fresh = {"model": "local-image", "prompt": "never stored %f" % time.time()}
        s, h, ns = self.gen(key, fresh, headers={"Cache-Control": "no-store"})
        wait_job(self.u, key, ns["job_id"])
        s, h, again = self.gen(key, fresh)
        self.assertEqual(h["X-Cache"], "MISS", "a no-store result must not be cached")

    def test_hits_are_recorded_off_the_reply_path_yet_seen_at_once_and_kept(self):
        """A hit's job row is written in a batch after the reply (gen/hits.h): its job, the job list
        and the usage show it at once, a stop writes the queue, and a kill -9 loses none older than
        the batch period."""
        v = Vargd(["--allow-private-urls", "1"])
        try:
            key = v.user("hits@example.com", 0)
            req = {"model": "local-image", "prompt": "hit batch %f" % time.time()}
            s, _, first = call("POST", v.url + "/v1/image", key, req)
            self.assertEqual(wait_job(v.url, key, first["job_id"])["status"], "completed")
            hits = []
            for _ in range(20):
                s, h, hit = call("POST", v.url + "/v1/image", key, req)
                self.assertEqual((s, h["X-Cache"], hit["billing"]["mode"]), (202, "HIT", "cached"), hit)
                s, _, got = call("GET", v.url + "/v1/jobs/" + hit["job_id"], key)
                self.assertEqual((s, got["status"], got["billing"]["mode"]), (200, "completed", "cached"), got)
                hits.append(hit["job_id"])
            listed = lambda: [j["job_id"] for j in call("GET", v.url + "/v1/jobs?limit=100", key)[2]["jobs"]]
            usage = lambda: [u["job_id"] for u in call("GET", v.url + "/v1/usage", key)[2]["usage"] if u["cache_hit"]]
            self.assertEqual(sorted(listed()), sorted(hits + [first["job_id"]]))
            self.assertEqual(sorted(usage()), sorted(hits))
            s, _, late = call("POST", v.url + "/v1/image", key, req)
            v.stop()  # SIGTERM: the queue is written before vargd exits
            v.start()
            self.assertIn(late["job_id"], listed())
            s, _, last = call("POST", v.url + "/v1/image", key, req)
            time.sleep(0.5)  # several batch periods
            v.kill9()
            v.start()
            self.assertEqual(sorted(usage()), sorted(hits + [late["job_id"], last["job_id"]]))
            self.assertEqual(balance(v.url, key)["reserved_cents"], 0)
        finally:
            v.cleanup()

    def test_validation_errors_name_the_field(self):
        key = self.v.user("valid@example.com", 0)
        for body, cap, field in [({"model": "nope", "prompt": "x"}, "image", "model"),
                                 ({"model": "local-image"}, "image", "prompt"),
                                 ({"model": "kling-v3", "prompt": "x", "duration": 16}, "video", "duration"),
                                 ({"model": "local-image", "prompt": 5}, "image", "prompt"),
                                 ({"model": "local-video", "prompt": "x"}, "image", "model"),
                                 ({"model": "local-speech"}, "speech", "text")]:
            s, _, e = self.gen(key, body, cap)
            self.assertEqual((s, e.get("field")), (400, field), (body, e))
            self.assertEqual(e["error"]["code"], "validation_error")

    # ---- money ----
    def test_402_calls_no_provider_and_holds_nothing(self):
        key = self.v.user("short@example.com", 3)
        s, _, e = self.gen(key, {"model": "nano-banana-pro", "prompt": "sunset"})
        self.assertEqual(s, 402, e)
        self.assertEqual(e["message"], "Insufficient balance. Required: 5 credits, available: 3 credits")
        self.assertEqual(self.fake_calls(), [])
        self.assertEqual(balance(self.u, key), {"balance_cents": 3, "currency": "usd", "reserved_cents": 0})

    def test_concurrent_spending_never_overdraws(self):
        key = self.v.user("race@example.com", 50)  # exactly 10 requests at 5 credits
        def one(i):
            return self.gen(key, {"model": "nano-banana-pro", "prompt": "race %d %f" % (i, time.time())},
                            headers={"Cache-Control": "no-store"})
        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(one, range(48)))
        ok = [j for s, _, j in results if s == 202]
        self.assertEqual(len(ok), 10, [s for s, _, _ in results])
        self.assertTrue(all(s in (202, 402) for s, _, _ in results))
        for j in ok:
            self.assertEqual(wait_job(self.u, key, j["job_id"])["status"], "completed")
        self.assertEqual(balance(self.u, key), {"balance_cents": 0, "currency": "usd", "reserved_cents": 0})

    def test_provider_failure_releases_the_reservation(self):
        key = self.v.user("fail@example.com", 100)
        self.control(mode="error500")
        s, _, j = self.gen(key, {"model": "flux-pro", "prompt": "fails"})
        self.assertEqual(s, 202, j)
        done = wait_job(self.u, key, j["job_id"])
        self.assertEqual(done["status"], "failed")
        self.assertIn("fal", done["error"])
        self.assertNotIn("pooled_fal_key", done["error"])
        self.assertEqual(balance(self.u, key), {"balance_cents": 100, "currency": "usd", "reserved_cents": 0})

    def test_retry_after_500_then_success(self):
        key = self.v.user("retry@example.com", 100)
        self.control(mode="fail_then_ok", fail_times=2)
        s, _, j = self.gen(key, {"model": "flux-pro", "prompt": "retry %f" % time.time()})
        self.assertEqual(wait_job(self.u, key, j["job_id"])["status"], "completed")
        self.assertEqual(balance(self.u, key)["balance_cents"], 90)

    def test_a_failed_job_retried_runs_again_as_a_new_charged_job(self):
        key, other = self.v.user("rerun@example.com", 100), self.v.user("rerun2@example.com", 100)
        self.control(mode="error500")
        s, _, j = self.gen(key, {"model": "flux-pro", "prompt": "rerun %f" % time.time()})
        failed = wait_job(self.u, key, j["job_id"])
        self.assertEqual(failed["status"], "failed")
        self.assertEqual(balance(self.u, key)["balance_cents"], 100)
        self.assertEqual(call("POST", "%s/v1/jobs/%s/retry" % (self.u, j["job_id"]), other)[0], 404, "another account's job")
        call("POST", self.fake_url + "/_reset")
        s, _, again = call("POST", "%s/v1/jobs/%s/retry" % (self.u, j["job_id"]), key, headers={"Idempotency-Key": "rerun-1"})
        self.assertEqual(s, 202, again)
        self.assertNotEqual(again["job_id"], j["job_id"])
        self.assertEqual(again["model"], failed["model"])
        done = wait_job(self.u, key, again["job_id"])
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["billing"], {"mode": "metered", "cost_cents": 10})
        self.assertEqual(balance(self.u, key)["balance_cents"], 90, "charged anew")
        self.assertEqual(call("GET", "%s/v1/jobs/%s" % (self.u, j["job_id"]), key)[2]["status"], "failed", "the old job stays as it was")
        s, _, replay = call("POST", "%s/v1/jobs/%s/retry" % (self.u, j["job_id"]), key, headers={"Idempotency-Key": "rerun-1"})
        self.assertEqual((s, replay["job_id"]), (200, again["job_id"]), "an idempotent retry runs once")
        s, _, e = call("POST", "%s/v1/jobs/%s/retry" % (self.u, again["job_id"]), key)
        self.assertEqual(s, 409, e)
        self.assertIn("completed", e["message"])
        s, _, e = call("POST", self.u + "/v1/jobs/job_nonexistent/retry", key)
        self.assertEqual(s, 404, e)

    def test_voices_search_and_filters_and_the_complete_price_table(self):
        key = self.v.user("voices@example.com", 0)
        s, _, all_voices = call("GET", self.u + "/v1/voices", key)
        self.assertEqual(s, 200)
        self.assertEqual(all_voices["total"], len(all_voices["voices"]))
        rachel = [v for v in all_voices["voices"] if v["name"] == "rachel"][0]
        self.assertEqual((rachel["voice_id"], rachel["gender"], rachel["accent"]), ("21m00Tcm4TlvDq8ikWAM", "female", "american"))
        s, _, british = call("GET", self.u + "/v1/voices?accent=British&gender=male", key)
        self.assertEqual([v["name"] for v in british["voices"]], ["george"])
        s, _, found = call("GET", self.u + "/v1/voices?search=RASPY", key)
        self.assertEqual([v["name"] for v in found["voices"]], ["sam"])
        self.assertEqual(call("GET", self.u + "/v1/voices?search=nobody-like-this", key)[2], {"voices": [], "total": 0})
        self.assertEqual(call("GET", self.u + "/v1/voices?search=" + "x" * 101, key)[0], 400)
        s, _, prices = call("GET", self.u + "/v1/pricing", key)
        by_model = {p["model"]: p for p in prices["pricing"]}
        models = call("GET", self.u + "/v1/models", key)[2]["models"]
        self.assertEqual(set(by_model), {m["id"] for m in models}, "every model is priced")
        for op in ("command", "trim", "resize", "slice", "probe"):
            self.assertEqual((by_model[op]["capability"], by_model[op]["credits"]), ("ffmpeg", 5))
        self.assertEqual((by_model["kling-v3"]["credits"], by_model["kling-v3"]["per_seconds"]), (150, 5))

    def test_cache_ttl_and_upload_limit_settings_are_the_ones_served(self):
        v = Vargd(["--cache-ttl", "60", "--upload-body-limit", "2048"])
        try:
            key = v.user("settings@example.com", 0)
            s, h, j = call("POST", v.url + "/v1/image", key, {"model": "local-image", "prompt": "ttl"})
            self.assertEqual((s, h.get("X-Cache-TTL")), (202, "60"))
            s, _, e = call("POST", v.url + "/v1/files", key, raw=b"\x89PNG\r\n\x1a\n" + b"0" * 3000, headers={"Content-Type": "image/png"})
            self.assertEqual(s, 413, e)
            s, _, f = call("POST", v.url + "/v1/files", key, raw=b"\x89PNG\r\n\x1a\n" + b"0" * 1000, headers={"Content-Type": "image/png"})
            self.assertEqual(s, 200, f)
        finally:
            v.cleanup()

    def test_garbage_from_upstream_fails_cleanly(self):
        key = self.v.user("garbage@example.com", 100)
        self.control(mode="garbage")
        s, _, j = self.gen(key, {"model": "flux-pro", "prompt": "garbage"})
        done = wait_job(self.u, key, j["job_id"])
        self.assertEqual(done["status"], "failed")
        self.assertEqual(balance(self.u, key)["reserved_cents"], 0)
        self.assertEqual(call("GET", self.u + "/healthz")[0], 200)

    def test_cancel_releases_and_answers_204(self):
        key = self.v.user("cancel@example.com", 100)
        self.control(mode="slow_job", delay=10)
        s, _, j = self.gen(key, {"model": "flux-pro", "prompt": "cancel me"})
        time.sleep(0.3)
        s, _, _ = call("DELETE", "%s/v1/jobs/%s" % (self.u, j["job_id"]), key)
        self.assertEqual(s, 204)
        self.assertEqual(wait_job(self.u, key, j["job_id"])["status"], "cancelled")
        self.assertEqual(balance(self.u, key), {"balance_cents": 100, "currency": "usd", "reserved_cents": 0})
        time.sleep(0.3)
        self.assertTrue(any(c["method"] == "PUT" and c["path"].endswith("/cancel") for c in self.fake_calls()))

    def test_single_flight_identical_requests_generate_once(self):
        key = self.v.user("flight@example.com", 1000)
        self.control(mode="slow_job", delay=1)
        body = {"model": "flux-pro", "prompt": "single flight %f" % time.time()}
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: self.gen(key, body), range(8)))
        ids = [j["job_id"] for s, _, j in results]
        finals = [wait_job(self.u, key, i) for i in ids]
        self.assertTrue(all(f["status"] == "completed" for f in finals), finals)
        self.assertEqual(len(self.fake_calls("POST")), 1)
        self.assertEqual(len({f["output"]["url"] for f in finals}), 1)
        self.assertEqual(balance(self.u, key)["balance_cents"], 990)

    def test_byok_order_header_then_saved_then_pooled(self):
        key = self.v.user("byok@example.com", 100)
        def run(prompt, headers=None):
            call("POST", self.fake_url + "/_reset")
            s, _, j = self.gen(key, {"model": "flux-pro", "prompt": prompt}, headers=headers)
            self.assertEqual(s, 202, j)
            return wait_job(self.u, key, j["job_id"]), self.fake_calls("POST")[0]["key"]
        job, used = run("pooled %f" % time.time())
        self.assertEqual((used, job["billing"]), ("pooled_fal_key", {"mode": "metered", "cost_cents": 10}))
        call("PUT", self.u + "/api/provider-keys/fal", key, {"key": "saved_fal_key_1234"})
        job, used = run("saved %f" % time.time())
        self.assertEqual((used, job["billing"]["mode"], job["billing"]["cost_cents"]), ("saved_fal_key_1234", "byok", 0))
        job, used = run("header %f" % time.time(), {"X-Provider-Key-Fal": "header_fal_key"})
        self.assertEqual((used, job["billing"]["mode"]), ("header_fal_key", "byok"))
        self.assertEqual(balance(self.u, key)["balance_cents"], 90)
        with open(self.v.dir + "/data/varg.db", "rb") as f:
            self.assertNotIn(b"saved_fal_key_1234", f.read())
        self.assertNotIn("header_fal_key", self.v.log_text())
        self.assertNotIn("saved_fal_key_1234", self.v.log_text())
        # a BYOK result serves a pooled request as a free cache hit
        call("DELETE", self.u + "/api/provider-keys/fal", key)
        prompt = "shared %f" % time.time()
        run(prompt, {"X-Provider-Key-Fal": "header_fal_key"})
        s, h, hit = self.gen(key, {"model": "flux-pro", "prompt": prompt})
        self.assertEqual((h["X-Cache"], hit["billing"]["cost_cents"]), ("HIT", 0))

    def test_rejected_byok_key_fails_naming_the_provider(self):
        key = self.v.user("badkey@example.com", 0)
        s, _, j = self.gen(key, {"model": "flux-pro", "prompt": "bad key"}, headers={"X-Provider-Key-Fal": "bad_key_zz"})
        done = wait_job(self.u, key, j["job_id"])
        self.assertEqual(done["status"], "failed")
        self.assertIn("fal", done["error"])
        self.assertNotIn("bad_key_zz", done["error"])

    def test_idempotency_replay_mismatch_and_concurrent_retries(self):
        key = self.v.user("idem@example.com", 100)
        body = {"model": "flux-pro", "prompt": "idem %f" % time.time()}
        h = {"Idempotency-Key": "k-%f" % time.time(), "Cache-Control": "no-store"}
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: self.gen(key, body, headers=h), range(6)))
        ids = {j["job_id"] for s, _, j in results}
        self.assertEqual(len(ids), 1, results)
        self.assertEqual(sorted(s for s, _, _ in results), [200] * 5 + [202])
        s, _, e = self.gen(key, dict(body, prompt="different"), headers=h)
        self.assertEqual(s, 409, e)
        wait_job(self.u, key, ids.pop())
        self.assertEqual(balance(self.u, key)["balance_cents"], 90)

    def test_kill9_mid_job_then_restart_settles_exactly_once(self):
        v = Vargd(["--allow-private-urls", "1", "--allow-private-provider-urls", "1", "--provider-poll-ms", "50", "--fal-url", self.fake_url,
                   "--fal-key", "pooled_fal_key"])
        try:
            key = v.user("crash@example.com", 100)
            self.control(mode="slow_job", delay=2)
            s, _, j = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "crash %f" % time.time()})
            self.assertEqual(s, 202, j)
            time.sleep(0.5)
            self.assertEqual(balance(v.url, key)["reserved_cents"], 10)
            v.kill9()
            v.start()
            done = wait_job(v.url, key, j["job_id"])
            self.assertEqual(done["status"], "completed", done)
            self.assertEqual(balance(v.url, key), {"balance_cents": 90, "currency": "usd", "reserved_cents": 0})
            self.assertEqual(len(self.fake_calls("POST")), 1, "the restart resumed the upstream request, not a new one")
        finally:
            v.cleanup()

    # ---- jobs, files ----
    def test_other_accounts_job_is_404(self):
        a, b = self.v.user("owner@example.com", 0), self.v.user("other@example.com", 0)
        s, _, j = self.gen(a, {"model": "local-image", "prompt": "mine %f" % time.time()})
        self.assertEqual(call("GET", "%s/v1/jobs/%s" % (self.u, j["job_id"]), b)[0], 404)
        self.assertEqual(call("DELETE", "%s/v1/jobs/%s" % (self.u, j["job_id"]), b)[0], 404)

    def test_sse_reports_the_jobs_life_in_order(self):
        key = self.v.user("sse@example.com", 100)
        self.control(mode="slow_job", delay=0.5)
        s, _, j = self.gen(key, {"model": "flux-pro", "prompt": "sse %f" % time.time()})
        import urllib.request
        req = urllib.request.Request("%s/v1/jobs/%s/stream" % (self.u, j["job_id"]),
                                     headers={"Authorization": "Bearer " + key})
        with urllib.request.urlopen(req, timeout=20) as r:
            text = r.read().decode()
        statuses = [json.loads(l[5:])["status"] for l in text.splitlines() if l.startswith("data:")]
        order = {"queued": 0, "processing": 1, "completed": 2}
        self.assertEqual(statuses[-1], "completed", text)
        self.assertEqual(statuses, sorted(statuses, key=order.get), text)

    def test_uploads_dedup_range_etag_and_input_hash_caching(self):
        key = self.v.user("files@example.com", 0)
        fake_png = call("GET", self.fake_url + "/media/x.png")[2]
        png = fake_png + ("unique %f" % time.time()).encode()  # bytes after IEND: still a PNG, never seen before
        s, _, f1 = call("POST", self.u + "/v1/files", key, raw=png, headers={"Content-Type": "image/png"})
        s, _, f2 = call("POST", self.u + "/v1/files", key, raw=png, headers={"Content-Type": "image/png"})
        self.assertEqual((f1["deduplicated"], f2["deduplicated"], f1["url"]), (False, True, f2["url"]))
        self.assertEqual(f1["hash"], "sha256:" + hashlib.sha256(png).hexdigest())
        s, h, part = call("GET", f1["url"], headers={"Range": "bytes=0-7"})
        self.assertEqual((s, part), (206, png[:8]))
        s, h, _ = call("GET", f1["url"])
        self.assertEqual(call("GET", f1["url"], headers={"If-None-Match": h["ETag"]})[0], 304)
        self.assertIn("immutable", h["Cache-Control"])
        s, _, e = call("POST", self.u + "/v1/files", key, raw=png, headers={"Content-Type": "image/png", "X-Content-Hash": "sha256:00"})
        self.assertEqual(s, 400)
        prompt = "edit %f" % time.time()
        s, _, f3 = call("POST", self.u + "/v1/files", key, raw=fake_png, headers={"Content-Type": "image/png"})
        s, h1, a = self.gen(key, {"model": "local-image", "prompt": prompt, "files": [{"url": f3["url"]}]})
        wait_job(self.u, key, a["job_id"])
        # A URL input is fetched by the job after admission; its content then finds the cached result.
        s, h2, b = self.gen(key, {"model": "local-image", "prompt": prompt, "files": [{"url": self.fake_url + "/media/y.png"}]})
        self.assertEqual(s, 202, b)
        done = wait_job(self.u, key, b["job_id"])
        self.assertEqual((done["status"], done["cache"]["hit"]), ("completed", True), "same bytes under another URL are the same input")

    def test_files_are_sent_whole_in_ranges_and_by_head_on_one_connection(self):
        """Result and upload files go out with sendfile(2): every byte, every range form, HEAD, and
        the kept-alive connection still usable after each."""
        import http.client, os, urllib.parse
        key = self.v.user("sendfile@example.com", 0)
        fake_png = call("GET", self.fake_url + "/media/x.png")[2]
        data = fake_png + os.urandom(3 << 20)  # a PNG with 3 MiB after IEND
        s, _, f = call("POST", self.u + "/v1/files", key, raw=data, headers={"Content-Type": "image/png"})
        self.assertIn(s, (200, 201), f)
        url = urllib.parse.urlparse(f["url"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
        n = len(data)
        for rng, status, want in [(None, 200, data), ("bytes=0-7", 206, data[:8]), ("bytes=1000-", 206, data[1000:]),
                                  ("bytes=-100", 206, data[-100:]), ("bytes=%d-%d" % (n - 5, n + 50), 206, data[n - 5:]),
                                  ("bytes=%d-" % n, 416, b""), (None, 200, data)]:
            conn.request("GET", url.path, headers={"Range": rng} if rng else {})
            r = conn.getresponse()
            body = r.read()
            self.assertEqual((r.status, len(body)), (status, len(want)), rng)
            self.assertEqual(body, want, rng)
            if status == 206:
                self.assertEqual(int(r.getheader("Content-Length")), len(want))
            if status == 416:
                self.assertEqual(r.getheader("Content-Range"), "bytes */%d" % n)
        conn.request("HEAD", url.path)
        r = conn.getresponse()
        self.assertEqual((r.status, r.getheader("Content-Length"), r.read()), (200, str(n), b""))
        conn.request("GET", url.path, headers={"Range": "bytes=5-9"})
        r = conn.getresponse()
        self.assertEqual((r.status, r.read()), (206, data[5:10]), "the connection is still in step after HEAD")
        conn.close()

    def test_prefer_wait_answers_the_finished_job(self):
        key = self.v.user("wait@example.com", 0)
        s, _, j = self.gen(key, {"model": "local-image", "prompt": "wait %f" % time.time()}, headers={"Prefer": "wait=20"})
        self.assertEqual((s, j["status"]), (200, "completed"), j)

    def test_rate_limit_per_account_answers_429_with_retry_after(self):
        v = Vargd(["--rate-limit-rpm", "5"])
        try:
            key = v.user("rpm@example.com", 0)
            s, _, minted = call("POST", v.url + "/api/keys", key, {"name": "second"})  # counts as one of the 5
            self.assertEqual(s, 201, minted)
            body = {"model": "local-image", "prompt": "rate %f" % time.time()}
            codes = [call("POST", v.url + "/v1/image", key, body) for _ in range(6)]
            self.assertEqual([s for s, _, _ in codes], [202] * 4 + [429] * 2)
            self.assertEqual(call("POST", v.url + "/v1/image", minted["key"], body)[0], 429,
                             "another key of the same account shares its budget")
            s, h, e = codes[-1]
            self.assertEqual(e["error"]["code"], "rate_limited")
            self.assertGreaterEqual(int(h["Retry-After"]), 1)
            self.assertEqual(call("GET", v.url + "/v1/balance", key)[0], 200, "reads are not limited")
            other = v.user("rpm2@example.com", 0)
            self.assertEqual(call("POST", v.url + "/v1/image", other, body)[0], 202, "limits are per account")
        finally:
            v.cleanup()

    def test_concurrent_jobs_cap_per_account(self):
        v = Vargd(["--max-active-jobs", "2", "--allow-private-urls", "1", "--allow-private-provider-urls", "1", "--provider-poll-ms", "50",
                   "--fal-url", self.fake_url, "--fal-key", "pooled_fal_key"])
        try:
            key = v.user("cap@example.com", 100)
            self.control(mode="slow_job", delay=3)
            codes = [call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "cap %d %f" % (i, time.time())})
                     for i in range(3)]
            self.assertEqual([c[0] for c in codes], [202, 202, 429], codes[-1])
            self.assertIn("Retry-After", codes[-1][1])
            self.assertEqual(balance(v.url, key)["reserved_cents"], 20, "the refused request holds nothing")
        finally:
            v.cleanup()

    def test_login_code_ip_limit_uses_forwarded_for_only_when_trusted(self):
        for trusted in (True, False):
            v = Vargd(["--otp-per-ip-hour", "2"] + (["--trust-forwarded-for", "1"] if trusted else []))
            try:
                def send(n, ip):
                    return call("POST", v.url + "/api/auth/cli/send-otp", body={"email": "ip%d@example.com" % n},
                                headers={"X-Forwarded-For": "203.0.113.9, " + ip})[0]
                codes = [send(1, "198.51.100.1"), send(2, "198.51.100.1"), send(3, "198.51.100.1"), send(4, "198.51.100.2")]
                self.assertEqual(codes, [200, 200, 429, 200] if trusted else [200, 200, 429, 429], trusted)
            finally:
                v.cleanup()

    # ---- top-up ----
    def test_a_cancel_while_the_result_downloads_caches_nothing(self):
        a, b = self.v.user("canceller@example.com", 100), self.v.user("after-cancel@example.com", 100)
        req = {"model": "flux-pro", "prompt": "cancelled mid-download %f" % time.time()}
        call("POST", self.fake_url + "/_control", body={"mode": "slow_media", "delay": 2})
        try:
            s, _, j = self.gen(a, req)
            self.assertEqual(s, 202, j)
            time.sleep(1.0)  # fal answers at once; its result file then takes 2 s to download
            s, _, _ = call("DELETE", "%s/v1/jobs/%s" % (self.u, j["job_id"]), a)
            self.assertEqual(s, 204)
            time.sleep(1.5)  # the download ends after the cancel
        finally:
            call("POST", self.fake_url + "/_control", body={"mode": "ok"})
        self.assertEqual(wait_job(self.u, a, j["job_id"])["status"], "cancelled")
        self.assertEqual(balance(self.u, a)["balance_cents"], 100, "a cancelled generation costs nothing")
        s, h, j2 = self.gen(b, req)
        self.assertEqual(s, 202, j2)
        self.assertNotEqual(h.get("X-Cache"), "HIT", "what nobody paid for is not in the cache")
        self.assertEqual(wait_job(self.u, b, j2["job_id"])["status"], "completed")
        self.assertEqual(balance(self.u, b)["balance_cents"], 90)

    def test_checkout_and_webhook_credit_exactly_once(self):
        key = self.v.user("buyer@example.com", 0)
        s, _, c = call("POST", self.u + "/api/billing/checkout", key, {"packageId": "credits-2000"})
        self.assertEqual(s, 200, c)
        self.assertTrue(c["url"].startswith("https://checkout.stripe.test/"))
        me = call("GET", self.u + "/v1/me", key)[2]
        event = json.dumps({"id": "evt_%f" % time.time(), "type": "checkout.session.completed",
                            "data": {"object": {"id": c["id"], "payment_status": "paid",
                                                "metadata": {"user_id": me["id"], "package_id": "credits-2000"}}}})
        t = str(int(time.time()))
        sig = hmac.new(b"whsec_test", (t + "." + event).encode(), hashlib.sha256).hexdigest()
        for _ in range(3):
            s, _, r = call("POST", self.u + "/api/billing/webhook", raw=event.encode(),
                           headers={"Stripe-Signature": "t=%s,v1=%s" % (t, sig), "Content-Type": "application/json"})
            self.assertEqual(s, 200, r)
        self.assertEqual(balance(self.u, key)["balance_cents"], 2000)
        s, _, _ = call("POST", self.u + "/api/billing/webhook", raw=event.encode(),
                       headers={"Stripe-Signature": "t=%s,v1=%s" % (t, "0" * 64)})
        self.assertEqual(s, 400)
        stale = str(int(time.time()) - 3600)
        sig = hmac.new(b"whsec_test", (stale + "." + event).encode(), hashlib.sha256).hexdigest()
        s, _, _ = call("POST", self.u + "/api/billing/webhook", raw=event.encode(),
                       headers={"Stripe-Signature": "t=%s,v1=%s" % (stale, sig)})
        self.assertEqual(s, 400)

    def test_usage_lists_jobs_and_totals(self):
        key = self.v.user("usage@example.com", 100)
        s, _, j = self.gen(key, {"model": "flux-pro", "prompt": "usage %f" % time.time()})
        wait_job(self.u, key, j["job_id"])
        s, _, u = call("GET", self.u + "/v1/usage?group_by=model", key)
        self.assertEqual(u["total_cents"], 10, u)
        self.assertEqual(u["usage"][0]["billing"], "metered")
        self.assertEqual(u["groups"][0]["key"], "fal:flux-pro")

    def test_scoped_key_model_constraint(self):
        key = self.v.user("scope@example.com", 100)
        perms = {"api": {"generate": {"api.generate.image": {"constraints": {"model": {"in": ["local-image"]}}}}}}
        s, _, k = call("POST", self.u + "/api/keys", key, {"name": "only-local", "permissions": perms})
        self.assertEqual(s, 201, k)
        s, _, _ = self.gen(k["key"], {"model": "local-image", "prompt": "allowed %f" % time.time()})
        self.assertEqual(s, 202)
        s, _, e = self.gen(k["key"], {"model": "flux-pro", "prompt": "denied"})
        self.assertEqual(s, 403, e)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
