#!/usr/bin/env python3
"""End-to-end tests of the remote provider adapters (fal, ElevenLabs, Replicate, Higgsfield): the real
vargd, its provider base URLs pointed at tests/fakes/fake_upstream.py, driven over loopback HTTP.

For every catalog model of these providers: success (the output downloads and is real media), a
slow upstream, 500 then success (retry), persistent 500, 429, garbage, a dropped connection, a hang
past the deadline, cancel (upstream cancel where the protocol has one) and a rejected BYOK key;
failures release the reservation, and no key ever reaches vargd's log.

Usage: test_adapters.py [path/to/vargd]   (or VARGD=path)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fakes", "fake_upstream.py")
VARGD = os.environ.get("VARGD", "")
PROVIDERS = ("fal", "elevenlabs", "replicate", "higgsfield", "groq")
POOLED = {"fal": "pooled_fal_7Qx", "elevenlabs": "pooled_el_8Ry", "replicate": "r8_pooled_9Sz",
          "higgsfield": "pooled_hf_id:pooled_hf_secret_0Ta", "groq": "gsk_pooled_3Vw"}
BYOK_HEADER = {"fal": "X-Provider-Key-Fal", "elevenlabs": "X-Provider-Key-ElevenLabs",
               "replicate": "X-Provider-Key-Replicate", "higgsfield": "X-Provider-Key-Higgsfield",
               "groq": "X-Provider-Key-Groq"}
EXT = {"image": "png", "video": "mp4", "audio": "wav"}
BAD = {p: "bad_%s_key_1Ub" % p for p in PROVIDERS}
TIMEOUT_MS = 2000
JOB_DEADLINE = 40  # seconds a job may take in the worst scenario (hang: 4 attempts of 2 s plus backoff)


def http(method, url, body=None, headers=None, timeout=30):
    """(status, headers, body bytes) without raising on HTTP errors."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Fixture:
    """The fake upstream and one vargd in a temp dir, shared by all tests."""

    def __init__(self, vargd):
        self.tmp = tempfile.mkdtemp(prefix="varg-e2e-adapters-")
        self.fake = subprocess.Popen([sys.executable, FAKE, "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.fake.stdout.readline()
        m = re.match(r"PORT (\d+)", line)
        if not m:
            raise RuntimeError("fake upstream did not start: %r" % line)
        self.up = "http://127.0.0.1:%s" % m.group(1)
        data = os.path.join(self.tmp, "data")
        out = subprocess.run([vargd, "admin", "create-user", "--email", "e2e@example.com", "--credits", "1000000",
                              "--data-dir", data], cwd=self.tmp, capture_output=True, text=True, timeout=60)
        m = re.search(r"varg_[0-9A-Za-z]{38}", out.stdout)
        if not m:
            raise RuntimeError("create-user failed: %s %s" % (out.stdout, out.stderr))
        self.key = m.group(0)
        self.stderr_path = os.path.join(self.tmp, "vargd.stderr")
        self.stderr = open(self.stderr_path, "wb")
        args = [vargd, "--listen", "127.0.0.1:0", "--allow-private-urls", "1", "--allow-private-provider-urls", "1", "--provider-poll-ms", "50",
                "--provider-timeout-ms", str(TIMEOUT_MS), "--job-workers", "128", "--rate-limit-rpm", "0", "--max-active-jobs", "0", "--data-dir", data,
                # Every outage here is injected on purpose, one request at a time: no breaker (e2e_faults tests it).
                "--breaker-failures", "0",
                "--fal-url", self.up, "--elevenlabs-url", self.up, "--replicate-url", self.up, "--higgsfield-url", self.up,
                "--groq-url", self.up, "--fal-key", POOLED["fal"], "--elevenlabs-key", POOLED["elevenlabs"],
                "--replicate-key", POOLED["replicate"], "--higgsfield-key", POOLED["higgsfield"], "--groq-key", POOLED["groq"]]
        env = {k: v for k, v in os.environ.items() if k not in ("FAL_KEY", "ELEVENLABS_API_KEY", "HIGGSFIELD_API_KEY", "REPLICATE_API_TOKEN")}
        self.vargd = subprocess.Popen(args, cwd=self.tmp, stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        line = self.vargd.stdout.readline().decode()
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not m:
            self.close()
            raise RuntimeError("vargd did not start: %r %s" % (line, open(self.stderr_path).read()))
        self.base = m.group(1)
        self.stdout_lines = []
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self):
        for line in self.vargd.stdout:
            self.stdout_lines.append(line.decode(errors="replace"))

    def close(self):
        for p in (self.vargd, self.fake):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.stderr.close()
        self.fake.stdout.close()
        self.drain.join(5)
        self.vargd.stdout.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- the fake ----
    def control(self, mode, delay=0, fail_times=0, hold=True):
        http("POST", self.up + "/_control", {"mode": mode, "delay": delay, "fail_times": fail_times, "hold": hold})

    def calls(self):
        return json.loads(http("GET", self.up + "/_calls")[2])["calls"]

    # ---- vargd ----
    def api(self, method, path, body=None, headers=None):
        h = {"Authorization": "Bearer " + self.key}
        h.update(headers or {})
        status, hdrs, raw = http(method, self.base + path, body, h)
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = raw
        return status, doc

    def balance(self):
        s, b = self.api("GET", "/v1/balance")
        assert s == 200, b
        return b["balance_cents"], b["reserved_cents"]


FX = None


def file_urls(doc):
    """How many of vargd's own file URLs (the inputs it fetched and serves) a provider request carries."""
    if isinstance(doc, dict):
        return sum(file_urls(v) for v in doc.values())
    if isinstance(doc, list):
        return sum(file_urls(v) for v in doc)
    return 1 if isinstance(doc, str) and "/files/" in doc else 0


def provider_of(model):
    return model["provider"]


class AdapterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        global FX
        FX = Fixture(VARGD)
        s, doc = FX.api("GET", "/v1/models")
        assert s == 200, doc
        cls.models = [m for m in doc["models"] if m["provider"] in PROVIDERS]

    @classmethod
    def tearDownClass(cls):
        FX.control("ok")
        FX.close()

    def setUp(self):
        FX.control("ok")

    # ---- helpers ----
    def body_for(self, m, tag, extra_files=()):
        """The smallest valid request for model m: its required files (of the kinds its rules name), plus extra_files."""
        cap, par, words = m["capability"], m["parameters"], "%s %s %s" % (tag, m["id"], uuid.uuid4().hex[:8])
        b = {"model": "%s:%s" % (m["provider"], m["id"])}
        if cap in ("image", "video", "music"):
            b["prompt"] = "" if par.get("prompt", {}).get("required") is False else "a quiet lake, " + words
        if "duration" in par:
            b["duration"] = (par["duration"].get("values") or [par["duration"]["default"]])[0]
        files = []
        for kind, rule in sorted(par.get("files", {}).items()):
            files += [kind] * rule["min"]
        files += list(extra_files)
        if files:
            b["files"] = [{"url": "%s/media/%s-%d.%s" % (FX.up, k, i, EXT[k])} for i, k in enumerate(files)]
        if m["id"] == "sora-2-remix":
            b["provider_options"] = {"video_id": "video_" + uuid.uuid4().hex[:12]}
        if cap == "speech":
            b["text"] = "Hello from the gateway, " + words
            b["voice"] = "rachel"
        if cap == "transcription":
            b["audio_url"] = FX.up + "/media/speech.wav"
            b["language"] = "en"
        return b

    def submit(self, m, tag, headers=None, extra_files=()):
        h = {"Cache-Control": "no-store"}
        h.update(headers or {})
        body = self.body_for(m, tag, extra_files)
        s, job = FX.api("POST", "/v1/" + m["capability"], body, h)
        self.assertEqual(s, 202, "POST /v1/%s %s -> %s %s" % (m["capability"], body, s, job))
        self.assertTrue(job["job_id"].startswith("job_"), job)
        return job

    def wait_all(self, jobs, until=("completed", "failed", "cancelled"), deadline=JOB_DEADLINE):
        """Polls every job every 50 ms until each reaches a state in `until`; returns id -> job."""
        pending, done = {j["job_id"] for j in jobs}, {}
        end = time.time() + deadline
        while pending and time.time() < end:
            for jid in list(pending):
                s, j = FX.api("GET", "/v1/jobs/" + jid)
                self.assertEqual(s, 200, j)
                if j["status"] in until:
                    done[jid] = j
                    pending.discard(jid)
            time.sleep(0.05)
        self.assertFalse(pending, "jobs still unfinished after %d s: %s" % (deadline, sorted(pending)))
        return done

    def run_all(self, tag, headers_for=None):
        """Submits one job per model at once; returns [(model, finished job)]."""
        jobs = [(m, self.submit(m, tag, headers_for(m) if headers_for else None)) for m in self.models]
        done = self.wait_all([j for _, j in jobs])
        return [(m, done[j["job_id"]]) for m, j in jobs]

    def check_media(self, m, job):
        self.assertEqual(job["status"], "completed", "%s: %s" % (m["id"], job))
        s, hdrs, data = http("GET", job["output"]["url"])  # no key: result URLs are public
        self.assertEqual(s, 200, job)
        mt = job["output"]["media_type"]
        cap = m["capability"]
        if cap == "image":
            self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"), (m["id"], data[:16]))
        elif cap == "video":
            self.assertEqual(data[4:8], b"ftyp", (m["id"], data[:16]))
        elif cap in ("speech", "music"):
            self.assertEqual(mt, "audio/mpeg", (m["id"], job))
            self.assertEqual(data[:2], b"\xff\xfb", (m["id"], data[:8]))
        else:
            doc = json.loads(data)
            self.assertEqual(mt, "application/json", job)
            self.assertIn("hello world", doc.get("text") or doc.get("transcription"), doc)

    def assert_failed_cleanly(self, results, before, *phrases):
        for m, job in results:
            self.assertEqual(job["status"], "failed", "%s: %s" % (m["id"], job))
            err = job.get("error", "")
            self.assertIn(m["provider"], err, job)
            for p in phrases:
                self.assertIn(p, err.lower(), "%s: %s" % (m["id"], job))
            for k in list(POOLED.values()) + list(BAD.values()):
                self.assertNotIn(k, json.dumps(job))
        self.assertEqual(FX.balance(), (before[0], 0), "a failed job must release its whole reservation")

    # ---- the scenarios ----
    def test_every_v1_model_id_is_served(self):
        """The ids of varg's v1 documentation (shared/reference/v1-catalog.md), each by the endpoint of its capability."""
        v1 = {"image": "nano-banana-pro flux-schnell flux-dev flux-pro recraft-v3 phota grok-imagine-image soul "
                       "nano-banana-pro/edit nano-banana-2/edit phota/edit phota/enhance grok-imagine-image/edit "
                       "seedream-v4.5/edit qwen-angles topaz seedvr recraft-clarity clarity-upscaler ccsr aura-sr",
              "video": "kling-v3 kling-v3-standard seedance-2-preview seedance-2-fast-preview sora-2 sora-2-pro wan-2.5 "
                       "wan-2.5-preview minimax ltx-2-19b-distilled grok-imagine grok-imagine-edit sora-2-remix "
                       "kling-v2.6-motion veed-fabric-1.0 sync-v2 sync-v2-pro omnihuman-v1.5 topaz-video seedvr-video "
                       "bytedance-upscaler sima-video-upscaler kling-v2.6 kling-v2.5 kling-v2.1 kling-v2",
              "speech": "eleven_v3 eleven_multilingual_v2 eleven_turbo_v2_5 eleven_turbo_v2 turbo eleven_flash_v2_5 eleven_flash_v2",
              "music": "music_v1",
              "transcription": "whisper whisper-large-v3 groq-whisper groq-whisper-large-v3 groq-whisper-large-v3-turbo"}
        s, doc = FX.api("GET", "/v1/models")
        have = {m["id"]: m["capability"] for m in doc["models"]}
        for cap, ids in v1.items():
            for i in ids.split():
                self.assertEqual(have.get(i), cap, "v1 model %s" % i)
        s, voices = FX.api("GET", "/v1/voices")
        names = {v["name"] for v in voices["voices"]}
        for alias in "rachel adam sam josh sarah bella domi antoni elli arnold alice george".split():
            self.assertIn(alias, names)

    def test_estimates_are_exact_for_metered_byok_cached_and_free(self):
        body = {"model": "kling-v3", "prompt": "estimate me " + uuid.uuid4().hex, "duration": 10}
        before = FX.balance()
        s, e = FX.api("POST", "/v1/estimate", {"capability": "video", "body": body})
        self.assertEqual((s, e), (200, {"credits": 300, "billing": {"mode": "metered", "cost_cents": 300}}))
        s, e = FX.api("POST", "/v1/estimate", {"capability": "video", "body": body}, {"X-Provider-Key-Fal": "byok_fal_5Zq"})
        self.assertEqual(e["billing"], {"mode": "byok", "cost_cents": 0}, e)
        s, job = FX.api("POST", "/v1/video", body)
        self.assertEqual(s, 202, job)
        done = list(self.wait_all([job]).values())[0]
        self.assertEqual(done["billing"], {"mode": "metered", "cost_cents": 300}, done)
        s, e = FX.api("POST", "/v1/estimate", {"capability": "video", "body": body})
        self.assertEqual(e, {"credits": 0, "billing": {"mode": "cached", "cost_cents": 0}}, "the same request is a cache hit now")
        s, again = FX.api("POST", "/v1/video", body)
        self.assertEqual(again["billing"]["cost_cents"], 0, again)
        self.assertEqual(FX.balance(), (before[0] - 300, 0), "an estimate charges nothing")
        s, e = FX.api("POST", "/v1/estimate", {"capability": "image", "body": {"model": "local-image", "prompt": "x"}})
        self.assertEqual(e["billing"]["mode"], "free", e)
        for bad, field in (({"capability": "poetry", "body": {}}, "capability"), ({"capability": "image"}, "body"),
                           ({"capability": "video", "body": {"model": "kling-v3", "prompt": "x", "duration": 99}}, "duration")):
            s, err = FX.api("POST", "/v1/estimate", bad)
            self.assertEqual(s, 400, err)
            self.assertEqual(err.get("field"), field, err)

    def test_catalog_covers_every_remote_provider(self):
        have = {m["provider"] for m in self.models}
        self.assertEqual(have, set(PROVIDERS))
        self.assertGreaterEqual(len(self.models), 16)

    def test_success_every_model_downloads_real_media_with_the_pooled_key(self):
        before = FX.balance()
        results = self.run_all("ok")
        for m, job in results:
            self.check_media(m, job)
            self.assertEqual(job["billing"]["mode"], "metered", job)
        cost = sum(j["billing"]["cost_cents"] for _, j in results)
        self.assertGreater(cost, 0)
        self.assertEqual(FX.balance(), (before[0] - cost, 0))
        used = {}
        for c in FX.calls():
            used.setdefault(c["key"], 0)
            used[c["key"]] += 1
        for p in PROVIDERS:
            self.assertIn(POOLED[p], used, "no call to %s carried its pooled key: %s" % (p, used.keys()))

    def test_every_optional_input_file_reaches_its_route(self):
        """Each model that takes more files than it needs gets them all: image-to-video and reference routes, end
        frames. The fake's schemas (tests/fakes/fal_models.py) require each route's own fields, so completion proves the
        mapping; the recorded request shows which endpoint and fields were used."""
        cases = []
        for m in self.models:
            extra = []
            for kind, rule in sorted(m["parameters"].get("files", {}).items()):
                extra += [kind] * (rule["max"] - rule["min"])
            if extra and m["capability"] in ("video", "image"):
                cases.append((m, extra[:3]))
        self.assertGreaterEqual(len(cases), 15)
        for m, extra in cases:
            before = len(FX.calls())
            job = self.wait_all([self.submit(m, "files", extra_files=extra)])
            self.check_media(m, list(job.values())[0])
            posts = [c for c in FX.calls()[before:] if c["method"] == "POST" and "/requests/" not in c["path"]]
            sent = json.loads(posts[0]["body"])
            need = sum(r["min"] for r in m["parameters"]["files"].values()) + len(extra)
            self.assertEqual(file_urls(sent), need, "%s: every input file is sent: %s %s" % (m["id"], posts[0]["path"], sent))

    def test_request_shapes_follow_the_catalog_rules(self):
        cases = [({"model": "kling-v3", "prompt": "x", "duration": 5.5}, "duration"),
                 ({"model": "kling-v3", "prompt": "x", "duration": 16}, "duration"),
                 ({"model": "seedance-2-preview", "prompt": "x", "duration": 7}, "duration"),
                 ({"model": "seedance-2-preview", "prompt": "x", "aspect_ratio": "4:5"}, "aspect_ratio"),
                 ({"model": "sync-v2", "prompt": "", "files": [{"url": FX.up + "/media/a.mp4"}]}, "files"),
                 ({"model": "veed-fabric-1.0", "files": [{"url": FX.up + "/media/a.png"}, {"url": FX.up + "/media/b.wav"}],
                   "resolution": "4k"}, "resolution"),
                 ({"model": "sora-2-remix", "prompt": "x"}, "provider_options"),
                 ({"model": "flux-dev", "prompt": "x", "files": [{"url": FX.up + "/media/a.png"}]}, "files")]
        for body, field in cases:
            cap = "image" if body["model"] == "flux-dev" else "video"
            s, err = FX.api("POST", "/v1/" + cap, body)
            self.assertEqual(s, 400, (body, err))
            self.assertIn(field, json.dumps(err), (body, err))
        for cap, body in (("video", {"model": "kling-v3", "prompt": "x", "duration": 7}),
                          ("video", {"model": "veed-fabric-1.0", "resolution": "480p",
                                     "files": [{"url": FX.up + "/media/a.png"}, {"url": FX.up + "/media/b.wav"}]})):
            s, job = FX.api("POST", "/v1/" + cap, body, {"Cache-Control": "no-store"})
            self.assertEqual(s, 202, job)
            done = list(self.wait_all([job]).values())[0]
            self.assertEqual(done["status"], "completed", done)
        sent = [json.loads(c["body"]) for c in FX.calls() if c["method"] == "POST" and c["path"] in
                ("/fal-ai/kling-video/o3/pro/text-to-video", "/veed/fabric-1.0")]
        self.assertIn({"prompt": "x", "duration": "7", "aspect_ratio": "16:9"}, sent)
        self.assertTrue(any(b.get("resolution") == "480p" for b in sent), sent)

    def test_slow_upstream_still_completes(self):
        FX.control("slow", delay=0.3)
        for m, job in self.run_all("slow"):
            self.check_media(m, job)

    def test_500_then_success_is_retried_for_each_model(self):
        for m in self.models:
            FX.control("fail_then_ok", fail_times=1)
            job = self.wait_all([self.submit(m, "retry")])
            self.check_media(m, list(job.values())[0])

    def test_persistent_500_fails_and_releases(self):
        before = FX.balance()
        FX.control("error500")
        self.assert_failed_cleanly(self.run_all("e500"), before, "http 500")

    def test_429_fails_after_backoff_and_releases(self):
        before = FX.balance()
        FX.control("rate_limit")
        self.assert_failed_cleanly(self.run_all("e429"), before, "http 429")

    def test_garbage_fails_cleanly(self):
        before = FX.balance()
        FX.control("garbage")
        self.assert_failed_cleanly(self.run_all("garbage"), before)
        self.assertEqual(FX.vargd.poll(), None, "vargd crashed on garbage")

    def test_dropped_connection_fails_cleanly(self):
        before = FX.balance()
        FX.control("drop")
        self.assert_failed_cleanly(self.run_all("drop"), before)

    def test_hang_past_the_deadline_fails_and_releases(self):
        before = FX.balance()
        FX.control("hang", delay=60)
        self.assert_failed_cleanly(self.run_all("hang"), before, "timed out")

    def test_cancel_releases_and_cancels_upstream(self):
        # Jobs of earlier tests still retrying would add their creates to this test's count.
        end = time.time() + 30
        while time.time() < end and any(FX.api("GET", "/v1/jobs?status=%s" % st)[1]["jobs"] for st in ("queued", "processing")):
            time.sleep(0.1)
        before = FX.balance()
        # Replicate's create answers at once: a create held by `Prefer: wait` that outlives the
        # per-call timeout on a loaded machine leaves a prediction whose id vargd never learned.
        FX.control("slow_job", delay=30, hold=False)
        seen = len(FX.calls())
        tag = "cancel-" + uuid.uuid4().hex[:8]
        jobs = [(m, self.submit(m, tag)) for m in self.models]
        self.wait_all([j for _, j in jobs], until=("processing",), deadline=10)
        queued = [m for m in self.models if m["provider"] in ("fal", "replicate", "higgsfield")]
        want = {p: sum(1 for m in queued if m["provider"] == p) for p in ("fal", "replicate", "higgsfield")}

        def provider_of(path):
            if path.startswith(("/v1/models/", "/v1/predictions")):
                return "replicate"
            if path.startswith("/higgsfield-ai/"):
                return "higgsfield"
            if not path.startswith(("/v1/", "/openai/")):
                return "fal"
            return None

        def all_created():
            """Every queued job's create has reached the fake: a prompt-bearing one by its own words
            (tag and model id), the others (a transcription's audio) by their provider's count."""
            creates = [c for c in FX.calls()[seen:] if c["method"] == "POST" and not c["path"].endswith("/cancel")
                       and "/requests/" not in c["path"] and not c["path"].startswith("/requests/")]
            unmarked = {p: 0 for p in want}
            for c in creates:
                p = provider_of(c["path"])
                if p in unmarked and tag not in c["body"]:
                    unmarked[p] += 1
            for m in queued:
                if m["capability"] in ("image", "video", "music") and m["parameters"].get("prompt", {}).get("required") is not False:
                    if not any("%s %s " % (tag, m["id"]) in c["body"] for c in creates):
                        return False
                else:
                    unmarked[m["provider"]] -= 1
            return all(n >= 0 for n in unmarked.values())

        # A cancel that comes before the create leaves nothing upstream to cancel.
        end = time.time() + 20
        while time.time() < end and not all_created():
            time.sleep(0.05)
        self.assertTrue(all_created(), "every job reached its provider")
        for _, j in jobs:
            s, _ = FX.api("DELETE", "/v1/jobs/" + j["job_id"])
            self.assertEqual(s, 204)
        for m, j in jobs:
            s, got = FX.api("GET", "/v1/jobs/" + j["job_id"])
            self.assertEqual(got["status"], "cancelled", got)
        self.assertEqual(FX.balance(), (before[0], 0))
        cancels = {"fal": 0, "replicate": 0, "higgsfield": 0}  # ElevenLabs and Groq answer at once: nothing to cancel
        end = time.time() + 20
        while time.time() < end and cancels != want:
            calls = FX.calls()
            cancels = {
                "fal": sum(1 for c in calls if c["method"] == "PUT" and c["path"].endswith("/cancel")),
                "replicate": sum(1 for c in calls if c["method"] == "POST" and c["path"].startswith("/v1/predictions/") and c["path"].endswith("/cancel")),
                "higgsfield": sum(1 for c in calls if c["method"] == "POST" and c["path"].startswith("/requests/") and c["path"].endswith("/cancel")),
            }
            time.sleep(0.1)
        self.assertEqual(cancels, want, "every queued upstream request is cancelled upstream too")

    def test_rejected_byok_key_fails_naming_the_provider(self):
        before = FX.balance()
        results = self.run_all("byok", lambda m: {BYOK_HEADER[m["provider"]]: BAD[m["provider"]]})
        self.assert_failed_cleanly(results, before, "rejected the api key")
        for _, job in results:
            self.assertEqual(job["billing"], {"mode": "byok", "cost_cents": 0}, job)
        seen = {c["key"] for c in FX.calls()}
        for p in PROVIDERS:
            self.assertIn(BAD[p], seen, "the BYOK key was not the one sent to %s" % p)

    def test_zz_no_key_in_vargd_log(self):
        FX.stderr.flush()
        with open(FX.stderr_path, "rb") as f:
            log = f.read().decode(errors="replace") + "".join(FX.stdout_lines)
        self.assertIn("job failed", log, "the log should record the failed jobs (without their keys)")
        for k in list(POOLED.values()) + list(BAD.values()) + [FX.key]:
            self.assertNotIn(k, log)
        self.assertNotIn("pooled_hf_secret", log)


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        VARGD = sys.argv.pop(1)
    if not VARGD or not os.path.exists(VARGD):
        sys.exit("usage: test_adapters.py path/to/vargd (or VARGD=...)")
    VARGD = os.path.abspath(VARGD)
    unittest.main(verbosity=2)
