"""Shared harness for varg's end-to-end tests: the real vargd and the fake upstreams, started as
real processes on loopback in a temp dir, spoken to over real HTTP (stdlib only)."""
import glob, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, unittest, urllib.error, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
VARGD = os.environ.get("VARGD") or (sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "vargd")
KEY_RE = re.compile(r"varg_[0-9A-Za-z]{38}")


def start_fake(args=()):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "fakes", "fake_upstream.py"), "0", *args],
                         stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().split()[1])
    p.stdout.close()
    return p, "http://127.0.0.1:%d" % port


class Vargd:
    """One vargd process with its own data directory; restartable on the same data."""

    def __init__(self, extra=(), env=None, prefix=(), data=None):
        self.dir = tempfile.mkdtemp(prefix="varg-e2e-")
        self.data = data or self.dir + "/data"
        self.extra, self.env, self.prefix, self.proc = list(extra), env, list(prefix), None
        self.start()

    def start(self):
        env = dict(os.environ)
        env.pop("FAL_KEY", None)
        env.update(self.env or {})
        self.log = open(os.path.join(self.dir, "vargd.log"), "ab")
        self.proc = subprocess.Popen(self.prefix + [VARGD, "--listen", "127.0.0.1:0", "--data-dir", self.data] + self.extra,
                                     cwd=self.dir, stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            raise RuntimeError("vargd did not start: %r" % line)
        self.url = "http://127.0.0.1:%s" % m.group(1)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        self.proc.stdout.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def admin(self, *args):
        env = dict(os.environ)
        env.update(self.env or {})
        return subprocess.run([VARGD, "admin", *args, "--data-dir", self.data], cwd=self.dir,
                              capture_output=True, text=True, env=env)

    def user(self, email, credits):
        out = self.admin("create-user", "--email", email, "--credits", str(credits))
        return KEY_RE.search(out.stdout).group(0)

    def log_text(self):
        with open(os.path.join(self.dir, "vargd.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")


def call(method, url, key=None, body=None, headers=None, raw=None):
    """(status, headers, parsed JSON or raw bytes). Never raises on HTTP errors."""
    h = dict(headers or {})
    if key:
        h["Authorization"] = "Bearer " + key
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, hdrs, payload = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, payload = e.code, dict(e.headers), e.read()
    try:
        return status, hdrs, json.loads(payload) if payload else None
    except ValueError:
        return status, hdrs, payload


def wait_job(base, key, job_id, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        s, _, j = call("GET", "%s/v1/jobs/%s" % (base, job_id), key)
        if s == 200 and j["status"] in ("completed", "failed", "cancelled"):
            return j
        time.sleep(0.05)
    raise AssertionError("job %s did not finish in %d s" % (job_id, timeout))


def balance(base, key):
    return call("GET", base + "/v1/balance", key)[2]


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
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "varg", "varg")
        self.url = "postgresql://varg@127.0.0.1:%d/varg" % self.port

    def start(self):
        self.run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/server.log", "-w", "start", "-o",
                 "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" % (self.port, self.dir))

    def halt(self, mode="fast"):
        """pg_ctl stop: 'fast' ends every session (a planned restart), 'immediate' is a crash."""
        self.run("pg_ctl", "-D", self.dir + "/data", "-m", mode, "-w", "stop")

    def run(self, tool, *args):
        subprocess.run(self.as_pg + [os.path.join(self.bin, tool), *args], cwd=self.dir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(self, query):
        out = subprocess.run(self.as_pg + [os.path.join(self.bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "varg",
                                           "-d", "varg", "-Atc", query], cwd=self.dir, check=True, capture_output=True, text=True)
        return [line.split("|") for line in out.stdout.splitlines() if line]

    LIVE_JOBS = "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'processing')"

    def live_jobs(self):
        """Jobs still queued or processing: [] when none, else their state (for a failure's message)."""
        if self.sql(self.LIVE_JOBS) == [["0"]]:
            return []
        return self.sql("SELECT id, status, lease_owner, lease_until - (EXTRACT(EPOCH FROM now()) * 1000)::bigint, leader, "
                        "upstream_id, reservation FROM jobs WHERE status IN ('queued', 'processing') LIMIT 10")

    def wait_no_live_jobs(self, timeout):
        end = time.time() + timeout
        while time.time() < end and self.live_jobs():
            time.sleep(0.5)
        return self.live_jobs()

    def stop(self):
        try:
            self.run("pg_ctl", "-D", self.dir + "/data", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class SharedDatabase(unittest.TestCase):
    """A class of tests on several vargd instances sharing one throwaway PostgreSQL and one fake
    provider: every vargd and `vargd admin` of the class uses the same database and secret."""
    INSTANCES = 2
    EXTRA_FLAGS = ()
    SECRET = "5e" * 32  # so key hashes and sealed keys match across instances

    @classmethod
    def setUpClass(cls):
        cls.pg, cls.fake, cls.vs = None, None, []
        try:
            cls.pg = Postgres()
            os.environ["VARGD_DATABASE"] = cls.pg.url
            os.environ["VARGD_SECRET"] = cls.SECRET
            cls.fake, cls.fake_url = start_fake()
            cls.flags = ["--allow-private-urls", "1", "--allow-private-provider-urls", "1", "--provider-poll-ms", "50",
                         "--fal-url", cls.fake_url, "--fal-key", "pooled_fal_key", *cls.EXTRA_FLAGS]
            cls.vs = [Vargd(cls.flags) for _ in range(cls.INSTANCES)]
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
        os.environ.pop("VARGD_DATABASE", None)
        os.environ.pop("VARGD_SECRET", None)
