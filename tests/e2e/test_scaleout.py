#!/usr/bin/env python3
"""End-to-end scale-out: several real vargd instances on one real PostgreSQL (initdb in a temp dir,
run as the postgres user when we are root), the fal protocol served by tests/fakes/fake_upstream.py.
Money never overdraws across instances, revocation reaches every instance within 1 s, idempotency
keys hold across instances, and a job of a killed instance is finished by another, charged once.
Issue 20: identical requests on two instances generate once (f), the active-jobs cap holds across
instances (d), and under 64 concurrent clients an instance killed and restarted three times leaves
every account's ledger identity intact and nothing reserved.
Usage: test_scaleout.py /path/to/vargd. Without PostgreSQL the run fails; nothing is skipped."""
import os, random, threading, time, unittest
from concurrent.futures import ThreadPoolExecutor

from harness import SharedDatabase, Vargd, balance, call, wait_job

class ScaleOut(SharedDatabase):
    INSTANCES = 3

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


    def test_f_identical_requests_on_two_instances_generate_once(self):
        key = self.vs[0].user("flight@example.com", 100)
        call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 2})
        body = {"model": "flux-pro", "prompt": "one flight %f" % time.time()}
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda u: call("POST", u + "/v1/image", key, body), self.urls[:2]))
        self.assertEqual([s for s, _, _ in answers], [202, 202], answers)
        done = [wait_job(self.urls[2], key, j["job_id"]) for _, _, j in answers]
        self.assertEqual([d["status"] for d in done], ["completed", "completed"], done)
        self.assertEqual(sorted(d["billing"]["cost_cents"] for d in done), [0, 10], done)
        self.assertEqual(len(self.fake_calls("POST")), 1, "two instances generated the same thing twice")
        self.assertEqual(balance(self.urls[0], key), {"balance_cents": 90, "currency": "usd", "reserved_cents": 0})

    def test_d_the_active_jobs_cap_holds_across_instances(self):
        a, b = Vargd(self.flags + ["--max-active-jobs", "3"]), Vargd(self.flags + ["--max-active-jobs", "3"])
        try:
            key = a.user("capped@example.com", 1000)
            call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 2})
            def one(i):
                return call("POST", (a.url, b.url)[i % 2] + "/v1/image", key,
                            {"model": "flux-pro", "prompt": "cap %d %f" % (i, time.time())}, {"Cache-Control": "no-store"})
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(one, range(16)))
            statuses = sorted(s for s, _, _ in answers)
            self.assertEqual(statuses, [202] * 3 + [429] * 13, statuses)
            for s, _, j in answers:
                if s == 202:
                    wait_job(a.url, key, j["job_id"])
            self.assertEqual(balance(b.url, key), {"balance_cents": 970, "currency": "usd", "reserved_cents": 0})
        finally:
            a.cleanup()
            b.cleanup()

    def test_d_the_per_account_rate_limit_is_one_budget_across_instances(self):
        a, b = Vargd(self.flags + ["--rate-limit-rpm", "6"]), Vargd(self.flags + ["--rate-limit-rpm", "6"])
        try:
            key = a.user("rpm@example.com", 0)
            # State-changing requests count; a DELETE of no job is one (404 when admitted).
            answers = [call("DELETE", (a.url, b.url)[i % 2] + "/v1/jobs/job_none%d" % i, key)[0] for i in range(14)]
            self.assertEqual(answers.count(429), 8, answers)
            self.assertEqual(answers.count(404), 6, answers)
        finally:
            a.cleanup()
            b.cleanup()

    def test_kill9_an_instance_three_times_under_64_clients_and_every_balance_holds(self):
        flags = self.flags + ["--job-lease-ms", "2000", "--max-active-jobs", "0", "--rate-limit-rpm", "0"]
        a, b = Vargd(flags), Vargd(flags)
        try:
            keys = [a.user("kill%d-%f@example.com" % (i, time.time()), 200) for i in range(8)]
            call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 0.3})
            stop_at = time.time() + 12
            sent = [0]

            def client(i):
                rng = random.Random(i)
                while time.time() < stop_at:
                    url = a.url if rng.random() < 0.5 else b.url  # b moves to a new port on each restart
                    body = {"model": "flux-pro", "prompt": "kill %d" % rng.randrange(40)}  # identical ones too
                    key = keys[i % len(keys)]
                    try:  # a client waits for its job, then sends the next
                        s, _, j = call("POST", url + "/v1/image", key, body,
                                       {"Cache-Control": "no-cache"} if rng.random() < 0.3 else {})
                        sent[0] += 1
                        give_up = time.time() + 5
                        while s == 202 and time.time() < give_up and time.time() < stop_at:
                            s2, _, now = call("GET", "%s/v1/jobs/%s" % (a.url, j["job_id"]), key)
                            if s2 != 200 or now["status"] in ("completed", "failed", "cancelled"):
                                break
                            time.sleep(0.1)
                    except OSError:
                        time.sleep(0.05)  # the instance died under us: try again

            threads = [threading.Thread(target=client, args=(i,)) for i in range(64)]
            for t in threads:
                t.start()
            for _ in range(3):
                time.sleep(3)
                b.kill9()
                time.sleep(0.3)
                b.start()
            for t in threads:
                t.join()
            # The survivors finish every job the dead ones left (lease 2 s).
            self.assertEqual(self.pg.wait_no_live_jobs(90), [], "jobs left queued or processing")
            bad = self.pg.sql(
                "SELECT a.user_id, a.settled, a.reserved FROM accounts a WHERE a.reserved <> 0 OR a.active <> 0 OR a.settled <> "
                "(SELECT COALESCE(SUM(CASE WHEN kind IN ('grant','purchase','refund','adjustment') THEN amount "
                "WHEN kind = 'capture' THEN -amount ELSE 0 END), 0) FROM ledger l WHERE l.user_id = a.user_id)")
            self.assertEqual(bad, [], "balance identity broken or credits left reserved")
            self.assertEqual(self.pg.sql("SELECT COUNT(*) FROM holds"), [["0"]])
            charged_twice = self.pg.sql("SELECT ref FROM ledger WHERE kind = 'capture' GROUP BY ref HAVING COUNT(*) > 1")
            self.assertEqual(charged_twice, [])
            print("\n  %d requests from 64 clients while one of two instances was killed 3 times" % sent[0])
        finally:
            a.cleanup()
            b.cleanup()


if __name__ == "__main__":
    import sys
    unittest.main(argv=[sys.argv[0], "-v"])
