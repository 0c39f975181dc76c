"""Issue 20's regression tests (the money and jobs core), each named after the finding it proves
fixed, run against the real vargd over loopback with the fake upstreams.
   (c) idempotency records are scoped to (account, API key, route) and never hold a secret."""
import os, sqlite3, stat, sys, time, unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import KEY_RE, Vargd, call


class Money(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v = Vargd()
        cls.u = cls.v.url

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()

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


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
