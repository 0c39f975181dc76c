#!/usr/bin/env python3
"""Fake upstream providers for varg's tests: one real HTTP server on loopback speaking the public
protocols of fal (queue API) and Stripe (checkout sessions), returning small real media files.

It records every call (method, path, the key it carried) and can be told how to misbehave:
  POST /_control {"mode": "ok|slow|error500|fail_then_ok|rate_limit|garbage|drop|hang|bad_status",
                  "delay": seconds, "fail_times": N}
  GET  /_calls   -> {"calls": [{"method","path","key"}]}
  POST /_reset
Started with a port of 0 it prints "PORT <n>" on its first stdout line.
"""
import json, sys, threading, time, uuid, zlib, struct, base64
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def tiny_png(r, g, b):
    raw = b"".join(b"\x00" + bytes([r, g, b]) * 4 for _ in range(4))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def tiny_wav(seconds=0.1, rate=8000):
    n = int(seconds * rate)
    data = bytes(2 * n)
    return b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + \
        b"data" + struct.pack("<I", len(data)) + data


MEDIA = {"png": (tiny_png(200, 80, 40), "image/png"), "wav": (tiny_wav(), "audio/wav"),
         "mp4": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64, "video/mp4")}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.mode, self.delay, self.fail_times = "ok", 0.0, 0
        self.calls, self.requests = [], {}


S = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    # ---- plumbing ----
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, obj=None, raw=None, ctype="application/json", headers=()):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def base(self):
        return "http://%s" % self.headers.get("Host")

    def record(self, key):
        with S.lock:
            S.calls.append({"method": self.command, "path": self.path, "key": key})

    def misbehave(self):
        """Applies the current mode to an upstream call; True when it already answered."""
        with S.lock:
            mode, delay = S.mode, S.delay
            if mode == "fail_then_ok" and S.fail_times > 0:
                S.fail_times -= 1
                fail = True
            else:
                fail = False
        if mode == "slow":
            time.sleep(delay or 1.0)
        if mode == "hang":
            time.sleep(delay or 3600)
        if mode == "error500" or fail:
            self.send(500, {"detail": "internal upstream error"})
            return True
        if mode == "rate_limit":
            self.send(429, {"detail": "rate limited"}, headers=[("Retry-After", "0")])
            return True
        if mode == "garbage":
            self.send(200, raw=b"\x00\xffnot json{{{", ctype="application/json")
            return True
        if mode == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        return False

    # ---- routing ----
    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def route(self):
        payload = self.body()
        p = self.path.split("?")[0]
        if p == "/_control":
            cfg = json.loads(payload or b"{}")
            with S.lock:
                S.mode = cfg.get("mode", "ok")
                S.delay = float(cfg.get("delay", 0))
                S.fail_times = int(cfg.get("fail_times", 0))
            return self.send(200, {"ok": True})
        if p == "/_calls":
            with S.lock:
                return self.send(200, {"calls": list(S.calls)})
        if p == "/_reset":
            with S.lock:
                S.reset()
            return self.send(200, {"ok": True})
        if p.startswith("/media/"):
            data, ctype = MEDIA.get(p.rsplit(".", 1)[-1], MEDIA["png"])
            return self.send(200, raw=data, ctype=ctype)
        if p.startswith("/v1/checkout/sessions"):
            return self.stripe(payload)
        return self.fal(p, payload)

    # ---- fal queue API ----
    def fal(self, p, payload):
        auth = self.headers.get("Authorization", "")
        key = auth[4:] if auth.startswith("Key ") else None
        self.record(key)
        if key is None:
            return self.send(401, {"detail": "missing Authorization: Key"})
        if key.startswith("bad"):
            return self.send(401, {"detail": "invalid key"})
        parts = p.strip("/").split("/")
        if "requests" in parts:
            i = parts.index("requests")
            rid = parts[i + 1] if i + 1 < len(parts) else ""
            with S.lock:
                req = S.requests.get(rid)
            if req is None:
                return self.send(404, {"detail": "request not found"})
            if self.misbehave():
                return
            tail = parts[i + 2:] if i + 2 < len(parts) else []
            if tail == ["status"]:
                done = time.time() >= req["ready_at"]
                return self.send(200, {"status": "COMPLETED" if done else "IN_PROGRESS", "request_id": rid})
            if tail == ["cancel"] and self.command == "PUT":
                with S.lock:
                    req["cancelled"] = True
                return self.send(202, {"status": "CANCELLATION_REQUESTED"})
            if not tail:
                kind = req["kind"]
                url = "%s/media/%s.%s" % (self.base(), rid, kind)
                if kind == "png":
                    return self.send(200, {"images": [{"url": url, "content_type": "image/png"}]})
                if kind == "mp4":
                    return self.send(200, {"video": {"url": url, "content_type": "video/mp4"}})
                return self.send(200, {"audio": {"url": url, "content_type": "audio/wav"}})
            return self.send(404, {"detail": "unknown path"})
        if self.command != "POST":
            return self.send(405, {"detail": "method"})
        if self.misbehave():
            return
        try:
            inp = json.loads(payload or b"{}")
        except ValueError:
            return self.send(422, {"detail": "body is not JSON"})
        model = "/".join(parts)
        kind = "mp4" if ("video" in model or "lipsync" in model) else ("wav" if "audio" in model else "png")
        rid = str(uuid.uuid4())
        with S.lock:
            ready = time.time() + (S.delay if S.mode == "slow_job" else 0.0)
            S.requests[rid] = {"model": model, "input": inp, "kind": kind, "ready_at": ready, "cancelled": False}
        app = "/".join(parts[:2])
        b = "%s/%s/requests/%s" % (self.base(), app, rid)
        return self.send(200, {"request_id": rid, "response_url": b, "status_url": b + "/status", "cancel_url": b + "/cancel"})

    # ---- Stripe checkout sessions ----
    def stripe(self, payload):
        auth = self.headers.get("Authorization", "")
        self.record(auth[7:] if auth.startswith("Bearer ") else None)
        if not auth.startswith("Bearer sk_"):
            return self.send(401, {"error": {"message": "Invalid API Key provided"}})
        sid = "cs_test_" + uuid.uuid4().hex
        return self.send(200, {"id": sid, "object": "checkout.session", "url": "https://checkout.stripe.test/c/pay/" + sid,
                               "form": payload.decode()})


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
