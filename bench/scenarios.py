#!/usr/bin/env python3
"""Runs the benchmark scenarios S1..S5 of issue 9 for vargd and its baselines in one run, on loopback,
and writes docs/benchmarks.md and bench/results/<date>.json. Called by bench/run, which installs the
tools and builds the binaries; see bench/run for the knobs (BENCH_SECONDS, BENCH_REPS, ...).

Every load is wrk with bench/wrk/load.lua: bounded in time (-d) and in requests (BENCH_MAX per
thread). Each configuration gets a warm-up run first; repetitions are interleaved across targets so
that noise from other work on a shared machine spreads evenly; the report takes medians."""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LOAD_LUA = os.path.join(HERE, "wrk", "load.lua")
KEY_RE = re.compile(r"varg_[0-9A-Za-z]{38}")

# A 1x1 PNG: what the fake fal hands out as the generated image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478"
    "9c63f8cfc0f01f0005000201ffa1e5e1b20000000049454e44ae426082")

CHAT_BODY = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
CHAT_ANSWER = ('{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",'
               '"choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],'
               '"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}')


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.005)
    return False


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def fdatasync_us(directory, n=300):
    """p50 and p99 of one 4 KiB append made durable (fdatasync) on the file system of `directory`."""
    path = os.path.join(directory, "fdatasync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    ts = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            ts.append((time.perf_counter() - t0) * 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    ts.sort()
    return {"p50_us": ts[n // 2], "p99_us": ts[int(n * 0.99)], "samples": n}


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Procs:
    """Everything this run started, stopped by pid at the end (never by name)."""

    def __init__(self):
        self.procs = []

    def start(self, args, log_path, env=None, cwd=None):
        out = open(log_path, "ab")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)


def nginx_conf(tmp, name, port, servers, workers=2):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    conf = """worker_processes %d; daemon off; pid %s/nginx.pid; error_log %s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; default_type application/json; keepalive_requests 10000000; keepalive_timeout 120s;
  types { image/png png; application/json json; }
  client_body_temp_path %s/body; proxy_temp_path %s/proxy; fastcgi_temp_path %s/fcgi;
  uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;
  %s
}
""" % (workers, d, d, d, d, d, d, d, servers.replace("@PORT@", str(port)))
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return d, path


def run_wrk(url, conns, seconds, headers=(), method="GET", body="", seq="", max_requests=1000000):
    env = dict(os.environ, BENCH_METHOD=method, BENCH_BODY=body, BENCH_SEQ=seq, BENCH_MAX=str(max_requests))
    args = ["wrk", "-t1", "-c%d" % conns, "-d%gs" % seconds, "--timeout", "5s", "-s", LOAD_LUA]
    for h in headers:
        args += ["-H", h]
    args.append(url)
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=seconds + 30).stdout
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError("wrk gave no result for %s: %s" % (url, out[-500:]))
    r = json.loads(lines[-1])
    r["rps"] = r["requests"] / r["seconds"] if r["seconds"] else 0.0
    return r


def wrk_command(t, conns, seconds):
    """The command line that reproduces one measurement (for the report)."""
    env = "BENCH_METHOD=%s " % t["method"] if t["method"] != "GET" else ""
    if t.get("seq"):
        env += "BENCH_SEQ='%s' " % t["seq"]
    if t.get("body"):
        env += "BENCH_BODY='%s' " % t["body"]
    hs = " ".join("-H '%s'" % (h if not h.startswith("Authorization: Bearer varg_") else "Authorization: Bearer $KEY")
                  for h in t.get("shown_headers", t.get("headers", ())))
    return "%swrk -t1 -c%d -d%gs -s bench/wrk/load.lua %s %s" % (env, conns, seconds, hs, t["url_shown"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vargd", required=True)
    ap.add_argument("--bench-bin", required=True, help="directory with varg_bench_hot and varg_bench_ledger")
    ap.add_argument("--portkey", default="", help="path of @portkey-ai/gateway's build/start-server.js")
    ap.add_argument("--postgres-url", default="", help="PostgreSQL URL for the S4 ledger run (optional)")
    ap.add_argument("--postgres-vargd-url", default="", help="PostgreSQL database for a second vargd: S1-S3 (optional)")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--max-requests", type=int, default=1000000)  # above nginx's rate: time bounds the loads
    ap.add_argument("--out-md", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--profile", default="1")
    ap.add_argument("--source", default="", help="what was built (commit), for the report")
    ap.add_argument("--from-json", default="", help="only rewrite the report from an earlier run's JSON")
    a = ap.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            res = json.load(f)
        for s in ("S1", "S2", "S3"):
            res[s] = {int(k): v for k, v in res[s].items()}
            if s in res.get("PG", {}):
                res["PG"][s] = {int(k): v for k, v in res["PG"][s].items()}
        if "S2_tmpfs" in res:
            res["S2_tmpfs"] = {int(k): v for k, v in res["S2_tmpfs"].items()}
        write_outputs(a, res)
        return

    started = time.time()
    tmp = tempfile.mkdtemp(prefix="varg-bench-")
    os.chmod(tmp, 0o755)  # nginx workers (nobody, when started as root) serve files from here
    procs = Procs()
    try:
        results = run_all(a, tmp, procs)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    results["meta"]["wall_seconds"] = round(time.time() - started, 1)
    write_outputs(a, results)


def run_all(a, tmp, procs):
    seconds, reps = a.seconds, a.reps
    meta = machine_meta(a)
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "bench.png"), "wb") as f:
        f.write(PNG)

    # ---- the fake upstream: nginx answering fal's queue API and an OpenAI chat call at once ----
    fp = free_port()
    fake_base = "http://127.0.0.1:%d" % fp
    fake_servers = """server { listen 127.0.0.1:@PORT@;
    location = /fal-ai/flux-pro/v1.1 { return 200 '{"request_id":"bench","response_url":"%(b)s/fal-ai/flux-pro/requests/bench","status_url":"%(b)s/fal-ai/flux-pro/requests/bench/status","cancel_url":"%(b)s/fal-ai/flux-pro/requests/bench/cancel"}'; }
    location = /fal-ai/flux-pro/requests/bench/status { return 200 '{"status":"COMPLETED","request_id":"bench"}'; }
    location = /fal-ai/flux-pro/requests/bench { return 200 '{"images":[{"url":"%(b)s/media/bench.png","content_type":"image/png"}]}'; }
    location /media/ { alias %(www)s/; }
    location = /v1/chat/completions { return 200 '%(chat)s'; }
  }""" % {"b": fake_base, "www": www, "chat": CHAT_ANSWER}
    fd, fconf = nginx_conf(tmp, "fake", fp, fake_servers)
    procs.start(["nginx", "-p", fd, "-c", fconf], os.path.join(fd, "out.log"))
    if not wait_port(fp):
        raise RuntimeError("fake upstream nginx did not start")

    # ---- the baseline nginx: static answers, a static file, and proxy_pass to the fake ----
    np_ = free_port()
    base_servers = """upstream fake { server 127.0.0.1:%(fp)d; keepalive 64; }
  server { listen 127.0.0.1:@PORT@;
    location = /balance { return 200 '{"balance_cents":1}'; }
    location /static/ { alias %(www)s/; }
    location = /v1/chat/completions { proxy_pass http://fake; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }""" % {"fp": fp, "www": www}
    nd, nconf = nginx_conf(tmp, "baseline", np_, base_servers)
    t0 = time.perf_counter()
    nginx = procs.start(["nginx", "-p", nd, "-c", nconf], os.path.join(nd, "out.log"))
    if not wait_port(np_):
        raise RuntimeError("baseline nginx did not start")
    nginx_start_ms = (time.perf_counter() - t0) * 1000
    time.sleep(0.3)
    nginx_pids = [nginx.pid] + children(nginx.pid)

    # ---- the Portkey gateway (node), custom host pointed at the fake ----
    portkey = None
    pp = free_port()
    if a.portkey and shutil.which("node"):
        env = dict(os.environ, NODE_ENV="production")
        portkey = procs.start(["node", a.portkey, "--port=%d" % pp, "--headless"], os.path.join(tmp, "portkey.log"), env=env)
        if not wait_port(pp, 30):
            log("Portkey did not start; its rows stay empty (see %s)" % os.path.join(tmp, "portkey.log"))
            portkey = None
    else:
        log("Portkey gateway not available; its rows stay empty")

    # ---- vargd ----
    vdir = os.path.join(tmp, "vargd")
    os.makedirs(vdir)
    data = os.path.join(vdir, "data")
    out = subprocess.run([a.vargd, "admin", "create-user", "--email", "bench@example.com", "--credits", "100000000",
                          "--data-dir", data], capture_output=True, text=True, cwd=vdir)
    m = KEY_RE.search(out.stdout + out.stderr)
    if not m:
        raise RuntimeError("could not create a user: " + out.stdout + out.stderr)
    key = m.group(0)
    # --max-active-jobs: c=32 metered misses are 32 live jobs of one account, above the default cap of 20.
    vargd_args = [a.vargd, "--listen", "127.0.0.1:0", "--data-dir", data, "--max-active-jobs", "1000", "--fal-url", fake_base, "--fal-key",
                  "bench-key", "--allow-private-urls", "1", "--allow-private-provider-urls", "1", "--provider-poll-ms", "10"]
    helptext = subprocess.run([a.vargd, "--help"], capture_output=True, text=True).stdout
    if "--rate-limit-rpm" in helptext:
        vargd_args += ["--rate-limit-rpm", "10000000"]  # the limiter runs, but never refuses a benchmark call
    startups = []
    vargd = vport = None
    for i in range(5):  # start-up time: spawn → "listening" line, and → first /healthz answer
        vlog = os.path.join(vdir, "stdout-%d.log" % i)
        t0 = time.perf_counter()
        p = procs.start(vargd_args, vlog, cwd=vdir)
        line = ""
        while time.perf_counter() - t0 < 15 and "listening on" not in line:
            time.sleep(0.001)
            with open(vlog, errors="replace") as f:
                line = f.read()
        listen_ms = (time.perf_counter() - t0) * 1000
        mm = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if not mm:
            raise RuntimeError("vargd did not start: " + line[-500:])
        port = int(mm.group(1))
        while True:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2).read()
                break
            except Exception:
                if time.perf_counter() - t0 > 15:
                    raise
                time.sleep(0.001)
        startups.append({"listening_ms": listen_ms, "healthz_ms": (time.perf_counter() - t0) * 1000})
        if i < 4:
            procs.stop(p)
        else:
            vargd, vport = p, port
    vbase = "http://127.0.0.1:%d" % vport
    time.sleep(1)
    rss = {"vargd_idle_kib": rss_kib([vargd.pid]), "nginx_idle_kib": rss_kib(nginx_pids)}
    if portkey:
        rss["portkey_idle_kib"] = rss_kib([portkey.pid])

    auth = "Authorization: Bearer " + key
    img_body = '{"model":"flux-pro","prompt":"a red fox in the snow"}'
    gen_headers = [auth, "Content-Type: application/json", "Prefer: wait", "Cache-Control: no-store"]
    fal_seq = ("POST /fal-ai/flux-pro/v1.1;GET /fal-ai/flux-pro/requests/bench/status;"
               "GET /fal-ai/flux-pro/requests/bench;GET /media/bench.png")

    # A first metered call proves the path works end to end (and warms the provider connection).
    req = urllib.request.Request(vbase + "/v1/image", data=img_body.encode(), method="POST",
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json",
                                          "Prefer": "wait", "Cache-Control": "no-store"})
    first = json.loads(urllib.request.urlopen(req, timeout=30).read())
    if first.get("status") != "completed":
        raise RuntimeError("a metered generation did not complete: %r" % first)
    # The cached result for S3: one call without no-store fills the cache, later ones hit it.
    hit_body = '{"model":"flux-pro","prompt":"a cached red fox"}'
    req = urllib.request.Request(vbase + "/v1/image", data=hit_body.encode(), method="POST",
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json",
                                          "Prefer": "wait"})
    filled = json.loads(urllib.request.urlopen(req, timeout=30).read())
    file_url = filled["output"]["url"]
    file_path = re.sub(r"^https?://[^/]+", "", file_url)
    req = urllib.request.Request(vbase + "/v1/image", data=hit_body.encode(), method="POST",
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    hit = json.loads(urllib.request.urlopen(req, timeout=30).read())
    if hit.get("status") != "completed" or not hit.get("cache", {}).get("hit"):
        log("warning: the second call was not answered from the cache: %r" % hit)
    with open(os.path.join(www, "hit.json"), "w") as f:
        f.write(json.dumps(hit))

    def T(name, url, shown, **kw):
        t = {"name": name, "url": url, "url_shown": shown, "method": "GET", "headers": [], "body": "", "seq": ""}
        t.update(kw)
        return t

    targets = {
        "vargd_balance": T("vargd GET /v1/balance", vbase + "/v1/balance", "http://127.0.0.1:$VARGD/v1/balance",
                           headers=[auth]),
        "nginx_static200": T("nginx return 200", "http://127.0.0.1:%d/balance" % np_, "http://127.0.0.1:$NGINX/balance"),
        "vargd_metered": T("vargd metered miss", vbase + "/v1/image", "http://127.0.0.1:$VARGD/v1/image",
                           method="POST", headers=gen_headers, body=img_body),
        "direct_fal_seq": T("fal calls direct to the fake", fake_base + "/", "http://127.0.0.1:$FAKE/", method="POST",
                            headers=["Authorization: Key bench-key", "Content-Type: application/json"], body="{}",
                            seq=fal_seq),
        "direct_chat": T("chat call direct to the fake", fake_base + "/v1/chat/completions",
                         "http://127.0.0.1:$FAKE/v1/chat/completions", method="POST",
                         headers=["Content-Type: application/json", "Authorization: Bearer sk-bench"], body=CHAT_BODY),
        "nginx_proxy": T("nginx proxy_pass", "http://127.0.0.1:%d/v1/chat/completions" % np_,
                         "http://127.0.0.1:$NGINX/v1/chat/completions", method="POST",
                         headers=["Content-Type: application/json", "Authorization: Bearer sk-bench"], body=CHAT_BODY),
        "vargd_cache_hit": T("vargd cache hit", vbase + "/v1/image", "http://127.0.0.1:$VARGD/v1/image", method="POST",
                             headers=[auth, "Content-Type: application/json"], body=hit_body),
        "vargd_file": T("vargd GET result file", vbase + file_path, "http://127.0.0.1:$VARGD" + file_path),
        "nginx_static_json": T("nginx static file (hit.json)", "http://127.0.0.1:%d/static/hit.json" % np_,
                               "http://127.0.0.1:$NGINX/static/hit.json"),
        "nginx_static_png": T("nginx static file (png)", "http://127.0.0.1:%d/static/bench.png" % np_,
                              "http://127.0.0.1:$NGINX/static/bench.png"),
    }
    if portkey:
        targets["portkey"] = T("Portkey gateway", "http://127.0.0.1:%d/v1/chat/completions" % pp,
                               "http://127.0.0.1:$PORTKEY/v1/chat/completions", method="POST",
                               headers=["Content-Type: application/json", "Authorization: Bearer sk-bench",
                                        "x-portkey-provider: openai",
                                        "x-portkey-custom-host: %s/v1" % fake_base], body=CHAT_BODY)
        targets["portkey"]["shown_headers"] = [h.replace(fake_base, "http://127.0.0.1:$FAKE")
                                               for h in targets["portkey"]["headers"]]

    def measure(group, names, conns, after=None):
        names = [n for n in names if n in targets]
        runs = {n: [] for n in names}
        for n in names:  # warm-up
            t = targets[n]
            run_wrk(t["url"], conns, a.warmup, t["headers"], t["method"], t["body"], t["seq"], a.max_requests)
        for _ in range(reps):
            for n in names:
                t = targets[n]
                runs[n].append(run_wrk(t["url"], conns, seconds, t["headers"], t["method"], t["body"], t["seq"],
                                       a.max_requests))
        out = {}
        for n in names:
            rs = runs[n]
            out[n] = {
                "rps": statistics.median(r["rps"] for r in rs),
                "p50_us": statistics.median(r["p50_us"] for r in rs),
                "p99_us": statistics.median(r["p99_us"] for r in rs),
                "non2xx": sum(r["non2xx"] for r in rs),
                "socket_errors": sum(r["socket_errors"] for r in rs),
                "reps": rs,
                "command": wrk_command(targets[n], conns, seconds),
            }
            log("%s c=%d %-34s %9.0f rps  p50 %7d us  p99 %7d us  non2xx %d" % (
                group, conns, targets[n]["name"], out[n]["rps"], out[n]["p50_us"], out[n]["p99_us"], out[n]["non2xx"]))
        if after:
            after()
        return out

    res = {"meta": meta, "startup": startups, "nginx_start_ms": nginx_start_ms}
    load_rss = {}

    def sample(label):
        def f():
            load_rss[label] = max(load_rss.get(label, 0), rss_kib([vargd.pid]))
        return f

    log("S1: authenticated GET /v1/balance vs nginx static 200")
    res["S1"] = {c: measure("S1", ["vargd_balance", "nginx_static200"], c, sample("vargd_after_S1_kib")) for c in (1, 32)}

    profile_text = ""
    if a.profile == "1" and shutil.which("perf"):
        profile_text = profile(vargd.pid, targets["vargd_balance"], tmp, "S1 GET /v1/balance c=32")

    log("S2: metered generation through vargd vs the same upstream calls direct; nginx and Portkey as peers")
    s2_names = ["vargd_metered", "direct_fal_seq", "direct_chat", "nginx_proxy", "portkey"]

    def s2_sample():
        sample("vargd_after_S2_kib")()
        if portkey:
            load_rss["portkey_under_S2_kib"] = max(load_rss.get("portkey_under_S2_kib", 0), rss_kib([portkey.pid]))
        load_rss["nginx_under_S2_kib"] = max(load_rss.get("nginx_under_S2_kib", 0), rss_kib(nginx_pids))
    res["S2"] = {c: measure("S2", s2_names, c, s2_sample) for c in (1, 32)}

    # What the disk costs S2: a metered miss makes two durable syncs on its reply path (the
    # admission's commit and the completion's; the fake's image is the same bytes every time, so
    # its blob is stored once), so fdatasync on the data dir's disk is measured here, and the same load is run on a second vargd whose data dir is on tmpfs
    # (syncs cost nothing there): what vargd adds apart from its disk.
    res["S2_sync"] = dict(fdatasync_us(data), path=data)
    log("S2: fdatasync on the data dir's disk p50 %d us p99 %d us" % (res["S2_sync"]["p50_us"], res["S2_sync"]["p99_us"]))
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        shm = tempfile.mkdtemp(prefix="varg-bench-shm-", dir="/dev/shm")
        try:
            sdata = os.path.join(shm, "data")
            out = subprocess.run([a.vargd, "admin", "create-user", "--email", "bench@example.com", "--credits",
                                  "100000000", "--data-dir", sdata], capture_output=True, text=True, cwd=shm)
            skey = KEY_RE.search(out.stdout + out.stderr).group(0)
            slog = os.path.join(tmp, "vargd-tmpfs.log")
            sp = procs.start([x if x != data else sdata for x in vargd_args], slog, cwd=shm)
            t0 = time.perf_counter()
            line = ""
            while time.perf_counter() - t0 < 15 and "listening on" not in line:
                time.sleep(0.01)
                with open(slog, errors="replace") as f:
                    line = f.read()
            sport = int(re.search(r"listening on http://127\.0\.0\.1:(\d+)", line).group(1))
            targets["vargd_metered_tmpfs"] = T("vargd metered miss, data dir on tmpfs",
                                               "http://127.0.0.1:%d/v1/image" % sport,
                                               "http://127.0.0.1:$VARGD_TMPFS/v1/image", method="POST",
                                               headers=["Authorization: Bearer " + skey] + gen_headers[1:],
                                               body=img_body)
            try:
                res["S2_tmpfs"] = {c: measure("S2 tmpfs", ["vargd_metered_tmpfs", "direct_fal_seq"], c) for c in (1, 32)}
            except RuntimeError as e:  # a diagnostic: reported, never the end of the run
                log("S2 tmpfs not measured: %s (vargd %s; its log ends: %s)" % (
                    e, "running" if sp.poll() is None else "exited %s" % sp.poll(), open(slog, errors="replace").read()[-800:]))
            procs.stop(sp)
        finally:
            shutil.rmtree(shm, ignore_errors=True)

    # S2 as the account's history grows: its job rows filled up to 100,000 (completed jobs, written
    # straight into the database file beside the running vargd), then the c=1 miss measured again.
    import sqlite3
    db = sqlite3.connect(os.path.join(data, "varg.db"), timeout=30)
    uid = db.execute("SELECT id FROM users WHERE email = 'bench@example.com'").fetchone()[0]
    have = db.execute("SELECT COUNT(*) FROM jobs WHERE user_id = ?", (uid,)).fetchone()[0]
    rows = [("job_history_%07d" % i, uid, "image", "fal:flux-pro", "{}", "completed", 1700000000 + i, "metered")
            for i in range(max(0, 100000 - have))]
    db.executemany("INSERT INTO jobs(id, user_id, capability, model, params, status, created_at, billing_mode) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    history = db.execute("SELECT COUNT(*) FROM jobs WHERE user_id = ?", (uid,)).fetchone()[0]
    db.close()
    log("S2: the account now has %d jobs; the c=1 miss again" % history)
    res["S2_history"] = {"jobs_before": have, "jobs": history,
                         "c1": measure("S2 history", ["vargd_metered", "direct_fal_seq"], 1)}
    if a.profile == "1" and shutil.which("perf"):
        profile_text += profile(vargd.pid, targets["vargd_metered"], tmp, "S2 metered miss c=32")

    log("S3: cache hit and result file vs nginx static files")
    res["S3"] = {32: measure("S3", ["vargd_cache_hit", "nginx_static_json", "vargd_file", "nginx_static_png"], 32,
                             sample("vargd_after_S3_kib"))}
    if a.profile == "1" and shutil.which("perf"):
        profile_text += profile(vargd.pid, targets["vargd_cache_hit"], tmp, "S3 cache hit c=32")
        profile_text += profile(vargd.pid, targets["vargd_file"], tmp, "S3 result file c=32")

    rss.update(load_rss)
    rss["vargd_peak_kib"] = hwm_kib(vargd.pid)

    if a.postgres_vargd_url:  # S1-S3 again, on a vargd whose store is PostgreSQL (baselines: this run's)
        pdir = os.path.join(tmp, "vargd-pg")
        os.makedirs(pdir)
        pdata = os.path.join(pdir, "data")
        db_args = ["--database", a.postgres_vargd_url]
        out = subprocess.run([a.vargd, "admin", "create-user", "--email", "bench@example.com", "--credits", "100000000",
                              "--data-dir", pdata] + db_args, capture_output=True, text=True, cwd=pdir)
        m = KEY_RE.search(out.stdout + out.stderr)
        if not m:
            raise RuntimeError("could not create a user on PostgreSQL: " + out.stdout + out.stderr)
        pkey = m.group(0)
        plog = os.path.join(pdir, "stdout.log")
        pargs = [x if x != data else pdata for x in vargd_args] + db_args
        pg_vargd = procs.start(pargs, plog, cwd=pdir)
        pport = None
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 30 and not pport:
            time.sleep(0.01)
            with open(plog, errors="replace") as f:
                mm = re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
            pport = mm and int(mm.group(1))
        if not pport:
            raise RuntimeError("vargd on PostgreSQL did not start (see %s)" % plog)
        pbase = "http://127.0.0.1:%d" % pport
        pauth = "Authorization: Bearer " + pkey

        def post(body, extra):
            h = {"Authorization": "Bearer " + pkey, "Content-Type": "application/json"}
            h.update(extra)
            r = urllib.request.Request(pbase + "/v1/image", data=body.encode(), method="POST", headers=h)
            return json.loads(urllib.request.urlopen(r, timeout=30).read())
        post(img_body, {"Prefer": "wait", "Cache-Control": "no-store"})
        pfile = re.sub(r"^https?://[^/]+", "", post(hit_body, {"Prefer": "wait"})["output"]["url"])
        post(hit_body, {})
        targets.update({
            "pg_balance": T("vargd on PostgreSQL GET /v1/balance", pbase + "/v1/balance",
                            "http://127.0.0.1:$VARGD_PG/v1/balance", headers=[pauth]),
            "pg_metered": T("vargd on PostgreSQL metered miss", pbase + "/v1/image", "http://127.0.0.1:$VARGD_PG/v1/image",
                            method="POST", headers=[pauth] + gen_headers[1:], body=img_body),
            "pg_cache_hit": T("vargd on PostgreSQL cache hit", pbase + "/v1/image", "http://127.0.0.1:$VARGD_PG/v1/image",
                              method="POST", headers=[pauth, "Content-Type: application/json"], body=hit_body),
            "pg_file": T("vargd on PostgreSQL GET result file", pbase + pfile, "http://127.0.0.1:$VARGD_PG" + pfile),
        })
        log("S1-S3 on PostgreSQL")
        res["PG"] = {"S1": {c: measure("PG S1", ["pg_balance"], c) for c in (1, 32)},
                     "S2": {c: measure("PG S2", ["pg_metered"], c) for c in (1, 32)},
                     "S3": {32: measure("PG S3", ["pg_cache_hit", "pg_file"], 32)},
                     "peak_kib": hwm_kib(pg_vargd.pid)}
        if a.profile == "1" and shutil.which("perf"):
            profile_text += profile(pg_vargd.pid, targets["pg_balance"], tmp, "PostgreSQL S1 GET /v1/balance c=32")
            profile_text += profile(pg_vargd.pid, targets["pg_metered"], tmp, "PostgreSQL S2 metered miss c=32")
        procs.stop(pg_vargd)
    res["S5"] = {"rss": rss}
    res["profile"] = profile_text

    log("S4: ledger reserve+capture pairs on SQLite")
    ledger = os.path.join(a.bench_bin, "varg_bench_ledger")
    s4 = []
    for accounts, threads in ((1, 1), (1000, 1), (1, 4), (1000, 4), (32, 32)):
        runs = []
        for _ in range(reps):
            o = subprocess.run([ledger, "--dir", tmp, "--accounts", str(accounts), "--threads", str(threads),
                                "--seconds", "2", "--max-pairs", "400000"], capture_output=True, text=True, timeout=120)
            runs.append(json.loads(o.stdout.strip().splitlines()[-1]))
        best = statistics.median(r["pairs_per_s"] for r in runs)
        s4.append({"store": "sqlite", "accounts": accounts, "threads": threads, "pairs_per_s": best,
                   "consistent": all(r["consistent"] for r in runs), "failures": sum(r["failures"] for r in runs),
                   "command": "%s --dir /tmp --accounts %d --threads %d --seconds 2" % (
                       "build-bench/bench/varg_bench_ledger", accounts, threads)})
        log("S4 sqlite accounts=%d threads=%d: %.0f pairs/s" % (accounts, threads, best))
    if a.postgres_url:
        for accounts, threads in ((1, 1), (1000, 4), (32, 32)):
            runs = []
            for _ in range(reps):
                o = subprocess.run([ledger, "--database", a.postgres_url, "--accounts", str(accounts), "--threads",
                                    str(threads), "--seconds", "2", "--max-pairs", "200000"],
                                   capture_output=True, text=True, timeout=120)
                if o.returncode != 0 and not o.stdout.strip():
                    log("S4 postgres failed: " + o.stderr[-300:])
                    break
                runs.append(json.loads(o.stdout.strip().splitlines()[-1]))
            if runs:
                best = statistics.median(r["pairs_per_s"] for r in runs)
                s4.append({"store": "postgres", "accounts": accounts, "threads": threads, "pairs_per_s": best,
                           "consistent": all(r["consistent"] for r in runs),
                           "failures": sum(r["failures"] for r in runs),
                           "command": "build-bench/bench/varg_bench_ledger --database postgresql://... "
                                      "--accounts %d --threads %d --seconds 2" % (accounts, threads)})
                log("S4 postgres accounts=%d threads=%d: %.0f pairs/s" % (accounts, threads, best))
    res["S4"] = s4

    log("micro-benchmarks of the hot path")
    o = subprocess.run([os.path.join(a.bench_bin, "varg_bench_hot"), "--benchmark_format=json",
                        "--benchmark_min_time=0.2", "--benchmark_repetitions=3",
                        "--benchmark_report_aggregates_only=true"], capture_output=True, text=True, timeout=300)
    micro = []
    for b in json.loads(o.stdout)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            micro.append({"name": b["run_name"], "ns": b["real_time"] if b["time_unit"] == "ns" else b["real_time"] * 1000})
    res["micro"] = micro
    return res


def profile(pid, t, tmp, label):
    """perf samples of vargd while it serves one load; the top symbols go into the report."""
    data = os.path.join(tmp, "perf.data")
    rec = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(pid), "-o", data],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        run_wrk(t["url"], 32, 4, t["headers"], t["method"], t["body"], t["seq"], 100000)
    finally:
        rec.send_signal(2)
        rec.wait(30)
    o = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio",
                        "--percent-limit", "1.2", "-g", "none"], capture_output=True, text=True, timeout=120)
    lines = [l for l in o.stdout.splitlines() if l.strip() and not l.startswith("#")][:22]
    return "\nperf, vargd under %s (self time, symbols above 1.2 %%):\n\n```\n%s\n```\n" % (label, "\n".join(lines))


def machine_meta(a):
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    def ver(args):
        try:
            return subprocess.run(args, capture_output=True, text=True).stderr.strip().splitlines()[0] or ""
        except Exception:
            return ""
    load = os.getloadavg()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": "%d cores, %s, %s %s" % (os.cpu_count(), cpu, platform.system(), platform.release()),
        "shared": "shared with other engineers' builds and tests (load average %.1f at the start)" % load[0],
        "load_at_start": load[0],
        "source": a.source,
        "nginx": ver(["nginx", "-v"]),
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        if shutil.which("node") else "",
        "seconds": a.seconds, "reps": a.reps, "warmup": a.warmup, "max_requests": a.max_requests,
    }


# ---------------------------------------------------------------------------------------------
def fmt_us(v):
    return "%d µs" % round(v) if v < 10000 else "%.1f ms" % (v / 1000)


def fmt_rps(v):
    return "%s rps" % format(int(round(v)), ",")


def ratio(a, b):
    return a / b if b else 0.0


def build_rows(res):
    """Rows: scenario, metric, vargd, baseline (name and value), ratio, target, verdict, command."""
    rows = []

    def row(scen, metric, v, bname, b, r, target, ok, cmd, refused=0):
        # A load that was partly refused (429, 503) measured refusals, not the scenario: flagged, never met.
        if refused:
            v += " (%s non-2xx answers: not a valid run)" % format(refused, ",")
            ok = False if ok is not None else None
        rows.append({"scenario": scen, "metric": metric, "vargd": v, "baseline_name": bname, "baseline": b,
                     "ratio": r, "target": target, "met": ok, "command": cmd})

    for c in (1, 32):
        s = res["S1"][c]
        v, n = s["vargd_balance"], s["nginx_static200"]
        r = ratio(v["rps"], n["rps"])
        row("S1 c=%d" % c, "throughput", fmt_rps(v["rps"]), "nginx static 200", fmt_rps(n["rps"]), "%.2f" % r,
            "≥ 0.8" if c == 32 else "", (r >= 0.8) if c == 32 else None, v["command"], v["non2xx"])
        row("S1 c=%d" % c, "p50", fmt_us(v["p50_us"]), "nginx static 200", fmt_us(n["p50_us"]),
            "%.2f" % ratio(v["p50_us"], n["p50_us"]), "", None, v["command"])
        r99 = ratio(v["p99_us"], n["p99_us"])
        row("S1 c=%d" % c, "p99", fmt_us(v["p99_us"]), "nginx static 200", fmt_us(n["p99_us"]), "%.2f" % r99,
            "≤ 2" if c == 1 else "", (r99 <= 2) if c == 1 else None, v["command"])

    for c in (1, 32):
        s = res["S2"][c]
        v, d, dc = s["vargd_metered"], s["direct_fal_seq"], s["direct_chat"]
        # The fake's four fal calls in sequence: four times one call's latency (they cost the same).
        # Tails do not add up, so the added p99 is taken against the direct calls' p50: an upper bound
        # that charges the whole tail to vargd (and likewise to each peer).
        seq50 = 4 * d["p50_us"]
        add50, add99 = v["p50_us"] - seq50, v["p99_us"] - seq50
        row("S2 c=%d" % c, "metered miss, total p50 / p99", "%s / %s" % (fmt_us(v["p50_us"]), fmt_us(v["p99_us"])),
            "4 fal calls direct (4 × one call)", "%s / %s" % (fmt_us(seq50), fmt_us(4 * d["p99_us"])), "", "", None,
            v["command"])
        if c == 1:  # issue 22: what vargd adds to the four upstream calls
            row("S2 c=1", "added latency p50 / p99 (over 4 direct calls)", "%s / %s" % (fmt_us(add50), fmt_us(add99)),
                "target", "250 µs / 1 ms", "%.2f / %.2f" % (ratio(add50, 250), ratio(add99, 1000)),
                "p50 ≤ 250 µs, p99 ≤ 1 ms", add50 <= 250 and add99 <= 1000, v["command"], v["non2xx"])
        else:  # the ceiling: the fake's own four-call sequence made directly, as sequences per second
            ceiling = d["rps"] / 4
            r = ratio(v["rps"], ceiling)
            row("S2 c=32", "throughput vs the direct four-call ceiling", fmt_rps(v["rps"]),
                "4 fal calls direct (sequences/s)", fmt_rps(ceiling), "%.2f" % r, "≥ 0.5", r >= 0.5, d["command"],
                v["non2xx"])
        peers = []
        if "portkey" in s:
            peers.append(("Portkey", s["portkey"]))
        peers.append(("nginx proxy_pass", s["nginx_proxy"]))
        for pname, p in peers:
            padd50, padd99 = p["p50_us"] - dc["p50_us"], p["p99_us"] - dc["p50_us"]
            tgt = "p50 ≤ 100 µs, p99 ≤ 400 µs" if c == 1 and pname == "Portkey" else ""
            ok = (add50 <= 100 and add99 <= 400) if tgt else None
            row("S2 c=%d" % c, "added latency p50 / p99", "%s / %s" % (fmt_us(add50), fmt_us(add99)),
                pname + " (one call)", "%s / %s" % (fmt_us(padd50), fmt_us(padd99)),
                "%.2f / %.2f" % (ratio(add50, padd50), ratio(add99, padd99)), tgt, ok, p["command"])
        for pname, p in peers:
            r = ratio(v["rps"], p["rps"])
            tgt = "≥ 20" if c == 32 and pname == "Portkey" else ""
            row("S2 c=%d" % c, "throughput", fmt_rps(v["rps"]), pname, fmt_rps(p["rps"]), "%.2f" % r, tgt,
                (r >= 20) if tgt else None, p["command"])

    if "S2_sync" in res:
        sync, v1 = res["S2_sync"], res["S2"][1]
        add50 = v1["vargd_metered"]["p50_us"] - 4 * v1["direct_fal_seq"]["p50_us"]
        floor = 2 * sync["p50_us"]
        row("S2 c=1", "added latency p50 vs its 2 durable syncs (admission, completion; the result file is a known blob)",
            fmt_us(add50), "2 × fdatasync p50 on the data disk", fmt_us(floor), "%.2f" % ratio(add50, floor), "", None,
            "python3: os.write 4 KiB + os.fdatasync, %d times, in the data dir" % sync["samples"])
    if "S2_tmpfs" in res:
        for c in (1, 32):
            v, d = res["S2_tmpfs"][c]["vargd_metered_tmpfs"], res["S2_tmpfs"][c]["direct_fal_seq"]
            if c == 1:
                seq50 = 4 * d["p50_us"]
                add50, add99 = v["p50_us"] - seq50, v["p99_us"] - seq50
                row("S2 c=1 tmpfs", "added latency p50 / p99, data dir on tmpfs (no sync cost)",
                    "%s / %s" % (fmt_us(add50), fmt_us(add99)), "target", "250 µs / 1 ms",
                    "%.2f / %.2f" % (ratio(add50, 250), ratio(add99, 1000)), "diagnostic: p50 ≤ 250 µs, p99 ≤ 1 ms",
                    add50 <= 250 and add99 <= 1000, v["command"], v["non2xx"])
            else:
                ceiling = d["rps"] / 4
                r = ratio(v["rps"], ceiling)
                row("S2 c=32 tmpfs", "throughput vs the direct four-call ceiling, data dir on tmpfs", fmt_rps(v["rps"]),
                    "4 fal calls direct (sequences/s)", fmt_rps(ceiling), "%.2f" % r, "diagnostic: ≥ 0.5", r >= 0.5,
                    v["command"], v["non2xx"])

    if "S2_history" in res:
        h = res["S2_history"]
        before, after = res["S2"][1], h["c1"]
        add = lambda m: m["vargd_metered"]["p50_us"] - 4 * m["direct_fal_seq"]["p50_us"]
        r = ratio(add(after), add(before))
        row("S2 c=1", "added latency p50 with %s jobs in the account (was %s)" % (format(h["jobs"], ","), format(h["jobs_before"], ",")),
            fmt_us(add(after)), "the same with %s jobs" % format(h["jobs_before"], ","), fmt_us(add(before)), "%.2f" % r,
            "flat (≤ 1.25)", r <= 1.25, after["vargd_metered"]["command"])

    s = res["S3"][32]
    for vn, nn, what in (("vargd_cache_hit", "nginx_static_json", "cache hit POST /v1/image"),
                         ("vargd_file", "nginx_static_png", "GET result file")):
        v, n = s[vn], s[nn]
        r = ratio(v["rps"], n["rps"])
        goal = 0.6 if vn == "vargd_cache_hit" else 0.8
        row("S3 c=32", what + " throughput", fmt_rps(v["rps"]), targets_name(nn), fmt_rps(n["rps"]),
            "%.2f" % r, "≥ %.1f" % goal, r >= goal, v["command"], v["non2xx"])
        row("S3 c=32", what + " p50 / p99", "%s / %s" % (fmt_us(v["p50_us"]), fmt_us(v["p99_us"])), targets_name(nn),
            "%s / %s" % (fmt_us(n["p50_us"]), fmt_us(n["p99_us"])), "%.2f / %.2f" % (
                ratio(v["p50_us"], n["p50_us"]), ratio(v["p99_us"], n["p99_us"])), "", None, v["command"])

    if "PG" in res:  # the same targets on PostgreSQL, against this run's baselines
        pg = res["PG"]
        for c in (1, 32):
            v, n = pg["S1"][c]["pg_balance"], res["S1"][c]["nginx_static200"]
            r, r99 = ratio(v["rps"], n["rps"]), ratio(v["p99_us"], n["p99_us"])
            row("S1 c=%d PostgreSQL" % c, "throughput / p99", "%s / %s" % (fmt_rps(v["rps"]), fmt_us(v["p99_us"])),
                "nginx static 200", "%s / %s" % (fmt_rps(n["rps"]), fmt_us(n["p99_us"])), "%.2f / %.2f" % (r, r99),
                "≥ 0.8" if c == 32 else "p99 ≤ 2", (r >= 0.8) if c == 32 else (r99 <= 2), v["command"])
        v, d = pg["S2"][1]["pg_metered"], res["S2"][1]["direct_fal_seq"]
        add50, add99 = v["p50_us"] - 4 * d["p50_us"], v["p99_us"] - 4 * d["p50_us"]
        row("S2 c=1 PostgreSQL", "added latency p50 / p99 (over 4 direct calls)", "%s / %s" % (fmt_us(add50), fmt_us(add99)),
            "target", "250 µs / 1 ms", "%.2f / %.2f" % (ratio(add50, 250), ratio(add99, 1000)),
            "p50 ≤ 250 µs, p99 ≤ 1 ms", add50 <= 250 and add99 <= 1000, v["command"])
        v, d = pg["S2"][32]["pg_metered"], res["S2"][32]["direct_fal_seq"]
        r = ratio(v["rps"], d["rps"] / 4)
        row("S2 c=32 PostgreSQL", "throughput vs the direct four-call ceiling", fmt_rps(v["rps"]),
            "4 fal calls direct (sequences/s)", fmt_rps(d["rps"] / 4), "%.2f" % r, "≥ 0.5", r >= 0.5, v["command"])
        for vn, nn, what, goal in (("pg_cache_hit", "nginx_static_json", "cache hit", 0.6),
                                   ("pg_file", "nginx_static_png", "GET result file", 0.8)):
            v, n = pg["S3"][32][vn], res["S3"][32][nn]
            r = ratio(v["rps"], n["rps"])
            row("S3 c=32 PostgreSQL", what + " throughput", fmt_rps(v["rps"]), targets_name(nn), fmt_rps(n["rps"]),
                "%.2f" % r, "≥ %.1f" % goal, r >= goal, v["command"])
        row("S5 PostgreSQL", "peak RSS of the PostgreSQL vargd (VmHWM)", "%.1f MiB" % (pg["peak_kib"] / 1024), "", "", "",
            "≤ 64 MiB", pg["peak_kib"] <= 64 * 1024, "/proc/PID/status VmHWM")

    for e in res["S4"]:
        tgt = 20000 if e["store"] == "sqlite" else 5000
        row("S4", "%s reserve+capture, %d account%s, %d thread%s" % (
            e["store"], e["accounts"], "s" if e["accounts"] > 1 else "", e["threads"], "s" if e["threads"] > 1 else ""),
            "%s pairs/s" % format(int(e["pairs_per_s"]), ","), "target", "%s pairs/s" % format(tgt, ","),
            "%.2f" % (e["pairs_per_s"] / tgt), "≥ %s/s" % format(tgt, ","),
            e["pairs_per_s"] >= tgt and e["consistent"], e["command"])

    rss = res["S5"]["rss"]
    mib = lambda k: "%.1f MiB" % (k / 1024)
    row("S5", "RSS idle", mib(rss["vargd_idle_kib"]), "nginx (master+workers)", mib(rss["nginx_idle_kib"]),
        "%.2f" % ratio(rss["vargd_idle_kib"], rss["nginx_idle_kib"]), "", None, "/proc/PID/status VmRSS")
    for k, what in (("vargd_after_S1_kib", "RSS after S1 load"), ("vargd_after_S2_kib", "RSS after S2 load")):
        if k in rss:
            b, bn = (rss.get("portkey_under_S2_kib"), "Portkey under S2") if "S2" in k and "portkey_under_S2_kib" in rss \
                else (rss.get("nginx_under_S2_kib", rss["nginx_idle_kib"]), "nginx")
            row("S5", what, mib(rss[k]), bn, mib(b), "%.2f" % ratio(rss[k], b), "≤ 64 MiB", rss[k] <= 64 * 1024,
                "/proc/PID/status VmRSS")
    row("S5", "peak RSS over the whole run (VmHWM)", mib(rss["vargd_peak_kib"]), "", "", "", "≤ 64 MiB",
        rss["vargd_peak_kib"] <= 64 * 1024, "/proc/PID/status VmHWM")
    su = res["startup"]
    lm = statistics.median(x["listening_ms"] for x in su)
    hm = statistics.median(x["healthz_ms"] for x in su)
    row("S5", "start-up to listening / to first /healthz", "%.0f ms / %.0f ms" % (lm, hm), "nginx start-up to listening",
        "%.0f ms" % res["nginx_start_ms"], "%.2f" % ratio(hm, res["nginx_start_ms"]), "", None,
        "median of 5 starts on an existing data dir")
    return rows


def targets_name(n):
    return {"nginx_static_json": "nginx static file", "nginx_static_png": "nginx static file"}.get(n, n)


def write_outputs(a, res):
    rows = build_rows(res)
    meta = res["meta"]
    day = meta["date"][:10]
    os.makedirs(a.out_dir, exist_ok=True)
    res["rows"] = rows
    json_path = os.path.join(a.out_dir, "%s.json" % day)
    with open(json_path, "w") as f:
        json.dump(res, f, indent=1, default=str)
        f.write("\n")
    verdict = lambda ok: "" if ok is None else ("met" if ok else "**missed**")
    machine = meta["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bench/run` (issue 9) — do not edit by hand; rerun it. Every scenario measures vargd and",
        "its baselines in the same run on the same machine, all traffic on loopback; read the **ratios**, the",
        "absolute numbers move with the machine and whatever else runs on it.",
        "",
        "- date: %s; source: %s" % (meta["date"], meta["source"] or "working tree"),
        "- machine: %s — **%s**" % (machine, meta["shared"]),
        "- method: wrk, 1 thread, %g s warm-up then %d × %g s per configuration (repetitions interleaved across "
        "targets), medians of p50, p99 and throughput; each load also bounded at %s requests per wrk thread; "
        "run took %s s" % (meta["warmup"], meta["reps"], meta["seconds"], format(meta["max_requests"], ","),
                           meta.get("wall_seconds", "?")),
        "- vargd: Release build, SQLite store (WAL, one writer at `synchronous=FULL` with group commit), log level "
        "info (one access-log line per request, through the buffered log sink — one write(2) per 64 KiB or per second — to stderr, redirected to a file), rate limiter on with a limit it never reaches; baselines: %s with "
        "2 workers, Portkey gateway %s on node %s" % (meta["nginx"], "@portkey-ai/gateway", meta["node"]),
        "",
        "| scenario | metric | vargd | baseline | baseline value | ratio | target | verdict | command | machine | date |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | `%s` | %s | %s |" % (
            r["scenario"], r["metric"], r["vargd"], r["baseline_name"], r["baseline"], r["ratio"], r["target"],
            verdict(r["met"]), r["command"].replace("|", "\\|"), "2-core shared" if os.cpu_count() == 2 else
            "%d-core" % os.cpu_count(), day))
    lines += ["", "Ratios: throughput and latency are vargd ÷ baseline; for S2's added latency, vargd's added time ÷ the "
              "peer's added time. S2's added latency is vargd's total minus four times one direct call to the fake "
              "(submit, status, result, media: the calls vargd makes, each costing the same); a peer's is its "
              "proxied latency minus the same single call made directly.", ""]
    lines += ["## Hot-path micro-benchmarks (Google Benchmark, median of 3)", "", "| benchmark | time per call |",
              "|---|---|"]
    for m in res["micro"]:
        lines.append("| %s | %s |" % (m["name"], "%.0f ns" % m["ns"] if m["ns"] < 10000 else "%.1f µs" % (m["ns"] / 1000)))
    lines += ["", "Command: `build-bench/bench/varg_bench_hot --benchmark_min_time=0.2 --benchmark_repetitions=3`", ""]
    if res.get("profile"):  # perf pads its columns very wide
        prof = "\n".join(re.sub(r"\s{2,}", "  ", l).rstrip(" -") for l in res["profile"].splitlines())
        lines += ["## Where the time goes", prof]
    import soak  # the soak's own recorded section (bench/soak.py --record), kept across runs
    lines += ["", soak.soak_section()]
    notes_path = os.path.join(HERE, "NOTES.md")
    if os.path.exists(notes_path):
        with open(notes_path) as f:
            lines += ["", f.read().strip(), ""]
    lines += ["", "Raw data of this run: `bench/results/%s.json`." % day, ""]
    with open(a.out_md, "w") as f:
        f.write("\n".join(lines))
    log("wrote %s and %s" % (a.out_md, json_path))


if __name__ == "__main__":
    main()
