#!/usr/bin/env python3
"""End-to-end scale-out: several real vargd instances on one real PostgreSQL (initdb in a temp dir,
run as the postgres user when we are root), the fal protocol served by tests/fakes/fake_upstream.py.
Money never overdraws across instances, revocation reaches every instance within 1 s, idempotency
keys hold across instances, and a job of a killed instance is finished by another, charged once.
Usage: test_scaleout.py /path/to/vargd. Without PostgreSQL the run fails; nothing is skipped."""
import glob, os, shutil, socket, subprocess, tempfile, time, unittest
from concurrent.futures import ThreadPoolExecutor

from harness import Vargd, balance, call, start_fake, wait_job

SECRET = "5e" * 32  # one --secret for every instance, so key hashes and sealed keys match


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Postgres:
    """A throwaway PostgreSQL server: initdb into a temp dir, pg_ctl start on a free loopback port."""

    def __init__(self):
        ctl = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not ctl:
            raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): run scripts/setup")
        self.bin = os.path.dirname(ctl[-1])
        self.dir = tempfile.mkdtemp(prefix="varg-pg-e2e-")
        os.chmod(self.dir, 0o755)
        self.as_pg = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.run("initdb", "-D", self.dir + "/data", "-A", "trust", "-U", "varg", "--no-sync")
        self.run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/server.log", "-w", "start", "-o",
                 "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" % (self.port, self.dir))
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "varg", "varg")
        self.url = "postgresql://varg@127.0.0.1:%d/varg" % self.port

    def run(self, tool, *args):
        subprocess.run(self.as_pg + [os.path.join(self.bin, tool), *args], cwd=self.dir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        try:
            self.run("pg_ctl", "-D", self.dir + "/data", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class ScaleOut(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg, cls.fake, cls.vs = None, None, []
        try:
            cls.pg = Postgres()
            # Every vargd and `vargd admin` of this run talks to the same database with the same secret.
            os.environ["VARGD_DATABASE"] = cls.pg.url
            os.environ["VARGD_SECRET"] = SECRET
            cls.fake, cls.fake_url = start_fake()
            cls.flags = ["--allow-private-urls", "1", "--allow-private-provider-urls", "1", "--provider-poll-ms", "50", "--fal-url", cls.fake_url,
                         "--fal-key", "pooled_fal_key"]
            for _ in range(3):
                cls.vs.append(Vargd(cls.flags))
            cls.urls = [v.url for v in cls.vs]
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for v in cls.vs:
            v.cleanup()
        if cls.fake:
            cls.fake.kill()
            cls.fake.wait()
        if cls.pg:
            cls.pg.stop()

    def setUp(self):
        call("POST", self.fake_url + "/_reset")

    def fake_calls(self, method=None):
        calls = call("GET", self.fake_url + "/_calls")[2]["calls"]
        return [c for c in calls if method is None or c["method"] == method]

    def test_every_instance_sees_one_account(self):
        key = self.vs[0].user("one@example.com", 70)
        for u in self.urls:
            self.assertEqual(balance(u, key), {"balance_cents": 70, "currency": "usd", "reserved_cents": 0}, u)

    def test_concurrent_metered_requests_over_three_instances_never_overdraw(self):
        key = self.vs[0].user("race@example.com", 100)  # exactly 10 flux-pro requests at 10 credits
        def one(i):
            return call("POST", self.urls[i % 3] + "/v1/image", key,
                        {"model": "flux-pro", "prompt": "race %d %f" % (i, time.time())},
                        {"Cache-Control": "no-store"})
        with ThreadPoolExecutor(24) as pool:
            results = list(pool.map(one, range(48)))
        statuses = [s for s, _, _ in results]
        ok = [j for s, _, j in results if s == 202]
        self.assertEqual(len(ok), 10, statuses)
        self.assertEqual(statuses.count(402), 38, statuses)
        for j in ok:
            self.assertEqual(wait_job(self.urls[0], key, j["job_id"])["status"], "completed")
        for u in self.urls:
            self.assertEqual(balance(u, key), {"balance_cents": 0, "currency": "usd", "reserved_cents": 0})
        self.assertEqual(len(self.fake_calls("POST")), 10, "no request beyond the balance reached the provider")

    def test_key_revoked_on_one_instance_is_refused_on_another_within_1s(self):
        key = self.vs[0].user("revoke@example.com", 0)
        s, _, k = call("POST", self.urls[0] + "/api/keys", key, {"name": "short-lived"})
        self.assertIn(s, (200, 201), k)
        for u in self.urls:  # warm every instance's key cache
            self.assertEqual(call("GET", u + "/v1/balance", k["key"])[0], 200)
        s, _, _ = call("DELETE", "%s/api/keys/%s" % (self.urls[1], k["id"]), key)
        self.assertIn(s, (200, 204))
        revoked_at = time.time()
        time.sleep(1.0)
        for u in (self.urls[0], self.urls[2]):
            s, _, e = call("GET", u + "/v1/balance", k["key"])
            self.assertEqual(s, 401, "%s accepted a key revoked %.2f s ago: %s" % (u, time.time() - revoked_at, e))

    def test_idempotency_key_holds_across_instances(self):
        key = self.vs[0].user("idem@example.com", 100)
        body = {"model": "flux-pro", "prompt": "idem %f" % time.time()}
        h = {"Idempotency-Key": "k-%f" % time.time(), "Cache-Control": "no-store"}
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda i: call("POST", self.urls[i % 3] + "/v1/image", key, body, h), range(6)))
        ids = {j.get("job_id") for s, _, j in results if s in (200, 202)}
        self.assertEqual(len(ids), 1, results)
        self.assertEqual(sorted(s for s, _, _ in results), [200] * 5 + [202], results)
        s, _, e = call("POST", self.urls[2] + "/v1/image", key, dict(body, prompt="different"), h)
        self.assertEqual(s, 409, e)
        wait_job(self.urls[1], key, ids.pop())
        self.assertEqual(balance(self.urls[2], key)["balance_cents"], 90)

    def test_kill9_one_instance_mid_job_another_finishes_it_and_charges_once(self):
        doomed = Vargd(self.flags)
        try:
            key = doomed.user("crash@example.com", 100)
            call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 2})
            s, _, j = call("POST", doomed.url + "/v1/image", key, {"model": "flux-pro", "prompt": "crash %f" % time.time()})
            self.assertEqual(s, 202, j)
            time.sleep(0.5)
            self.assertEqual(balance(self.urls[0], key)["reserved_cents"], 10)
            doomed.kill9()
            started = time.time()
            done = wait_job(self.urls[0], key, j["job_id"], timeout=45)
            took = time.time() - started
            self.assertEqual(done["status"], "completed", done)
            for u in self.urls:
                self.assertEqual(balance(u, key), {"balance_cents": 90, "currency": "usd", "reserved_cents": 0})
            self.assertEqual(len(self.fake_calls("POST")), 1, "the survivor resumed the upstream request, not a new one")
            print("\n  job of the killed instance finished by a survivor after %.1f s" % took)
        finally:
            doomed.cleanup()


if __name__ == "__main__":
    import sys
    unittest.main(argv=[sys.argv[0], "-v"])
