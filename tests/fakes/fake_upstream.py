#!/usr/bin/env python3
"""Fake upstream providers for varg's tests: one real HTTP server on loopback speaking the public
protocols of fal (queue API), ElevenLabs (text-to-speech, music, speech-to-text), Replicate
(predictions API), Higgsfield (platform queue API) and Stripe (checkout sessions), returning small
real media files. Routing is by path: /v1/text-to-speech|music|speech-to-text → ElevenLabs
(`xi-api-key`), /v1/models|predictions → Replicate (`Authorization: Bearer`), /requests/… and
/higgsfield-ai/… → Higgsfield (`Authorization: Key id:secret`), /v1/checkout → Stripe, the rest → fal.

It records every call (method, path, the key it carried) and can be told how to misbehave:
  POST /_control {"mode": "ok|slow|slow_job|slow_media|error500|fail_then_ok|rate_limit|garbage|drop|hang",
                  "delay": seconds, "fail_times": N}
  GET  /_calls   -> {"calls": [{"method","path","key","body","content_type"}]}
  POST /_reset
Started with a port of 0 it prints "PORT <n>" on its first stdout line.
"""
import json, sys, threading, time, uuid, zlib, struct, base64
import urllib.request
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fal_models  # noqa: E402


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


def tiny_mp3(frames=8):
    """MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono: frames of zeroed side info decode as silence."""
    size = 144 * 128000 // 44100  # 417 bytes per frame without padding
    return (b"\xff\xfb\x90\xc4" + bytes(size - 4)) * frames


MEDIA = {"png": (tiny_png(200, 80, 40), "image/png"), "wav": (tiny_wav(), "audio/wav"), "mp3": (tiny_mp3(), "audio/mpeg"),
         "mp4": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64, "video/mp4")}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.mode, self.delay, self.fail_times, self.hold = "ok", 0.0, 0, True
        self.calls, self.requests = [], {}


S = State()
TLS = False  # main(): --tls


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
        return "%s://%s" % ("https" if TLS else "http", self.headers.get("Host"))

    def record(self, key):
        body = getattr(self, "payload", b"")[:20000].decode("utf-8", "replace")
        # Which TCP connection carried the call, and (over TLS) whether its handshake resumed a session.
        tls = getattr(self.connection, "session_reused", None)
        with S.lock:
            S.calls.append({"method": self.command, "path": self.path, "key": key, "body": body,
                            "content_type": self.headers.get("Content-Type", ""),
                            "conn": "%s:%d" % self.client_address[:2], "tls_resumed": tls})

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
        payload = self.payload = self.body()
        p = self.path.split("?")[0]
        if p == "/_control":
            cfg = json.loads(payload or b"{}")
            with S.lock:
                S.mode = cfg.get("mode", "ok")
                S.delay = float(cfg.get("delay", 0))
                S.fail_times = int(cfg.get("fail_times", 0))
                S.hold = bool(cfg.get("hold", True))  # honour Replicate's `Prefer: wait` (false: answer at once)
            return self.send(200, {"ok": True})
        if p == "/_calls":
            with S.lock:
                return self.send(200, {"calls": list(S.calls)})
        if p == "/_reset":
            with S.lock:
                S.reset()
            return self.send(200, {"ok": True})
        if p.startswith("/media/"):
            with S.lock:
                slow = S.delay if S.mode == "slow_media" else 0
            time.sleep(slow)  # slow_media: the result file itself takes `delay` seconds
            data, ctype = MEDIA.get(p.rsplit(".", 1)[-1], MEDIA["png"])
            return self.send(200, raw=data, ctype=ctype)
        if p.startswith("/v1/checkout/sessions"):
            return self.stripe(payload)
        if p.startswith(("/v1/text-to-speech/", "/v1/music", "/v1/speech-to-text")):
            return self.elevenlabs(p, payload)
        if p.startswith(("/v1/models/", "/v1/predictions")):
            return self.replicate(p, payload)
        if p.startswith(("/requests/", "/higgsfield-ai/")):
            return self.higgsfield(p, payload)
        if p.startswith("/openai/v1/"):
            return self.groq(p, payload)
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
                out = req["kind"]
                ext = {"images": "png", "image": "png", "video": "mp4", "audio": "wav"}.get(out)
                url = "%s/media/%s.%s" % (self.base(), rid, ext)
                if out == "images":
                    return self.send(200, {"images": [{"url": url, "content_type": "image/png"}], "seed": 1})
                if out == "image":
                    return self.send(200, {"image": {"url": url, "content_type": "image/png"}})
                if out == "video":
                    return self.send(200, {"video": {"url": url, "content_type": "video/mp4"}})
                if out == "audio":
                    return self.send(200, {"audio": {"url": url, "content_type": "audio/wav"}})
                return self.send(200, {"text": "hello world", "chunks": [{"timestamp": [0.0, 0.1], "text": "hello world"}]})
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
        bad = fal_models.check(model, inp) if isinstance(inp, dict) else (422, "body must be an object")
        if bad:
            return self.send(bad[0], {"detail": bad[1]})
        kind = fal_models.EP[model]["out"]
        rid = str(uuid.uuid4())
        with S.lock:
            ready = time.time() + (S.delay if S.mode == "slow_job" else 0.0)
            S.requests[rid] = {"model": model, "input": inp, "kind": kind, "ready_at": ready, "cancelled": False}
        app = "/".join(parts[:2])
        b = "%s/%s/requests/%s" % (self.base(), app, rid)
        return self.send(200, {"request_id": rid, "response_url": b, "status_url": b + "/status", "cancel_url": b + "/cancel"})

    # ---- shared by the three protocols below ----
    def new_request(self, provider, model, inp, kind):
        rid = uuid.uuid4().hex[:20] if provider == "replicate" else str(uuid.uuid4())
        with S.lock:
            ready = time.time() + (S.delay if S.mode == "slow_job" else 0.0)
            S.requests[rid] = {"provider": provider, "model": model, "input": inp, "kind": kind, "ready_at": ready,
                               "cancelled": False, "created": time.time()}
        return rid

    def lookup(self, provider, rid):
        with S.lock:
            req = S.requests.get(rid)
        return req if req is not None and req.get("provider") == provider else None

    def job_pause(self):
        """A synchronous provider's slow_job: the answer itself takes `delay` seconds."""
        with S.lock:
            mode, delay = S.mode, S.delay
        if mode == "slow_job":
            time.sleep(delay)

    # ---- ElevenLabs (xi-api-key; synchronous answers) ----
    def elevenlabs(self, p, payload):
        key = self.headers.get("xi-api-key")
        self.record(key)
        if not key or key.startswith("bad"):
            return self.send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        if self.command != "POST":
            return self.send(405, {"detail": "Method Not Allowed"})
        if self.misbehave():
            return
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        params = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv)
        if p.startswith("/v1/speech-to-text"):
            return self.elevenlabs_stt(payload)
        try:
            body = json.loads(payload or b"{}")
        except ValueError:
            return self.send(400, {"detail": {"status": "invalid_json", "message": "Body is not JSON"}})
        if p.startswith("/v1/text-to-speech/"):
            voice = p[len("/v1/text-to-speech/"):].split("/")[0]
            if not voice:
                return self.send(404, {"detail": "Not Found"})
            if not isinstance(body.get("text"), str) or not body["text"]:
                return self.send(422, {"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "value_error.missing"}]})
        else:
            if not body.get("prompt") and not body.get("composition_plan"):
                return self.send(422, {"detail": [{"loc": ["body", "prompt"], "msg": "prompt or composition_plan required", "type": "value_error"}]})
            ms = body.get("music_length_ms", 30000)
            if not isinstance(ms, int) or not 3000 <= ms <= 600000:
                return self.send(422, {"detail": [{"loc": ["body", "music_length_ms"], "msg": "must be between 3000 and 600000", "type": "value_error"}]})
        self.job_pause()
        fmt = params.get("output_format", "mp3_44100_128")
        data, ctype = MEDIA["mp3"] if fmt.startswith("mp3") else MEDIA["wav"]
        return self.send(200, raw=data, ctype=ctype, headers=[("request-id", uuid.uuid4().hex)])

    def elevenlabs_stt(self, payload):
        form = self.form(payload)
        if form is None:
            return self.send(422, {"detail": [{"loc": ["body"], "msg": "multipart/form-data expected", "type": "value_error"}]})
        if form.get("model_id") not in (b"scribe_v1", b"scribe_v1_experimental", b"scribe_v2"):
            return self.send(422, {"detail": [{"loc": ["body", "model_id"], "msg": "unknown model_id", "type": "value_error"}]})
        if ("file" in form) == ("cloud_storage_url" in form):
            return self.send(422, {"detail": {"status": "invalid_parameters", "message": "Exactly one of file or cloud_storage_url"}})
        audio = form.get("file")
        if audio is None:
            try:
                with urllib.request.urlopen(form["cloud_storage_url"].decode(), timeout=5) as r:
                    audio = r.read()
            except Exception as e:  # the real service answers 400 for an unreachable URL
                return self.send(400, {"detail": {"status": "invalid_cloud_storage_url", "message": str(e)[:200]}})
        if not audio:
            return self.send(400, {"detail": {"status": "empty_file", "message": "The audio file is empty"}})
        self.job_pause()
        lang = (form.get("language_code") or b"en").decode()
        words = [{"text": "hello", "start": 0.0, "end": 0.04, "type": "word", "speaker_id": "speaker_0", "logprob": 0.0},
                 {"text": " ", "start": 0.04, "end": 0.05, "type": "spacing", "speaker_id": "speaker_0", "logprob": 0.0},
                 {"text": "world", "start": 0.05, "end": 0.1, "type": "word", "speaker_id": "speaker_0", "logprob": 0.0}]
        return self.send(200, {"language_code": lang, "language_probability": 0.98, "text": "hello world", "words": words,
                               "transcription_id": uuid.uuid4().hex})

    # ---- Replicate predictions API (Authorization: Bearer) ----
    def prediction(self, rid, req):
        b = "%s/v1/predictions/%s" % (self.base(), rid)
        done = time.time() >= req["ready_at"]
        status = "canceled" if req["cancelled"] else ("succeeded" if done else "processing")
        out = None
        if status == "succeeded":
            url = "%s/media/%s.%s" % (self.base(), rid, req["kind"])
            if req["kind"] == "json":
                out = {"detected_language": "english", "transcription": "hello world", "translation": None,
                       "txt_file": None, "srt_file": None,
                       "segments": [{"id": 0, "start": 0.0, "end": 0.1, "text": " hello world", "temperature": 0.0}]}
            elif req["kind"] == "png":
                out = [url]
            else:
                out = url
        model = req["model"]
        return {"id": rid, "model": model.split(":")[0], "version": model.split(":")[1] if ":" in model else "hidden",
                "input": req["input"], "logs": "", "output": out, "data_removed": False, "error": None, "status": status,
                "source": "api", "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(req["created"])),
                "urls": {"get": b, "cancel": b + "/cancel", "stream": b + "/stream", "web": "https://replicate.com/p/" + rid}}

    def replicate(self, p, payload):
        auth = self.headers.get("Authorization", "")
        key = auth.split(" ", 1)[1] if auth.startswith(("Bearer ", "Token ")) else None
        self.record(key)
        if not key or key.startswith("bad"):
            return self.send(401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401},
                             ctype="application/problem+json")
        parts = p.strip("/").split("/")
        if parts[:2] == ["v1", "predictions"] and len(parts) >= 3:
            req = self.lookup("replicate", parts[2])
            if req is None:
                return self.send(404, {"detail": "Not found.", "status": 404})
            if self.misbehave():
                return
            if len(parts) == 4 and parts[3] == "cancel" and self.command == "POST":
                with S.lock:
                    if time.time() < req["ready_at"]:
                        req["cancelled"] = True
                return self.send(200, self.prediction(parts[2], req))
            if len(parts) == 3 and self.command == "GET":
                return self.send(200, self.prediction(parts[2], req))
            return self.send(404, {"detail": "Not found.", "status": 404})
        if self.command != "POST":
            return self.send(405, {"detail": "Method not allowed.", "status": 405})
        if parts[:2] == ["v1", "models"] and len(parts) == 5 and parts[4] == "predictions":
            model = parts[2] + "/" + parts[3]
        elif parts == ["v1", "predictions"]:
            model = None
        else:
            return self.send(404, {"detail": "Not found.", "status": 404})
        if self.misbehave():
            return
        try:
            body = json.loads(payload or b"{}")
        except ValueError:
            return self.send(400, {"title": "Invalid JSON", "detail": "The request body is not JSON", "status": 400})
        if model is None:
            model = body.get("version") or ""
            if not model:
                return self.send(422, {"title": "Input validation failed", "detail": "version is required", "status": 422})
        inp = body.get("input")
        if not isinstance(inp, dict):
            return self.send(422, {"title": "Input validation failed", "detail": "input is required", "status": 422})
        if "whisper" in model:
            if not isinstance(inp.get("audio"), str):
                return self.send(422, {"title": "Input validation failed", "detail": "- input: audio is required", "status": 422})
            kind = "json"
        else:
            if not isinstance(inp.get("prompt"), str):
                return self.send(422, {"title": "Input validation failed", "detail": "- input: prompt is required", "status": 422})
            kind = "mp4" if ("video" in model or "minimax" in model) else "png"
        rid = self.new_request("replicate", model, inp, kind)
        prefer = self.headers.get("Prefer", "")
        if prefer.startswith("wait") and S.hold:
            wait = float(prefer.split("=", 1)[1]) if "=" in prefer else 60.0
            with S.lock:
                ready_at = S.requests[rid]["ready_at"]
            time.sleep(max(0.0, min(wait, ready_at - time.time())))
        with S.lock:
            req = S.requests[rid]
        status = 201
        return self.send(status, self.prediction(rid, req), headers=[("Location", "/v1/predictions/" + rid)])

    # ---- Higgsfield platform API (Authorization: Key id:secret) ----
    def hf_status(self, rid, req):
        b = "%s/requests/%s" % (self.base(), rid)
        done = time.time() >= req["ready_at"]
        status = "canceled" if req["cancelled"] else ("completed" if done else "in_progress")
        out = {"status": status, "request_id": rid, "status_url": b + "/status", "cancel_url": b + "/cancel"}
        if status == "completed":
            url = "%s/media/%s.%s" % (self.base(), rid, req["kind"])
            if req["kind"] == "mp4":
                out["video"] = {"url": url}
            else:
                out["images"] = [{"url": url}]
        return out

    def higgsfield(self, p, payload):
        auth = self.headers.get("Authorization", "")
        key = auth[4:] if auth.startswith("Key ") else None
        self.record(key)
        if not key or key.startswith("bad"):
            return self.send(401, {"detail": "Invalid credentials"})
        parts = p.strip("/").split("/")
        if parts[0] == "requests":
            req = self.lookup("higgsfield", parts[1] if len(parts) > 1 else "")
            if req is None:
                return self.send(404, {"detail": "Request not found"})
            if self.misbehave():
                return
            tail = parts[2:]
            if tail == ["status"] and self.command == "GET":
                return self.send(200, self.hf_status(parts[1], req))
            if tail == ["cancel"] and self.command == "POST":
                with S.lock:
                    cancellable = not req["cancelled"] and time.time() < req["ready_at"]
                    if cancellable:
                        req["cancelled"] = True
                if not cancellable:
                    return self.send(400, {"detail": "Request can not be canceled"})
                return self.send(202, raw=b"", ctype="text/plain")
            return self.send(404, {"detail": "Not Found"})
        if self.command != "POST":
            return self.send(405, {"detail": "Method Not Allowed"})
        if self.misbehave():
            return
        try:
            args = json.loads(payload or b"{}")
        except ValueError:
            return self.send(422, {"detail": "body is not JSON"})
        if not isinstance(args, dict) or not isinstance(args.get("prompt"), str):
            return self.send(422, {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]})
        app = "/".join(parts)
        kind = "mp4" if ("dop" in app or "video" in app) else "png"
        rid = self.new_request("higgsfield", app, args, kind)
        with S.lock:
            req = S.requests[rid]
        out = self.hf_status(rid, req)
        out["status"] = "queued"
        out.pop("images", None)
        out.pop("video", None)
        return self.send(200, out)

    # ---- Groq's OpenAI-compatible audio API (Authorization: Bearer; multipart) ----
    def groq(self, p, payload):
        auth = self.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else None
        self.record(key)
        if not key or key.startswith("bad"):
            return self.send(401, {"error": {"message": "Invalid API Key", "type": "invalid_request_error", "code": "invalid_api_key"}})
        if p != "/openai/v1/audio/transcriptions" or self.command != "POST":
            return self.send(404, {"error": {"message": "Unknown request URL", "type": "invalid_request_error"}})
        if self.misbehave():
            return
        form = self.form(payload)
        if form is None:
            return self.send(400, {"error": {"message": "multipart/form-data expected", "type": "invalid_request_error"}})
        if form.get("model") not in (b"whisper-large-v3", b"whisper-large-v3-turbo"):
            return self.send(404, {"error": {"message": "The model does not exist", "type": "invalid_request_error",
                                             "code": "model_not_found"}})
        if ("file" in form) == ("url" in form):
            return self.send(400, {"error": {"message": "either file or url must be provided", "type": "invalid_request_error"}})
        audio = form.get("file")
        if audio is None:
            try:
                with urllib.request.urlopen(form["url"].decode(), timeout=5) as r:
                    audio = r.read()
            except Exception as e:
                return self.send(400, {"error": {"message": "could not fetch url: %s" % str(e)[:200], "type": "invalid_request_error"}})
        if not audio:
            return self.send(400, {"error": {"message": "file is empty", "type": "invalid_request_error"}})
        self.job_pause()
        doc = {"text": " hello world", "x_groq": {"id": "req_" + uuid.uuid4().hex}}
        if form.get("response_format") == b"verbose_json":
            doc.update({"task": "transcribe", "language": (form.get("language") or b"English").decode(), "duration": 0.1,
                        "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 0.1, "text": " hello world", "tokens": [],
                                      "temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0, "no_speech_prob": 0.01}]})
        return self.send(200, doc)

    def form(self, payload):
        """The fields of a multipart/form-data body, or None when it is not one."""
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            return None
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + payload)
        return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True) for part in msg.iter_parts()}

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
    """fake_upstream.py PORT [--tls CERT KEY]: with --tls it speaks HTTPS with that certificate."""
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    if "--tls" in sys.argv:
        import ssl
        i = sys.argv.index("--tls")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[i + 1], sys.argv[i + 2])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        global TLS
        TLS = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
