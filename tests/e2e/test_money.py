"""Issue 20's regression tests (the money and jobs core), each named after the finding it proves
fixed, run against the real vargd over loopback with the fake upstreams.
   (a) a reservation never outlives its job: admission is one transaction, recovery releases holds
       left without a live job (as an older vargd could leave them);
   (c) idempotency records are scoped to (account, API key, route) and never hold a secret;
   (d) the active-jobs cap holds under concurrent submits;
   (e) input URLs are fetched by the job after admission, a few at a time per account, never on the
       request workers;
   (g) a corrupt job row fails that job, and the job workers go on.
   (b) is test_gateway's test_a_cancel_while_the_result_downloads_caches_nothing; (d) across
   instances and (f) are in test_scaleout."""
import http.server, os, sqlite3, stat, sys, threading, time, unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import KEY_RE, Vargd, balance, call, start_fake, wait_job


class Money(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake, cls.fake_url = start_fake()
        cls.v = Vargd(["--allow-private-urls", "1", "--allow-private-provider-urls", "1", "--provider-poll-ms", "50",
                       "--fal-url", cls.fake_url, "--fal-key", "pooled_fal_key", "--max-active-jobs", "2"])
        cls.u = cls.v.url

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()
        cls.fake.kill()
        cls.fake.wait()

    def setUp(self):
        call("POST", self.fake_url + "/_reset")

    def db_rows(self, sql):
        with sqlite3.connect("file:%s/data/varg.db?mode=ro" % self.v.dir, uri=True) as db:
            return db.execute(sql).fetchall()

    def test_c_a_retried_key_creation_stores_no_secret_and_another_key_cannot_replay_it(self):
        full = self.v.user("idem-keys@example.com", 0)
        # A weaker key of the same account: it may read keys but not create them.
        weak_perms = {"api": {"user_read": {"api.keys.read": {}}}}
        s, _, weak = call("POST", self.u + "/api/keys", full, {"name": "weak", "permissions": weak_perms})
        self.assertEqual(s, 201, weak)
        h = {"Idempotency-Key": "create-%f" % time.time()}
        s, _, made = call("POST", self.u + "/api/keys", full, {"name": "ci"}, headers=h)
        self.assertEqual(s, 201, made)
        secret = made["key"]
        self.assertTrue(KEY_RE.fullmatch(secret))

        # Nothing in the database holds the new key (nor any other one).
        for table in ("idempotency", "api_keys", "jobs", "ledger"):
            for row in self.db_rows("SELECT * FROM %s" % table):
                self.assertFalse(any(isinstance(c, str) and KEY_RE.search(c) for c in row), (table, row))
        self.assertEqual(stat.S_IMODE(os.stat("%s/data/varg.db" % self.v.dir).st_mode), 0o600)

        # The same key retrying gets a 409 that says why, never the secret again.
        s, hdrs, again = call("POST", self.u + "/api/keys", full, {"name": "ci"}, headers=h)
        self.assertEqual(s, 409, again)
        self.assertIn("shown only once", again["error"])
        self.assertNotIn(secret, str(again))

        # The weaker key replaying the same Idempotency-Key runs its own request: refused by its rights.
        s, _, denied = call("POST", self.u + "/api/keys", weak["key"], {"name": "ci"}, headers=h)
        self.assertEqual(s, 403, denied)
        self.assertNotIn(secret, str(denied))
        s, _, keys = call("GET", self.u + "/api/keys", full)
        self.assertEqual(sorted(k["name"] for k in keys["keys"]), ["admin create-user", "ci", "weak"], keys)


    def test_d_concurrent_submits_never_exceed_the_active_jobs_cap(self):
        key = self.v.user("cap@example.com", 1000)
        call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 1.5})
        body = lambda i: {"model": "flux-pro", "prompt": "cap %d %f" % (i, time.time())}
        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(lambda i: call("POST", self.u + "/v1/image", key, body(i)), range(32)))
        accepted = [j for s, _, j in answers if s == 202]
        refused = [(s, h) for s, h, _ in answers if s != 202]
        self.assertEqual(len(accepted), 2, answers)
        self.assertTrue(all(s == 429 and h.get("Retry-After") for s, h in refused), refused)
        for j in accepted:
            wait_job(self.u, key, j["job_id"])
        self.assertEqual(balance(self.u, key), {"balance_cents": 980, "currency": "usd", "reserved_cents": 0})

    def test_e_slow_input_urls_are_fetched_by_the_job_and_stall_no_one(self):
        png = b"\x89PNG\r\n\x1a\n" + b"x" * 64
        state = {"now": 0, "most": 0}
        lock = threading.Lock()

        class Slow(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with lock:
                    state["now"] += 1
                    state["most"] = max(state["most"], state["now"])
                time.sleep(4)
                with lock:
                    state["now"] -= 1
                body = png + self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        v = Vargd(["--allow-private-urls", "1", "--max-active-jobs", "0"])
        try:
            slow, other = v.user("slow-urls@example.com", 0), v.user("bystander@example.com", 0)
            url = "http://127.0.0.1:%d/in" % srv.server_address[1]

            def submit(i):
                t = time.time()
                s, _, j = call("POST", v.url + "/v1/image", slow,
                               {"model": "local-image", "prompt": "slow %d" % i, "files": [{"url": "%s%d.png" % (url, i)}]})
                return s, j, time.time() - t

            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(submit, range(8)))
                t = time.time()
                s, _, b = call("GET", v.url + "/v1/balance", other)
                bystander = time.time() - t
            self.assertTrue(all(s == 202 for s, _, _ in answers), answers)
            # Admission answered at once: no submit waited for its 4-second URL, nor did the bystander.
            self.assertLess(max(d for _, _, d in answers), 3, answers)
            self.assertEqual(s, 200)
            self.assertLess(bystander, 3)
            for _, j, _ in answers:
                self.assertEqual(wait_job(v.url, slow, j["job_id"], timeout=60)["status"], "completed")
            self.assertLessEqual(state["most"], 2, "one account fetched more than 2 URLs at once")
        finally:
            srv.shutdown()
            v.cleanup()

    def test_a_a_hold_left_without_its_job_is_released_by_recovery(self):
        v = Vargd()
        try:
            key = v.user("orphan@example.com", 100)
            v.stop()
            # What a crash of an older vargd between its two writes left: the hold, no job row.
            with sqlite3.connect("%s/data/varg.db" % v.dir) as db:
                uid = db.execute("SELECT id FROM users WHERE email = 'orphan@example.com'").fetchone()[0]
                old = int(time.time()) - 600
                db.execute("INSERT INTO ledger(user_id, kind, amount, idempotency_id, ref, created_at) "
                           "VALUES(?, 'reserve', 40, 'reserve:job_crashed', 'job_crashed', ?)", (uid, old))
                db.execute("UPDATE accounts SET reserved = reserved + 40 WHERE user_id = ?", (uid,))
                if [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name = 'holds'")]:
                    db.execute("INSERT INTO holds VALUES('reserve:job_crashed', ?, 'job_crashed', 40, ?)", (uid, old))
            v.start()
            self.assertEqual(balance(v.url, key), {"balance_cents": 100, "currency": "usd", "reserved_cents": 0})
            with sqlite3.connect("file:%s/data/varg.db?mode=ro" % v.dir, uri=True) as db:
                kinds = [r[0] for r in db.execute("SELECT kind FROM ledger WHERE user_id = ? ORDER BY id", (uid,))]
            self.assertEqual(kinds, ["grant", "reserve", "release"])
        finally:
            v.cleanup()


    def test_g_a_corrupt_job_row_fails_its_job_and_the_workers_go_on(self):
        v = Vargd(["--job-workers", "1"])
        try:
            key = v.user("corrupt@example.com", 100)
            v.stop()
            with sqlite3.connect("%s/data/varg.db" % v.dir) as db:
                uid = db.execute("SELECT id FROM users WHERE email = 'corrupt@example.com'").fetchone()[0]
                db.execute("INSERT INTO jobs(id, user_id, capability, model, params, status, created_at) "
                           "VALUES('job_corrupt', ?, 'image', 'local:local-image', '{not json', 'queued', ?)", (uid, int(time.time())))
                db.execute("UPDATE accounts SET active = active + 1 WHERE user_id = ?", (uid,))
            v.start()
            bad = wait_job(v.url, key, "job_corrupt")
            self.assertEqual(bad["status"], "failed", bad)
            self.assertIn("unreadable", bad["error"])
            # The one job worker survived it: a new job still runs.
            s, _, j = call("POST", v.url + "/v1/image", key, {"model": "local-image", "prompt": "after %f" % time.time()})
            self.assertEqual(s, 202, j)
            self.assertEqual(wait_job(v.url, key, j["job_id"])["status"], "completed")
        finally:
            v.cleanup()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
