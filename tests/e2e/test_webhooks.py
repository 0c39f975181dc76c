#!/usr/bin/env python3
"""End-to-end: job webhooks (SPEC 13) from the real vargd to a local receiver that verifies the
Standard Webhooks signature on its own, fails the first attempts on request, and dedupes by id;
retries that survive a kill -9, secret rotation, deliveries listed, bad URLs refused.
Usage: test_webhooks.py /path/to/vargd"""
import base64, hashlib, hmac, json, threading, time, unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Vargd, call, wait_job


class Receiver:
    """A webhook endpoint: answers 500 to the first `fail` attempts of each message, then 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempts, self.accepted, self.fail, self.always_fail = [], {}, 0, False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                h = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.attempts.append((h, body))
                    tries = sum(1 for a, _ in receiver.attempts if a.get("webhook-id") == h.get("webhook-id"))
                    ok = not receiver.always_fail and tries > receiver.fail
                    if ok:
                        receiver.accepted.setdefault(h.get("webhook-id"), (h, body))  # dedupe by id
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_accepted(self, job_id, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                for h, body in self.accepted.values():
                    if json.loads(body)["job_id"] == job_id:
                        return h, body
            time.sleep(0.05)
        raise AssertionError("no accepted webhook for %s; attempts: %r" % (job_id, self.attempts))

    def tries_of(self, msg_id):
        with self.lock:
            return sum(1 for h, _ in self.attempts if h.get("webhook-id") == msg_id)


def verify(secret, h, body):
    """The Standard Webhooks check, written from the scheme alone."""
    key = base64.b64decode(secret[len("whsec_"):])
    signed = ("%s.%s." % (h["webhook-id"], h["webhook-timestamp"])).encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in h["webhook-signature"].split(" "))


class WebhookTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rx = Receiver()
        cls.v = Vargd(["--allow-private-urls", "1", "--webhook-retries", "1", "--webhook-timeout-ms", "2000"])

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()
        cls.rx.server.shutdown()

    def setUp(self):
        self.rx.fail, self.rx.always_fail = 0, False

    def gen(self, key, body):
        s, _, j = call("POST", self.v.url + "/v1/image", key, body)
        self.assertEqual(s, 202, j)
        return j

    def test_signed_retried_and_deduplicable(self):
        key = self.v.user("hooks@example.com", 0)
        s, h, sec = call("GET", self.v.url + "/api/webhooks/secret", key)
        self.assertEqual(s, 200, sec)
        self.assertTrue(sec["secret"].startswith("whsec_"))
        self.assertEqual(h.get("Cache-Control"), "no-store")
        self.assertEqual(call("GET", self.v.url + "/api/webhooks/secret", key)[2]["secret"], sec["secret"], "stable until rotated")
        self.rx.fail = 2
        j = self.gen(key, {"model": "local-image", "prompt": "hooked %f" % time.time(), "webhook_url": self.rx.url})
        h, body = self.rx.wait_accepted(j["job_id"])
        self.assertTrue(verify(sec["secret"], h, body), h)
        self.assertFalse(verify("whsec_" + base64.b64encode(b"x" * 32).decode(), h, body))
        self.assertLessEqual(abs(int(h["webhook-timestamp"]) - time.time()), 60)
        self.assertEqual(h["content-type"], "application/json")
        payload = json.loads(body)
        self.assertEqual(payload, wait_job(self.v.url, key, j["job_id"]), "the JobResponse at its terminal state")
        self.assertEqual(payload["status"], "completed")
        self.assertEqual(self.rx.tries_of(h["webhook-id"]), 3, "two failures, then accepted")
        time.sleep(1.5)
        self.assertEqual(self.rx.tries_of(h["webhook-id"]), 3, "nothing after a 2xx")
        s, _, d = call("GET", self.v.url + "/api/webhooks/deliveries", key)
        self.assertEqual(s, 200, d)
        mine = [x for x in d["deliveries"] if x["job_id"] == j["job_id"]][0]
        self.assertEqual((mine["id"], mine["status"], mine["attempts"], mine["last_status"]), (h["webhook-id"], "delivered", 3, 200))
        self.assertEqual(call("GET", self.v.url + "/api/webhooks/deliveries", self.v.user("other@example.com", 0))[2]["deliveries"], [])

    def test_failed_cancelled_and_cached_jobs_are_delivered_too(self):
        key = self.v.user("terminal@example.com", 100)
        prompt = "terminal %f" % time.time()
        first = self.gen(key, {"model": "local-image", "prompt": prompt, "options": {"webhook_url": self.rx.url}})
        self.assertEqual(json.loads(self.rx.wait_accepted(first["job_id"])[1])["status"], "completed")
        hit = self.gen(key, {"model": "local-image", "prompt": prompt, "webhook_url": self.rx.url})
        self.assertEqual(hit["status"], "completed", "a cache hit, finished at admission")
        self.assertTrue(json.loads(self.rx.wait_accepted(hit["job_id"])[1])["cache"]["hit"])
        s, _, media = call("POST", self.v.url + "/v1/ffmpeg/probe", key, {"url": "https://example.invalid/x.mp4", "webhook_url": self.rx.url})
        failed = wait_job(self.v.url, key, call("GET", self.v.url + "/v1/jobs?capability=ffmpeg", key)[2]["jobs"][0]["job_id"])
        self.assertEqual(failed["status"], "failed")
        self.assertEqual(json.loads(self.rx.wait_accepted(failed["job_id"])[1])["status"], "failed")

    def test_rotation_signs_with_the_new_secret(self):
        key = self.v.user("rotate@example.com", 0)
        old = call("GET", self.v.url + "/api/webhooks/secret", key)[2]["secret"]
        s, _, new = call("POST", self.v.url + "/api/webhooks/secret", key)
        self.assertEqual(s, 200, new)
        self.assertNotEqual(new["secret"], old)
        j = self.gen(key, {"model": "local-image", "prompt": "rotated %f" % time.time(), "webhook_url": self.rx.url})
        h, body = self.rx.wait_accepted(j["job_id"])
        self.assertTrue(verify(new["secret"], h, body))
        self.assertFalse(verify(old, h, body))

    def test_a_retried_job_reports_to_the_retrys_webhook(self):
        key = self.v.user("retryhook@example.com", 100)
        s, _, j = call("POST", self.v.url + "/v1/ffmpeg/trim", key, {"url": "https://example.invalid/a.mp4", "start": 0, "end": 1})
        self.assertEqual(wait_job(self.v.url, key, j["job_id"])["status"], "failed")
        s, _, again = call("POST", "%s/v1/jobs/%s/retry" % (self.v.url, j["job_id"]), key, {"webhook_url": self.rx.url})
        self.assertEqual(s, 202, again)
        payload = json.loads(self.rx.wait_accepted(again["job_id"])[1])
        self.assertEqual((payload["job_id"], payload["status"]), (again["job_id"], "failed"))
        s, _, e = call("POST", "%s/v1/jobs/%s/retry" % (self.v.url, j["job_id"]), key, {"webhook_url": "ftp://x"})
        self.assertEqual((s, e.get("field")), (400, "webhook_url"))

    def test_bad_webhook_urls_are_400s(self):
        key = self.v.user("badhooks@example.com", 0)
        for bad in ("ftp://x/y", "not a url", 42, "http://" + "x" * 2100):
            s, _, e = call("POST", self.v.url + "/v1/image", key, {"model": "local-image", "prompt": "x", "webhook_url": bad})
            self.assertEqual((s, e.get("field")), (400, "webhook_url"), bad)


class Durability(unittest.TestCase):
    def test_a_pending_delivery_survives_kill9_with_the_same_id(self):
        rx = Receiver()
        rx.always_fail = True
        v = Vargd(["--allow-private-urls", "1", "--webhook-retries", "1", "--webhook-timeout-ms", "2000"])
        try:
            key = v.user("durable@example.com", 0)
            s, _, j = call("POST", v.url + "/v1/image", key, {"model": "local-image", "prompt": "durable", "webhook_url": rx.url})
            end = time.time() + 20
            while time.time() < end and not rx.attempts:
                time.sleep(0.05)
            self.assertTrue(rx.attempts, "a first attempt")
            first_id = rx.attempts[0][0]["webhook-id"]
            v.kill9()
            rx.always_fail = False
            v.start()
            h, body = rx.wait_accepted(j["job_id"])
            self.assertEqual(h["webhook-id"], first_id, "the same message after the restart")
            secret = call("GET", v.url + "/api/webhooks/secret", key)[2]["secret"]
            self.assertTrue(verify(secret, h, body))
            d = call("GET", v.url + "/api/webhooks/deliveries", key)[2]["deliveries"][0]
            self.assertEqual(d["status"], "delivered")
            self.assertGreaterEqual(d["attempts"], 2)
        finally:
            v.cleanup()
            rx.server.shutdown()

    def test_private_receivers_are_refused_without_the_test_setting(self):
        rx = Receiver()
        v = Vargd([])
        try:
            key = v.user("ssrf@example.com", 0)
            for url in (rx.url, "http://localhost:1/x", "http://[::1]/x", "http://169.254.169.254/latest", "http://10.0.0.1/x"):
                s, _, e = call("POST", v.url + "/v1/image", key, {"model": "local-image", "prompt": "x", "webhook_url": url})
                self.assertEqual((s, e.get("field")), (400, "webhook_url"), url)
            self.assertEqual(rx.attempts, [])
        finally:
            v.cleanup()
            rx.server.shutdown()


if __name__ == "__main__":
    import sys
    unittest.main(argv=sys.argv[:1])
