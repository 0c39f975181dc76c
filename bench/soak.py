#!/usr/bin/env python3
"""Soak: a bounded run of mixed traffic at c=64 against one real vargd (SQLite, or PostgreSQL
started in a temp dir) with the fake provider, sampling the process every few seconds. Flat means:
resident memory, open descriptors and threads do not keep growing, the WAL stays bounded, no job is
left live, and the p99 of balance reads in the last window is not far above the first.

  bench/soak.py VARGD [--engine sqlite|postgres] [--minutes M] [--clients C] [--record]

Exit 1 when a figure is not flat. CI runs one minute per engine; --record keeps the report in
bench/results/soak-<engine>.json and rewrites the soak section of docs/benchmarks.md (bench/run
keeps that section). Traffic only to loopback; it stops by itself."""
import argparse, glob, json, os, random, sqlite3, sys, threading, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import harness  # noqa: E402
from harness import Postgres, Vargd, call, start_fake  # noqa: E402

RENDER = ('export default (<Render width={160} height={90} fps={12}><Clip duration={1}>'
          '{Image({ model: varg.imageModel("local-image"), prompt: "soak %d" })}</Clip></Render>);')


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def pctl(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def sse(url, key, timeout=30):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + key, "Accept": "text/event-stream"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        for raw in r:
            line = raw.decode("utf-8", "replace")
            if line.startswith("data:") and any(s in line for s in ('"completed"', '"failed"', '"cancelled"')):
                return True
    return False


def soak_section():
    """The soak section of docs/benchmarks.md, from the recorded reports (bench/results/soak-*.json)."""
    lines = ["## Soak (issue 25)", "",
             "One vargd under %s of mixed traffic (40 %% balance, 15 %% metered misses against the fake fal, 15 %% cache "
             "hits, 10 %% uploads, SSE streams and polls of recent jobs, 1 %% renders with local models), sampled every few "
             "seconds. Base = the sample a third of the way in (after the caches fill); flat = RSS ≤ base × 1.25 + 16 MiB, "
             "fds ≤ base + 32, threads ≤ base + 8, WAL ≤ 24 MiB, no job left live, last-third p99 of balance reads ≤ 3 × "
             "first-third + 50 ms." % "c=64", "",
             "| engine | minutes | requests | RSS base → end | fds base → end | threads | WAL max | jobs (live at end) | "
             "balance p99 first → last | errors | verdict | date | command |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(glob.glob(os.path.join(HERE, "results", "soak-*.json"))):
        with open(path) as f:
            r = json.load(f)
        smp = r["samples"]
        base, last = smp[len(smp) // 3], smp[-1]
        lines.append("| %s | %g | %s | %.1f → %.1f MiB | %d → %d | %d → %d | %.1f MiB | %s (%d) | %.0f → %.0f ms | %d | %s | %s | `%s` |" % (
            r["engine"], r["minutes"], format(sum(v for k, v in r["requests"].items() if k != "shed_429"), ","),
            base["rss_mib"], last["rss_mib"], base["fds"], last["fds"], base["threads"], last["threads"],
            max(x["wal_mib"] for x in smp), format(last["jobs"], ","), last["live_jobs"], r["balance_p99_ms_first"],
            r["balance_p99_ms_last"], r["error_count"], "flat" if all(r["checks"].values()) else
            "**not flat: %s**" % ", ".join(k for k, ok in r["checks"].items() if not ok), r.get("date", "?"), r["command"]))
    return "\n".join(lines) + "\n"


def update_doc():
    path = os.path.join(HERE, "..", "docs", "benchmarks.md")
    with open(path) as f:
        text = f.read()
    section = soak_section()
    start = text.find("## Soak (issue 25)")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        raw = text.find("\nRaw data of this run", start)
        end = min(x for x in (end, raw, len(text)) if x >= 0)
        text = text[:start] + section + text[end:]
    else:
        at = text.find("Raw data of this run")
        text = text[:at] + section + "\n" + text[at:] if at >= 0 else text + "\n" + section
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vargd")
    ap.add_argument("--engine", default="sqlite", choices=("sqlite", "postgres"))
    ap.add_argument("--minutes", type=float, default=2)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--sample-s", type=float, default=5)
    ap.add_argument("--record", action="store_true")
    a = ap.parse_args()
    harness.VARGD = os.path.abspath(a.vargd)

    pg = Postgres() if a.engine == "postgres" else None
    if pg:
        os.environ["VARGD_DATABASE"] = pg.url
        os.environ["VARGD_SECRET"] = "7a" * 32
    fake, fake_url = start_fake()
    v = None
    try:
        v = Vargd(["--allow-private-provider-urls", "1", "--provider-poll-ms", "50", "--fal-url", fake_url, "--fal-key", "pooled",
                   "--rate-limit-rpm", "0", "--max-active-jobs", "0", "--max-connections-per-ip", "4096"])
        errors, counts, lat, lock = [], {}, [], threading.Lock()
        keys = [v.user("soak%d@example.com" % i, 10 ** 9) for i in range(8)]
        stop_at = time.time() + a.minutes * 60
        recent = {}  # key → a recent job id, for SSE and polls

        def one(rng, key):
            pick = rng.random()
            started = time.time()
            if pick < 0.40:
                kind = "balance"
                s, _, _ = call("GET", v.url + "/v1/balance", key)
            elif pick < 0.55:
                kind = "miss"
                s, _, j = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "soak %f" % rng.random()},
                               {"Cache-Control": "no-store"})
                if s == 202:
                    recent[key] = j["job_id"]
            elif pick < 0.70:
                kind = "hit"
                s, _, j = call("POST", v.url + "/v1/image", key, {"model": "flux-pro", "prompt": "soak hit %d" % rng.randrange(20)})
            elif pick < 0.80:
                kind = "upload"
                s, _, _ = call("POST", v.url + "/v1/files", key, raw=os.urandom(4096) if rng.random() < 0.3 else b"soak %d" % rng.randrange(50),
                               headers={"Content-Type": "application/octet-stream"})
            elif pick < 0.90 and key in recent:
                kind = "sse"
                s = 200 if sse("%s/v1/jobs/%s/stream" % (v.url, recent[key]), key) else 599
            elif pick < 0.99 and key in recent:
                kind = "poll"
                s, _, _ = call("GET", "%s/v1/jobs/%s" % (v.url, recent[key]), key)
            elif pick >= 0.99:
                kind = "render"
                s, _, _ = call("POST", v.url + "/api/render", key, {"code": RENDER % rng.randrange(8)})
            else:
                return
            took = time.time() - started
            with lock:
                counts[kind] = counts.get(kind, 0) + 1
                if kind == "balance":
                    lat.append((started, took))
                if s == 429:  # a documented limit (renders per account at once): shed, not failed
                    counts["shed_429"] = counts.get("shed_429", 0) + 1
                elif s not in (200, 201, 202):
                    errors.append((kind, s))

        def client(i):
            rng = random.Random(i)
            while time.time() < stop_at:
                try:
                    one(rng, keys[i % len(keys)])
                except OSError as e:
                    with lock:
                        errors.append(("connection", str(e)))

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
        t0 = time.time()
        for t in threads:
            t.start()
        samples = []
        db = v.data + "/varg.db"
        while time.time() < stop_at:
            time.sleep(a.sample_s)
            st = proc_status(v.proc.pid)
            if pg:
                jobs, live = (int(x) for x in pg.sql("SELECT COUNT(*), COUNT(*) FILTER (WHERE status IN ('queued', 'processing')) FROM jobs")[0])
                wal = 0
            else:
                with sqlite3.connect(db, timeout=30) as c:
                    jobs, live = c.execute("SELECT COUNT(*), SUM(status IN ('queued', 'processing')) FROM jobs").fetchone()
                wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
            now = time.time()
            with lock:
                window = [d for s0, d in lat if s0 >= now - a.sample_s]
                done = sum(counts.values())
            samples.append({"t": round(now - t0, 1), "rss_mib": round(st["VmRSS"] / 1024, 1), "fds": st["fds"], "threads": st["Threads"],
                            "wal_mib": round(wal / 2 ** 20, 2), "jobs": jobs, "live_jobs": live or 0, "requests": done,
                            "balance_p99_ms": round(pctl(window, 0.99) * 1000, 2)})
            print(json.dumps(samples[-1]), flush=True)
        for t in threads:
            t.join(timeout=60)
        end = time.time() + 60  # what was admitted finishes
        live_after = None
        while time.time() < end:
            if pg:
                live_after = int(pg.sql(pg.LIVE_JOBS)[0][0])
            else:
                with sqlite3.connect(db, timeout=30) as c:
                    live_after = c.execute("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'processing')").fetchone()[0]
            if live_after == 0:
                break
            time.sleep(0.5)

        # Flat: the last third against the samples a third of the way in (after the caches warmed up).
        n = len(samples)
        base, last = samples[n // 3], samples[-1]
        first_p99 = pctl([s["balance_p99_ms"] for s in samples[1:max(2, n // 3)]], 0.5)
        last_p99 = pctl([s["balance_p99_ms"] for s in samples[-max(1, n // 3):]], 0.5)
        checks = {
            "rss": last["rss_mib"] <= base["rss_mib"] * 1.25 + 16,
            "fds": last["fds"] <= base["fds"] + 32,
            "threads": last["threads"] <= base["threads"] + 8,
            "wal": max(s["wal_mib"] for s in samples) <= 24,
            "no_live_jobs_after": live_after == 0,
            "p99_no_drift": last_p99 <= first_p99 * 3 + 50,
            "errors": len(errors) <= sum(counts.values()) // 1000,
        }
        report = {"engine": a.engine, "minutes": a.minutes, "clients": a.clients, "requests": counts, "errors": errors[:20],
                  "date": time.strftime("%Y-%m-%d", time.gmtime()),
                  "command": "bench/soak.py build/src/server/vargd --engine %s --minutes %g --record" % (a.engine, a.minutes),
                  "error_count": len(errors), "checks": checks, "balance_p99_ms_first": first_p99, "balance_p99_ms_last": last_p99,
                  "samples": samples}
        print(json.dumps({k: report[k] for k in report if k != "samples"}, indent=1))
        if a.record:
            with open(os.path.join(HERE, "results", "soak-%s.json" % a.engine), "w") as f:
                json.dump(report, f, indent=1)
            update_doc()
        return 0 if all(checks.values()) else 1
    finally:
        if v:
            v.cleanup()
        fake.kill()
        fake.wait()
        if pg:
            pg.stop()


if __name__ == "__main__":
    sys.exit(main())
