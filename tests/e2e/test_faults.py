#!/usr/bin/env python3
"""End-to-end faults (issue 25), each injected against real vargd processes: PostgreSQL restarted
and crashed under load (every request answered 200-class or 503 with Retry-After in its dialect,
none lost or charged twice, pools and LISTEN back without restarting vargd); a provider outage
(its circuit breaker opens, fails fast, probes, closes; a fallback route at the same price only);
a full disk (a size-limited tmpfs data directory: 507 + Retry-After, nothing torn, a result in
hand kept until there is room, everything back when space returns); SIGTERM finishing running
jobs, or handing them to another instance; a backup taken under load,
verified, damaged (verify says where) and restored; a schema one migration ahead (rolling upgrade).
Usage: test_faults.py /path/to/vargd. Without PostgreSQL the run fails; nothing is skipped."""
import json, os, random, re, shutil, signal, sqlite3, subprocess, tempfile, threading, time, unittest

from harness import VARGD, SharedDatabase, Vargd, balance, call, start_fake, wait_job

# What a ledger that holds looks like: settled = grants - captures, nothing reserved or active.
BROKEN_IDENTITY = (
    "SELECT a.user_id, a.settled, a.reserved FROM accounts a WHERE a.reserved <> 0 OR a.active <> 0 OR a.settled <> "
    "(SELECT COALESCE(SUM(CASE WHEN kind IN ('grant','purchase','refund','adjustment') THEN amount "
    "WHEN kind = 'capture' THEN -amount ELSE 0 END), 0) FROM ledger l WHERE l.user_id = a.user_id)")


def dialect_ok(path, status, headers, body):
    """A 503 in the route family's documented error shape, with Retry-After."""
    if status != 503 or "Retry-After" not in headers or not isinstance(body, dict):
        return False
    if path.startswith("/v1/"):
        return body.get("statusCode") == 503 and body["error"]["code"] == "service_unavailable"
    if path.startswith("/api/v0/"):
        return body.get("success") is False and body.get("error") == "service_unavailable"
    return body.get("statusCode") == 503 and body.get("code") == "service_unavailable"


class PostgresRestart(SharedDatabase):
    maxDiff = None
    EXTRA_FLAGS = ("--job-lease-ms", "2000", "--max-active-jobs", "0", "--rate-limit-rpm", "0")

    def test_restart_and_crash_under_load(self):
        urls = self.urls
        emails = ["pgr%d-%f@example.com" % (i, time.time()) for i in range(6)]
        keys = [self.vs[0].user(e, 3000) for e in emails]
        call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 0.2})
        stop_at = time.time() + 14
        seen, bad, jobs, lock = {}, [], [], threading.Lock()

        def client(i):
            rng = random.Random(i)
            key = keys[i % len(keys)]
            while time.time() < stop_at:
                url = urls[rng.randrange(2)]
                pick = rng.random()
                if pick < 0.15:
                    path, method, body = "/v1/image", "POST", {"model": "flux-pro", "prompt": "pg %d %f" % (i, rng.random())}
                elif pick < 0.6:
                    path, method, body = "/v1/balance", "GET", None
                elif pick < 0.8:
                    path, method, body = "/api/keys", "GET", None
                else:
                    path, method, body = "/api/v0/users/current", "GET", None
                started = time.time()
                try:
                    s, h, j = call(method, url + path, key, body, {"Cache-Control": "no-store"} if body else None)
                except OSError as e:  # a hang (the client's timeout) or a reset connection
                    with lock:
                        bad.append((path, "no answer after %.1f s: %s" % (time.time() - started, e)))
                    continue
                with lock:
                    seen[s] = seen.get(s, 0) + 1
                    if s == 202:
                        jobs.append((key, j["job_id"]))
                    elif s not in (200, 402) and not dialect_ok(path, s, h, j):
                        bad.append((path, s, h.get("Retry-After"), j))
                if s == 503:
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        time.sleep(3)
        self.pg.halt("fast")  # a planned restart: every session ended
        time.sleep(2)
        self.pg.start()
        time.sleep(3)
        self.pg.halt("immediate")  # a crash: recovery from the WAL at start
        time.sleep(1)
        self.pg.start()
        for t in threads:
            t.join()
        self.assertEqual(bad, [], "answers other than 200/202/402 or a 503 with Retry-After in the dialect")
        self.assertGreater(seen.get(503, 0), 0, "the restarts were not noticed: %s" % seen)
        self.assertGreater(seen.get(202, 0), 20, seen)
        print("\n  answers while PostgreSQL restarted and crashed: %s" % sorted(seen.items()))

        # Pools recovered without restarting vargd: every instance answers at once.
        for u in urls:
            self.assertEqual(call("GET", u + "/v1/balance", keys[0])[0], 200)
        # Every admitted job finishes (the survivors' leases take over anything stranded).
        self.assertEqual(self.pg.wait_no_live_jobs(90), [], "jobs left queued or processing")
        known = {row[0] for row in self.pg.sql("SELECT id FROM jobs")}
        self.assertEqual([j for _, j in jobs if j not in known], [], "a job answered 202 was lost")
        wait_job(urls[1], jobs[-1][0], jobs[-1][1])  # and the API agrees
        self.assertEqual(self.pg.sql(BROKEN_IDENTITY), [], "balance identity broken or credits left reserved")
        self.assertEqual(self.pg.sql("SELECT COUNT(*) FROM holds"), [["0"]])
        self.assertEqual(self.pg.sql("SELECT ref FROM ledger WHERE kind = 'capture' GROUP BY ref HAVING COUNT(*) > 1"), [])
        charged = self.pg.sql("SELECT COALESCE(SUM(cost_cents), 0) FROM jobs WHERE status = 'completed'")[0][0]
        captured = self.pg.sql("SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE kind = 'capture'")[0][0]
        self.assertEqual(charged, captured, "what completed jobs cost is what the ledger captured")
        # The operator's own check agrees on PostgreSQL too. (These instances keep their blobs in
        # their own data directories, not a shared one, so results made by the other are "missing".)
        out = self.vs[0].admin("verify")
        ledger = [l for l in out.stdout.splitlines() if l.startswith("PROBLEM:") and "missing from" not in l]
        self.assertEqual(ledger, [], out.stdout + out.stderr)
        self.assertIn("ledger entries", out.stdout)

        # LISTEN/NOTIFY is back: a revocation on one instance reaches the other within 1 s ...
        s, _, k = call("POST", urls[0] + "/api/keys", keys[1], {"name": "after-restart"})
        self.assertIn(s, (200, 201), k)
        for u in urls:
            self.assertEqual(call("GET", u + "/v1/balance", k["key"])[0], 200)
        s, _, _ = call("DELETE", "%s/api/keys/%s" % (urls[1], k["id"]), keys[1])
        self.assertIn(s, (200, 204))
        time.sleep(1.0)
        self.assertEqual(call("GET", urls[0] + "/v1/balance", k["key"])[0], 401)
        # ... and so does a grant made by another process (the balance caches' notifications).
        before = balance(urls[0], keys[2])["balance_cents"]
        out = self.vs[1].admin("grant", "--email", emails[2], "--credits", "7")
        self.assertEqual(out.returncode, 0, out.stderr)
        time.sleep(1.0)
        self.assertEqual(balance(urls[0], keys[2])["balance_cents"], before + 7)
        self.assertEqual(balance(urls[1], keys[2])["balance_cents"], before + 7)

    def test_sigterm_hands_running_jobs_to_the_other_instance(self):
        # A lease of a minute: the survivor can only take the jobs this soon if they are handed over.
        flags = self.flags + ["--job-drain-ms", "300", "--job-lease-ms", "60000"]
        leaving = Vargd(flags)
        try:
            key = leaving.user("handover-%f@example.com" % time.time(), 100)
            call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 3})
            jobs = []
            for i in range(4):
                s, _, j = call("POST", leaving.url + "/v1/image", key, {"model": "flux-pro", "prompt": "handover %d %f" % (i, time.time())})
                self.assertEqual(s, 202, j)
                jobs.append(j["job_id"])
            time.sleep(0.5)
            started = time.time()
            leaving.proc.send_signal(signal.SIGTERM)
            leaving.proc.wait(timeout=15)
            took = time.time() - started
            self.assertEqual(leaving.proc.returncode, 0)
            self.assertLess(took, 5, "SIGTERM took %.1f s with a 300 ms drain" % took)
            self.assertIn('"msg":"stopped"', leaving.log_text())
            for j in jobs:  # taken over at once (leases handed over), not after they ran out
                self.assertEqual(wait_job(self.vs[0].url, key, j, timeout=20)["status"], "completed")
            self.assertEqual(balance(self.vs[0].url, key), {"balance_cents": 60, "currency": "usd", "reserved_cents": 0})
            posts = [c for c in call("GET", self.fake_url + "/_calls")[2]["calls"] if c["method"] == "POST" and "handover" in (c.get("body") or "")]
            self.assertEqual(len(posts), 4, "the survivor resumed the upstream requests instead of sending them again")
        finally:
            call("POST", self.fake_url + "/_control", body={"mode": "ok"})
            leaving.cleanup()


CATALOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "gen", "catalog.json")


def metric(url, name, **labels):
    text = urllib_text(url + "/metrics")
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^(\w+)\{([^}]*)\} (\S+)$", line)
        if m and m.group(1) == name and ",".join(sorted(m.group(2).split(","))) == want:
            return float(m.group(3))
    raise AssertionError("no metric %s{%s}" % (name, want))


def urllib_text(url):
    return call("GET", url)[2].decode()


class ProviderOutage(unittest.TestCase):
    """fal goes down: after 3 consecutive outages its breaker opens; flux-pro (fallback: a
    Higgsfield model at the same 10 credits) moves there, flux-dev (fallback at another price) fails
    fast with 502 + Retry-After and reaches nobody; after the open period one probe passes and closes it."""

    @classmethod
    def setUpClass(cls):
        cls.fal, cls.fal_url = start_fake()
        cls.hf, cls.hf_url = start_fake()
        cls.v = None
        try:
            with open(CATALOG) as f:
                doc = json.load(f)
            soul = next(m for m in doc["models"] if m["id"] == "soul")
            doc["models"].append(dict(soul, id="soul-at-10", credits=10))
            for m in doc["models"]:
                if m["id"] == "flux-pro":
                    m["fallback"] = "soul-at-10"
                if m["id"] == "flux-dev":
                    m["fallback"] = "soul"  # 15 credits, not 8: never taken
            fd, cls.catalog = tempfile.mkstemp(suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f)
            cls.v = Vargd(["--allow-private-provider-urls", "1", "--provider-poll-ms", "50",
                           "--fal-url", cls.fal_url, "--fal-key", "pooled_fal", "--higgsfield-url", cls.hf_url,
                           "--higgsfield-key", "hf_id:hf_secret", "--breaker-failures", "3", "--breaker-open-ms", "3000",
                           "--catalog", cls.catalog])
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.v:
            cls.v.cleanup()
        if getattr(cls, "catalog", None):
            os.unlink(cls.catalog)
        for p in (cls.fal, cls.hf):
            p.kill()
            p.wait()

    def test_breaker_opens_fails_fast_falls_back_at_the_same_price_and_closes(self):
        key = self.v.user("outage@example.com", 1000)
        call("POST", self.fal_url + "/_control", body={"mode": "error500"})
        for i in range(3):
            s, _, j = call("POST", self.v.url + "/v1/image", key, {"model": "flux-dev", "prompt": "down %d" % i})
            self.assertEqual(s, 202, j)
            self.assertEqual(wait_job(self.v.url, key, j["job_id"], timeout=60)["status"], "failed")
        self.assertEqual(metric(self.v.url, "varg_provider_breaker_state", provider="fal", state="open"), 1)
        self.assertEqual(metric(self.v.url, "varg_provider_calls_total", provider="fal", outcome="outage"), 3)
        calls_before = len(call("GET", self.fal_url + "/_calls")[2]["calls"])

        # Open: flux-dev fails fast (its fallback costs more), in the gateway dialect, with Retry-After.
        s, h, e = call("POST", self.v.url + "/v1/image", key, {"model": "flux-dev", "prompt": "fast"})
        self.assertEqual(s, 502, e)
        self.assertEqual(e["error"]["code"], "provider_error")
        self.assertEqual(e["provider"], "fal")
        self.assertTrue(1 <= int(h["Retry-After"]) <= 3, h)
        self.assertEqual(len(call("GET", self.fal_url + "/_calls")[2]["calls"]), calls_before, "an open breaker sent nothing")
        self.assertEqual(balance(self.v.url, key)["balance_cents"], 1000, "failed and refused requests cost nothing")

        # flux-pro goes to its fallback, at the quoted 10 credits, and says which model ran.
        s, _, j = call("POST", self.v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "elsewhere"})
        self.assertEqual(s, 202, j)
        done = wait_job(self.v.url, key, j["job_id"], timeout=30)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["model"], "higgsfield:soul-at-10", done)
        self.assertEqual(done["billing"]["cost_cents"], 10, done)
        self.assertEqual(balance(self.v.url, key)["balance_cents"], 990)
        self.assertEqual(metric(self.v.url, "varg_provider_fallbacks_total", provider="fal"), 1)
        self.assertGreaterEqual(metric(self.v.url, "varg_provider_breaker_rejected_total", provider="fal"), 2)

        # After the open period one probe passes; fal is back, so it closes.
        call("POST", self.fal_url + "/_control", body={"mode": "ok"})
        time.sleep(3.1)
        s, _, j = call("POST", self.v.url + "/v1/image", key, {"model": "flux-dev", "prompt": "probe"})
        self.assertEqual(s, 202, j)
        s2, _, e2 = call("POST", self.v.url + "/v1/image", key, {"model": "flux-dev", "prompt": "behind the probe"})
        self.assertEqual(s2, 502, "one probe at a time while half-open: %s" % e2)
        self.assertEqual(wait_job(self.v.url, key, j["job_id"], timeout=30)["status"], "completed")
        self.assertEqual(metric(self.v.url, "varg_provider_breaker_state", provider="fal", state="closed"), 1)
        s, _, j = call("POST", self.v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "home again"})
        self.assertEqual(wait_job(self.v.url, key, j["job_id"])["model"], "fal:flux-pro")


def sqlite_rows(path, query, args=()):
    with sqlite3.connect(path) as db:
        return db.execute(query, args).fetchall()


class SqliteOperations(unittest.TestCase):
    """One vargd on SQLite: SIGTERM lets running jobs finish; backup under load, verify, restore;
    the schema-version rule of rolling upgrades."""

    @classmethod
    def setUpClass(cls):
        cls.fake, cls.fake_url = start_fake()
        cls.flags = ["--allow-private-provider-urls", "1", "--provider-poll-ms", "50", "--fal-url", cls.fake_url,
                     "--fal-key", "pooled_fal", "--rate-limit-rpm", "0", "--max-active-jobs", "0"]

    @classmethod
    def tearDownClass(cls):
        cls.fake.kill()
        cls.fake.wait()

    def setUp(self):
        call("POST", self.fake_url + "/_control", body={"mode": "ok"})

    def test_sigterm_lets_running_jobs_finish_within_the_drain(self):
        v = Vargd(self.flags + ["--job-drain-ms", "8000"])
        try:
            key = v.user("drain@example.com", 100)
            call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 1.5})
            jobs = [call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "drain %d" % i})[2]["job_id"] for i in range(3)]
            time.sleep(0.3)
            v.proc.send_signal(signal.SIGTERM)
            v.proc.wait(timeout=15)
            self.assertEqual(v.proc.returncode, 0)
            rows = sqlite_rows(v.dir + "/data/varg.db", "SELECT status FROM jobs WHERE id IN (?, ?, ?)", jobs)
            self.assertEqual(sorted(r[0] for r in rows), ["completed"] * 3, "finished before the process exited")
            self.assertEqual(sqlite_rows(v.dir + "/data/varg.db", "SELECT COUNT(*) FROM holds"), [(0,)])
            log = v.log_text()
            self.assertIn('"msg":"stopped"', log.splitlines()[-1], "the log's last line was flushed")
        finally:
            v.cleanup()

    def test_backup_under_load_verify_damage_and_restore(self):
        v = Vargd(self.flags)
        backup = tempfile.mkdtemp(prefix="varg-backup-") + "/b1"
        target = None
        try:
            keys = [v.user("bk%d@example.com" % i, 500) for i in range(4)]
            stop_at = time.time() + 4
            statuses = []

            def client(i):
                while time.time() < stop_at:
                    statuses.append(call("POST", v.url + "/v1/image", keys[i], {"model": "flux-pro", "prompt": "bk %d %f" % (i, time.time())},
                                         {"Cache-Control": "no-store"})[0])

            threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            out = v.admin("backup", backup)
            for t in threads:
                t.join()
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("Backup written", out.stdout)
            self.assertGreater(statuses.count(202), 10, statuses)
            self.assertEqual(v.admin("backup", backup).returncode, 1, "a backup never overwrites another")
            for k in keys:
                b = balance(v.url, k)
                end = time.time() + 20
                while b["reserved_cents"] and time.time() < end:
                    time.sleep(0.2)
                    b = balance(v.url, k)
            out = v.admin("verify")
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertIn("OK:", out.stdout)

            # The backup verifies on its own (it is laid out as a data directory).
            out = subprocess.run([VARGD, "admin", "verify", "--data-dir", backup], capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            copied = sqlite_rows(backup + "/varg.db", "SELECT COUNT(*) FROM ledger")[0][0]
            self.assertGreater(copied, 4)

            # Restore into a new data directory: refused while a vargd serves it, then it serves the backup.
            target = Vargd(self.flags)
            out = target.admin("restore", backup)
            self.assertEqual(out.returncode, 1)
            self.assertIn("stop it before restoring", out.stderr)
            target.stop()
            out = target.admin("restore", backup)
            self.assertEqual(out.returncode, 0, out.stderr)
            target.proc.stdout.close()
            target.log.close()
            target.start()
            settled = dict(sqlite_rows(backup + "/varg.db", "SELECT u.email, a.settled - a.reserved FROM accounts a JOIN users u ON u.id = a.user_id"))
            self.assertEqual(balance(target.url, keys[0])["balance_cents"], settled["bk0@example.com"], "the key works: the secret came along")
            s, _, jobs = call("GET", target.url + "/v1/jobs?limit=1", keys[1])
            self.assertEqual(s, 200, jobs)
            done = [j for j in jobs["jobs"] if j["status"] == "completed"]
            if done:
                s, _, _ = call("GET", done[0]["output"]["url"])
                self.assertEqual(s, 200, "a result file of the backup is served")
            self.assertEqual(target.admin("verify").returncode, 0)

            # Damage the backup: verify names each problem and fails.
            sqlite_rows(backup + "/varg.db", "UPDATE accounts SET settled = settled + 5 WHERE user_id = 1")
            blob = next(os.path.join(d, f) for d, _, fs in os.walk(backup + "/blobs") for f in fs)
            os.unlink(blob)
            out = subprocess.run([VARGD, "admin", "verify", "--data-dir", backup], capture_output=True, text=True)
            self.assertEqual(out.returncode, 1, out.stdout)
            self.assertRegex(out.stdout, r"PROBLEM: account 1: balance \d+ is not the sum of its ledger entries")
            self.assertIn("missing from", out.stdout)
            out = target.admin("restore", backup)  # its database no longer matches backup.json
            self.assertEqual(out.returncode, 1)
        finally:
            v.cleanup()
            if target:
                target.cleanup()
            shutil.rmtree(os.path.dirname(backup), ignore_errors=True)

    def test_a_full_disk_is_507_and_everything_comes_back_with_space(self):
        mnt = tempfile.mkdtemp(prefix="varg-full-")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", mnt], capture_output=True, text=True)
        self.assertEqual(mounted.returncode, 0, "the disk-full test mounts a small tmpfs and needs root: %s" % mounted.stderr)
        v = None
        try:
            v = Vargd(self.flags, data=mnt + "/data")
            key = v.user("full@example.com", 100)
            j = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "before"})[2]
            self.assertEqual(wait_job(v.url, key, j["job_id"])["status"], "completed")
            call("POST", self.fake_url + "/_control", body={"mode": "slow_job", "delay": 1.5})
            s, _, inflight = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "in flight"})
            self.assertEqual(s, 202, inflight)

            filler = mnt + "/filler"
            with open(filler, "wb", buffering=0) as f:  # every byte of the disk, down to the last 512
                for chunk in (1 << 20, 4096, 512):
                    try:
                        while True:
                            f.write(b"\0" * chunk)
                    except OSError:
                        pass
            upload = os.urandom(64 << 10)
            s, h, e = call("POST", v.url + "/v1/files", key, raw=upload, headers={"Content-Type": "application/octet-stream"})
            self.assertEqual(s, 507, e)
            self.assertEqual(e["error"]["code"], "insufficient_storage")
            self.assertEqual(e["statusCode"], 507)
            self.assertIn("Retry-After", h)
            s, h, e = call("POST", v.url + "/api/auth/cli/send-otp", body={"email": "full@example.com"})
            self.assertEqual(s, 507, e)  # the login code cannot be kept or mailed: said so, in the app dialect
            self.assertEqual((e["code"], e["statusCode"]), ("insufficient_storage", 507))
            self.assertEqual(call("GET", v.url + "/v1/balance", key)[0], 200, "reads go on")
            s, h, e = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "while full"}, {"Cache-Control": "no-store"})
            self.assertIn(s, (202, 507), e)  # the WAL may still have room for the admission; the result then waits
            late = e["job_id"] if s == 202 else None
            time.sleep(2.5)  # the in-flight result arrived meanwhile and could not be stored yet
            self.assertIsNone(v.proc.poll(), "vargd is still running")
            os.unlink(filler)

            self.assertEqual(wait_job(v.url, key, inflight["job_id"], timeout=30)["status"], "completed",
                             "the result in hand was stored once there was room")
            self.assertIn("cannot write a job's outcome yet", v.log_text(), "the in-flight result met the full disk")
            if late:
                wait_job(v.url, key, late, timeout=30)
            call("POST", self.fake_url + "/_control", body={"mode": "ok"})
            s, _, j = call("POST", v.url + "/v1/files", key, raw=upload, headers={"Content-Type": "application/octet-stream"})
            self.assertIn(s, (200, 201), j)
            s, _, j = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "after"})
            self.assertEqual(wait_job(v.url, key, j["job_id"])["status"], "completed")
            out = v.admin("verify")
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            leftovers = [f for _, _, fs in os.walk(mnt) for f in fs if ".tmp" in f]
            self.assertEqual(leftovers, [], "no half-written file stayed behind")
            charged = 10 * (3 + (1 if late else 0))
            self.assertEqual(balance(v.url, key), {"balance_cents": 100 - charged, "currency": "usd", "reserved_cents": 0})
        finally:
            if v:
                v.cleanup()
            subprocess.run(["umount", "-l", mnt])
            os.rmdir(mnt)

    def test_a_schema_one_version_ahead_is_served_two_are_refused(self):
        v = Vargd(self.flags)
        try:
            key = v.user("schema@example.com", 10)
            v.stop()
            db = v.dir + "/data/varg.db"
            latest = sqlite_rows(db, "SELECT MAX(version) FROM schema_migrations")[0][0]
            sqlite_rows(db, "INSERT INTO schema_migrations(version, applied_at) VALUES(?, 0)", (latest + 1,))
            v.proc.stdout.close()
            v.log.close()
            v.start()  # the next release migrated first: this one still serves
            self.assertEqual(balance(v.url, key)["balance_cents"], 10)
            v.stop()
            sqlite_rows(db, "INSERT INTO schema_migrations(version, applied_at) VALUES(?, 0)", (latest + 2,))
            out = subprocess.run([VARGD, "--listen", "127.0.0.1:0", "--data-dir", v.dir + "/data"], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("by more than one: upgrade vargd", out.stderr)
        finally:
            v.cleanup()


if __name__ == "__main__":
    import sys
    unittest.main(argv=[sys.argv[0], "-v"])
