#!/usr/bin/env python3
"""End-to-end: Cloud Render (SPEC 10) through the real vargd: our own compositions rendered with the
local models and probed with ffprobe, `await Speech`, preview and frames, BYOK providerKeys reaching
the fake fal with 0 credits, a 402 before any spend, cancel, and sandbox escapes failing cleanly.
Usage: test_render.py /path/to/vargd"""
import json, subprocess, sys, tempfile, time, unittest

from harness import Vargd, balance, call, start_fake

OFFLINE = """
import { Render, Clip, Image, Speech, Music, Title, Captions, Split } from "vargai/react";
import { varg } from "vargai/ai";
const sky = Image({ model: varg.imageModel("local-image"), prompt: "mountains at dawn" });
const lake = Image({ model: varg.imageModel("local-image"), prompt: "a lake at night", zoom: "out" });
const voice = Speech({ model: varg.speechModel("local-speech"), children: "Welcome to the mountains. Stay for the lake." });
export default (
  <Render width={360} height={640} fps={24}>
    <Music model={varg.musicModel("local-music")} prompt="calm piano" volume={0.4} />
    <Clip duration={2} transition={{ name: "fade", duration: 0.5 }}>{sky}<Title position="top">Dawn</Title>{voice}</Clip>
    <Clip duration={2} transition={{ name: "directionalwipe", duration: 0.5 }}><Split direction="vertical">{sky}{lake}</Split></Clip>
    <Clip duration={1.5}>{lake}</Clip>
    <Captions src={voice} style="karaoke" />
  </Render>
);
"""

AWAIT = """
const voice = await Speech({ model: varg.speechModel("local-speech"), children: ["First part here.", "And the second part."] });
export default (
  <Render width={320} height={240} fps={25}>
    <Clip duration={voice.duration}>{Image({ model: varg.imageModel("local-image"), prompt: "cabin" })}{voice}
      <Captions src={voice} style="tiktok" /></Clip>
    <Clip duration={voice.segments[1].duration}>{Image({ model: varg.imageModel("local-image"), prompt: "cabin 2" })}</Clip>
  </Render>
);
"""

SEED = 'export default (<Render width={1920} height={1080}><Clip duration={3}>{Image({ model: fal.imageModel("nano-banana-pro"), prompt: "mountains" })}</Clip></Render>);'

ESCAPES = {
    "infinite loop": "while (true) {}\nexport default <Render><Clip duration={1} /></Render>;",
    "memory bomb": "const a = []; while (true) a.push(new Array(1e6).fill(7));\nexport default <Render />;",
    "require": "const fs = require('fs'); fs.readFileSync('/etc/passwd');\nexport default <Render />;",
    "process.exit": "process.exit(1);\nexport default <Render />;",
    "fetch": "await fetch('http://127.0.0.1:1/');\nexport default <Render />;",
    "constructor chain": "const p = this.constructor.constructor('return process')();\nexport default <Render />;",
    "object constructor chain": "const p = ({}).constructor.constructor('return process')(); p.exit(1);\nexport default <Render />;",
    "dynamic import": "const fs = await import('fs');\nexport default <Render />;",
}


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height,r_frame_rate",
                          "-show_entries", "format=duration", "-of", "json", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class Render(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake, cls.fake_url = start_fake()
        cls.v = Vargd(["--allow-private-provider-urls", "1", "--provider-poll-ms", "50", "--provider-timeout-ms", "5000",
                       "--fal-url", cls.fake_url, "--fal-key", "pooled_fal_key"])
        cls.u = cls.v.url
        cls.tmp = tempfile.mkdtemp(prefix="varg-render-test-")

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()
        cls.fake.kill()
        cls.fake.wait()

    def fal_calls(self):
        return [c for c in call("GET", self.fake_url + "/_calls")[2]["calls"] if c["method"] == "POST"]

    def submit(self, key, code, **extra):
        body = {"code": code}
        body.update(extra)
        return call("POST", self.u + "/api/render", key, body)

    def wait(self, key, job_id, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            s, _, j = call("GET", "%s/api/render/jobs/%s" % (self.u, job_id), key)
            self.assertEqual(s, 200, j)
            if j["status"] != "rendering":
                return j
            time.sleep(0.1)
        raise AssertionError("render %s did not finish" % job_id)

    def render(self, key, code, **extra):
        s, h, j = self.submit(key, code, **extra)
        self.assertEqual(s, 202, j)
        self.assertEqual(j["status"], "rendering")
        self.assertIn("X-RateLimit-Remaining", h)
        return self.wait(key, j["job_id"])

    def download(self, url, name):
        s, _, data = call("GET", url)
        self.assertEqual(s, 200)
        path = "%s/%s" % (self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_offline_multi_clip_with_speech_captions_music_transitions(self):
        key = self.v.user("offline@example.com", 0)
        j = self.render(key, OFFLINE)
        self.assertEqual(j["status"], "completed", j)
        self.assertTrue(j["thumbnail_url"])
        self.assertEqual({f["metadata"]["type"] for f in j["files"]}, {"image", "speech", "music"})
        info = probe(self.download(j["output_url"], "offline.mp4"))
        video = [s for s in info["streams"] if s["codec_type"] == "video"][0]
        self.assertEqual((video["width"], video["height"], video["r_frame_rate"]), (360, 640, "24/1"))
        self.assertTrue(any(s["codec_type"] == "audio" for s in info["streams"]))
        self.assertAlmostEqual(float(info["format"]["duration"]), 2 + 2 + 1.5 - 0.5 - 0.5, delta=1 / 24 + 0.03)
        s, _, listed = call("GET", self.u + "/api/jobs?limit=5", key)
        self.assertEqual(listed["jobs"][0]["job_id"], j["job_id"])

    def test_await_speech_duration_and_segments_drive_clips(self):
        key = self.v.user("await@example.com", 0)
        j = self.render(key, AWAIT)
        self.assertEqual(j["status"], "completed", j)
        speech = [f for f in j["files"] if f["metadata"]["type"] == "speech"][0]
        sd = float(probe(self.download(speech["url"], "speech.wav"))["format"]["duration"])
        out = float(probe(self.download(j["output_url"], "await.mp4"))["format"]["duration"])
        words = [len(p.split()) for p in ("First part here.", "And the second part.")]
        expected = sd + sd * words[1] / sum(words)
        self.assertAlmostEqual(out, expected, delta=2 / 25 + 0.03)

    def test_preview_uses_placeholders_and_generates_nothing_at_fal(self):
        key = self.v.user("preview@example.com", 0)
        call("POST", self.fake_url + "/_reset")
        j = self.render(key, SEED, mode="preview")
        self.assertEqual(j["status"], "completed", j)
        self.assertEqual(self.fal_calls(), [])
        info = probe(self.download(j["output_url"], "preview.mp4"))
        self.assertAlmostEqual(float(info["format"]["duration"]), 3.0, delta=1 / 30 + 0.03)

    def test_seed_curl_with_provider_keys_reaches_fal_and_costs_nothing(self):
        key = self.v.user("seed@example.com", 100)
        call("POST", self.fake_url + "/_reset")
        j = self.render(key, SEED, providerKeys={"fal": "fal_byok_key", "elevenlabs": "el_xxx"})
        self.assertEqual(j["status"], "completed", j)
        self.assertEqual([c["key"] for c in self.fal_calls()][:1], ["fal_byok_key"])
        self.assertEqual(balance(self.u, key)["balance_cents"], 100)
        v = [s for s in probe(self.download(j["output_url"], "seed.mp4"))["streams"] if s["codec_type"] == "video"][0]
        self.assertEqual((v["width"], v["height"]), (1920, 1080))
        self.assertNotIn("fal_byok_key", self.v.log_text())

    def test_short_balance_is_402_before_any_spend(self):
        key = self.v.user("poor@example.com", 2)
        call("POST", self.fake_url + "/_reset")
        s, h, j = self.submit(key, SEED)
        self.assertEqual(s, 402, j)
        self.assertEqual(j["error"], "Insufficient balance. Required: 5 credits, available: 2 credits")
        self.assertEqual(self.fal_calls(), [])
        self.assertEqual(balance(self.u, key)["balance_cents"], 2)

    def test_estimate_is_exact_for_metered_byok_cached_and_preview(self):
        key = self.v.user("estimate@example.com", 2)
        call("POST", self.fake_url + "/_reset")
        code = SEED.replace('"mountains"', '"estimated mountains"')  # its own cache entry
        est = lambda **extra: call("POST", self.u + "/api/render/estimate", key, dict({"code": code}, **extra))
        s, _, e = est()
        self.assertEqual(s, 200, e)
        self.assertEqual(e["credits"], 5, "nano-banana-pro on the pooled key, though the balance is short")
        self.assertEqual(e["generations"], [{"type": "image", "model": "nano-banana-pro", "credits": 5, "billing": {"mode": "metered"}}])
        s, _, byok = est(providerKeys={"fal": "fal_byok_key"})
        self.assertEqual((byok["credits"], byok["generations"][0]["billing"]["mode"]), (0, "byok"))
        s, _, preview = est(mode="preview")
        self.assertEqual((preview["credits"], preview["generations"][0]["billing"]["mode"]), (0, "free"))
        s, _, offline = est(code=OFFLINE)
        self.assertEqual(offline["credits"], 0)
        self.assertEqual(sorted(g["type"] for g in offline["generations"]), ["image", "image", "music", "speech"])
        self.assertEqual(self.fal_calls(), [], "an estimate calls no provider")
        rich = self.v.user("estimate2@example.com", 100)
        j = self.render(rich, code)  # now the image is in the cache: the same render costs nothing
        self.assertEqual(j["status"], "completed", j)
        s, _, cached = call("POST", self.u + "/api/render/estimate", rich, {"code": code})
        self.assertEqual((cached["credits"], cached["generations"][0]["billing"]["mode"]), (0, "cached"))
        self.assertEqual(balance(self.u, key)["balance_cents"], 2, "an estimate spends nothing")
        for bad_code in ("export default <Clip duration={1} />;", "const x = <Render />;",
                         "export default (() => { throw new Error('boom'); })();"):
            s, _, bad = call("POST", self.u + "/api/render/estimate", key, {"code": bad_code})
            self.assertEqual(s, 400, (bad_code, bad))

    def test_cancel_mid_render(self):
        key = self.v.user("cancel@example.com", 0)
        code = OFFLINE.replace("calm piano", "slow strings %f" % time.time())
        s, _, j = self.submit(key, code)
        self.assertEqual(s, 202, j)
        time.sleep(0.3)
        s, _, c = call("DELETE", "%s/api/render/jobs/%s" % (self.u, j["job_id"]), key)
        self.assertEqual(s, 200, c)
        done = self.wait(key, j["job_id"])
        self.assertEqual((done["status"], done["error_category"]), ("failed", "cancelled"), done)
        time.sleep(1)
        self.assertEqual(self.wait(key, j["job_id"])["status"], "failed")
        self.assertEqual(balance(self.u, key)["reserved_cents"] if "reserved_cents" in balance(self.u, key) else 0, 0)

    def test_sandbox_escapes_fail_with_invalid_source(self):
        key = self.v.user("escape@example.com", 0)
        for name, code in ESCAPES.items():
            with self.subTest(name):
                j = self.render(key, code)
                self.assertEqual((j["status"], j["error_category"]), ("failed", "invalid_source"), (name, j))
        s, _, b = call("GET", self.u + "/v1/balance", key)
        self.assertEqual(s, 200, "vargd must be unaffected")

    def test_bad_code_is_400_with_the_reason(self):
        key = self.v.user("bad@example.com", 0)
        s, _, j = call("POST", self.u + "/api/render", key, raw=b"{not json", headers={"Content-Type": "application/json"})
        self.assertEqual((s, j["code"], j["statusCode"]), (400, "validation_error", 400), j)
        s, _, j = self.submit(key, "const x = <Render />;")
        self.assertEqual(s, 400, j)
        self.assertIn("export default", j["error"])
        s, _, j = self.submit(key, "export default <Clip duration={1} />;")
        self.assertEqual(s, 400, j)
        self.assertIn("<Render>", j["error"])
        s, _, j = self.submit(key, "export default (<Render>\n  <Clip duration={1}>\n</Render>);")
        self.assertEqual(s, 400, j)
        self.assertIn("line", j["error"])
        s, _, j = self.submit(key, 'import fs from "node:fs";\nfs.x();\nexport default <Render />;')
        self.assertEqual(s, 400, j)

    def test_frames_output_returns_images(self):
        key = self.v.user("frames@example.com", 0)
        j = self.render(key, OFFLINE, output="frames")
        self.assertEqual(j["status"], "completed", j)
        self.assertEqual([f["clipIndex"] for f in j["files"]], [0, 1, 2])
        self.assertEqual(call("GET", j["output_url"])[2][:4], b"\x89PNG")

    def test_stream_reports_the_render(self):
        key = self.v.user("stream@example.com", 0)
        j = self.render(key, 'export default <Render width={64} height={64}><Clip duration={1} /></Render>;')
        s, h, body = call("GET", "%s/api/render/jobs/%s/stream" % (self.u, j["job_id"]), key)
        self.assertEqual(s, 200)
        self.assertIn(b"event: status", body)
        self.assertIn(b'"status":"completed"', body)


if __name__ == "__main__":
    sys.argv[1:] = [a for a in sys.argv[1:] if a.startswith("-")]
    unittest.main(verbosity=2)
