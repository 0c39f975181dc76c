#!/usr/bin/env python3
"""End-to-end: vargd's upstream connection pools. A fal generation is four upstream calls
(submit, status, result, the file); the fake notes which TCP connection carried each and, over
TLS, whether its handshake resumed a session. Pooled, a warm vargd opens no new connection and
makes no new handshake per generation, over HTTP and over HTTPS. Usage: test_pools.py /path/to/vargd"""
import contextlib, json, os, shutil, ssl, subprocess, tempfile, time, unittest, urllib.request

from harness import Vargd, call, start_fake, wait_job


def fake_calls(url, cafile=None):
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    with urllib.request.urlopen(url + "/_calls", timeout=30, context=ctx) as r:
        return json.loads(r.read())["calls"]


@contextlib.contextmanager
def tls_fake():
    """The fake upstream over HTTPS with a fresh self-signed certificate for 127.0.0.1: (https URL, cert path)."""
    d = tempfile.mkdtemp(prefix="varg-tls-")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/key.pem",
                        "-out", d + "/cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        fake, url = start_fake(["--tls", d + "/cert.pem", d + "/key.pem"])
        try:
            yield url.replace("http://", "https://"), d + "/cert.pem"
        finally:
            fake.kill()
            fake.wait()
    finally:
        shutil.rmtree(d, ignore_errors=True)


class Pools(unittest.TestCase):
    def run_generations(self, fake_url, extra, cafile=None):
        v = Vargd(["--allow-private-provider-urls", "1", "--provider-poll-ms", "20", "--fal-url", fake_url,
                   "--fal-key", "pooled_fal_key", "--job-workers", "4"] + extra)
        try:
            key = v.user("pools@example.com", 1000)
            per_job = []
            for i in range(3):
                before = len(fake_calls(fake_url, cafile))
                s, _, j = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "pooled %d %f" % (i, time.time())})
                self.assertEqual(s, 202, j)
                self.assertEqual(wait_job(v.url, key, j["job_id"])["status"], "completed")
                per_job.append(fake_calls(fake_url, cafile)[before:])
            return per_job
        finally:
            v.cleanup()

    def check(self, per_job, tls):
        seen = set()
        for i, calls in enumerate(per_job):
            self.assertGreaterEqual(len(calls), 3, calls)
            conns = {c["conn"] for c in calls}
            new = conns - seen
            if i == 0:
                self.assertEqual(len(new), 1, "one connection carries all of the first generation's calls: %r" % calls)
            else:
                self.assertEqual(new, set(), "a warm generation opens no connection: %r" % calls)
            seen |= conns
            if tls:
                self.assertTrue(all(c["tls_resumed"] is not None for c in calls), "the calls came over TLS")
        # Over TLS each connection is one handshake: one for all three generations.
        self.assertEqual(len(seen), 1)

    def test_http_keeps_one_connection(self):
        fake, url = start_fake()
        try:
            self.check(self.run_generations(url, []), tls=False)
        finally:
            fake.kill()
            fake.wait()

    def test_https_keeps_one_connection_and_one_handshake(self):
        with tls_fake() as (https, cert):
            self.check(self.run_generations(https, ["--ca-file", cert], cert), tls=True)

    def test_https_without_the_ca_fails_cleanly(self):
        with tls_fake() as (https, _):
            v = Vargd(["--allow-private-provider-urls", "1", "--fal-url", https, "--fal-key", "k"])
            try:
                key = v.user("untrusted@example.com", 100)
                s, _, j = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "untrusted"})
                done = wait_job(v.url, key, j["job_id"])
                self.assertEqual(done["status"], "failed")
                self.assertIn("fal", done["error"])
                self.assertEqual(call("GET", v.url + "/v1/balance", key)[2]["balance_cents"], 100)
            finally:
                v.cleanup()


if __name__ == "__main__":
    import sys
    unittest.main(argv=sys.argv[:1])
