#!/usr/bin/env python3
"""End-to-end: media processing (/v1/ffmpeg, trim, resize, slice, probe) on real media that ffmpeg
makes here, through the real vargd: results measured with ffprobe, pixels read back, metering,
cache and cancel, and every escape attempt refused with nothing leaked.
Usage: test_media.py /path/to/vargd"""
import glob, json, os, shutil, subprocess, tempfile, time, unittest

from harness import Vargd, balance, call, wait_job

TMP = tempfile.mkdtemp(prefix="varg-media-test-")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-hide_banner", "-loglevel", "error", *args], check=True, cwd=TMP)


def make_media():
    # 6 s, 640x360 at 30 fps, a keyframe every second: red for 2 s, then green, then blue; a tone.
    ffmpeg("-f", "lavfi", "-i", "color=red:s=640x360:r=30:d=2", "-f", "lavfi", "-i", "color=lime:s=640x360:r=30:d=2",
           "-f", "lavfi", "-i", "color=blue:s=640x360:r=30:d=2", "-f", "lavfi", "-i", "sine=f=440:d=6",
           "-filter_complex", "[0][1][2]concat=n=3:v=1:a=0[v]", "-map", "[v]", "-map", "3", "-c:v", "libx264",
           "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "colors.mp4")
    # 640x360: lime for x < 80, red to 320, blue from 320.
    stripes = "drawbox=x=0:y=0:w=80:h=360:color=lime:t=fill,drawbox=x=320:y=0:w=320:h=360:color=blue:t=fill"
    ffmpeg("-f", "lavfi", "-i", "color=red:s=640x360", "-vf", stripes, "-frames:v", "1", "stripes.png")
    ffmpeg("-f", "lavfi", "-i", "color=red:s=640x360:r=30:d=1", "-vf", stripes, "-c:v", "libx264", "-pix_fmt", "yuv420p", "stripes.mp4")
    ffmpeg("-f", "lavfi", "-i", "sine=f=300:d=4", "tone.mp3")


def read(name):
    with open(os.path.join(TMP, name), "rb") as f:
        return f.read()


def probe(data):
    path = os.path.join(TMP, "probe-%f" % time.time())
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
                         capture_output=True, text=True, check=True).stdout
    os.remove(path)
    doc = json.loads(out)
    video = [s for s in doc["streams"] if s["codec_type"] == "video"]
    # A video's duration is its picture's (an AAC track overhangs a cut by a frame or so).
    duration = float(video[0]["duration"]) if video and "duration" in video[0] else float(doc["format"].get("duration", 0))
    return {"duration": duration, "format": doc["format"]["format_name"],
            "width": video[0]["width"] if video else None, "height": video[0]["height"] if video else None,
            "codec": video[0]["codec_name"] if video else None}


def pixel(data, x, y):
    """(r, g, b) of the first frame at (x, y)."""
    path = os.path.join(TMP, "px-%f" % time.time())
    with open(path, "wb") as f:
        f.write(data)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    w = probe(data)["width"]
    os.remove(path)
    i = (y * w + x) * 3
    return tuple(raw[i:i + 3])


def color_of(rgb):
    r, g, b = rgb
    if r > 150 and g < 90 and b < 90: return "red"
    if g > 150 and r < 90 and b < 90: return "lime"
    if b > 150 and r < 90 and g < 90: return "blue"
    if r < 40 and g < 40 and b < 40: return "black"
    return "other %r" % (rgb,)


def running(word):
    """Pids of the processes whose command line has `word` (from /proc: no procps needed)."""
    found = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                if word.encode() in f.read():
                    found.append(cmdline.split("/")[2])
        except OSError:
            pass
    return found


def fetch(url):
    s, h, body = call("GET", url)
    assert s == 200, (url, s)
    return body, h


def setUpModule():
    make_media()


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


class Media(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v = Vargd(["--allow-private-urls", "1", "--media-timeout", "60"])
        cls.u = cls.v.url
        cls.key = cls.v.user("media@example.com", 10000)
        cls.urls = {n: cls.upload(cls.key, read(n)) for n in ("colors.mp4", "stripes.png", "stripes.mp4", "tone.mp3")}

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()

    @classmethod
    def upload(cls, key, data):
        s, _, f = call("POST", cls.u + "/v1/files", key, raw=data, headers={"Content-Type": "application/octet-stream"})
        assert s == 200, f
        return f["url"]

    def op(self, path, body, key=None, expect="completed"):
        s, h, j = call("POST", self.u + "/v1/ffmpeg" + path, key or self.key, body, {"Prefer": "wait=60"})
        self.assertIn(s, (200, 202), j)
        if j["status"] not in ("completed", "failed", "cancelled"):
            j = wait_job(self.u, key or self.key, j["job_id"], 60)
        self.assertEqual(j["status"], expect, j)
        return j

    # ---- trim ----
    def test_trim_keyframe_and_precise(self):
        src = self.urls["colors.mp4"]
        fast = self.op("/trim", {"url": src, "start": 2.5, "end": 4.5})
        self.assertEqual(fast["model"], "ffmpeg:trim")
        self.assertEqual(fast["output"]["media_type"], "video/mp4")
        fast_bytes, _ = fetch(fast["output"]["url"])
        # A stream copy starts at the keyframe at or before 2.5 s (2.0 s): the cut is longer than asked.
        d = probe(fast_bytes)["duration"]
        self.assertGreaterEqual(d, 2.0)
        self.assertLess(d, 2.7)
        self.assertEqual(color_of(pixel(fast_bytes, 320, 180)), "lime")
        precise = self.op("/trim", {"url": src, "start": 1.5, "duration": 1.0, "precise": True})
        pb, _ = fetch(precise["output"]["url"])
        self.assertAlmostEqual(probe(pb)["duration"], 1.0, delta=0.07)
        late = self.op("/trim", {"url": src, "start": 3.5, "end": 4.5, "precise": True})
        lb, _ = fetch(late["output"]["url"])
        self.assertAlmostEqual(probe(lb)["duration"], 1.0, delta=0.07)
        audio = self.op("/trim", {"url": self.urls["tone.mp3"], "start": 1, "end": 2.5, "precise": True})
        self.assertEqual(audio["output"]["media_type"], "audio/mpeg")
        ab, _ = fetch(audio["output"]["url"])
        self.assertAlmostEqual(probe(ab)["duration"], 1.5, delta=0.1)

    def test_trim_rules_are_400s_naming_the_field(self):
        for body, field in (({"start": 1, "end": 2}, "url"), ({"url": "u", "end": 2}, "start"),
                            ({"url": "u", "start": 1, "end": 2, "duration": 1}, "duration"),
                            ({"url": "u", "start": 3, "end": 2}, "end"), ({"url": "u", "start": "1", "end": 2}, "start"),
                            ({"url": "u", "start": 1, "end": 2, "precise": "yes"}, "precise")):
            s, _, e = call("POST", self.u + "/v1/ffmpeg/trim", self.key, body)
            self.assertEqual(s, 400, (body, e))
            self.assertEqual(e.get("field"), field, (body, e))

    # ---- resize ----
    def test_resize_each_fit_mode(self):
        src = self.urls["stripes.png"]
        cover = self.op("/resize", {"url": src, "width": 300, "height": 300})
        cb, _ = fetch(cover["output"]["url"])
        self.assertEqual((probe(cb)["width"], probe(cb)["height"]), (300, 300))
        self.assertEqual(cover["output"]["media_type"], "image/png")
        self.assertEqual(color_of(pixel(cb, 2, 150)), "red", "cover crops the sides: the lime edge is gone")
        self.assertEqual(color_of(pixel(cb, 250, 2)), "blue", "and fills the height")
        contain = self.op("/resize", {"url": src, "width": 300, "height": 300, "fit": "contain"})
        nb, _ = fetch(contain["output"]["url"])
        self.assertEqual((probe(nb)["width"], probe(nb)["height"]), (300, 300))
        self.assertEqual(color_of(pixel(nb, 150, 5)), "black", "contain adds bars")
        self.assertEqual(color_of(pixel(nb, 2, 150)), "lime", "and keeps the whole width")
        stretch = self.op("/resize", {"url": src, "width": 300, "height": 300, "fit": "stretch"})
        sb, _ = fetch(stretch["output"]["url"])
        self.assertEqual((probe(sb)["width"], probe(sb)["height"]), (300, 300))
        self.assertEqual(color_of(pixel(sb, 2, 150)), "lime")
        self.assertEqual(color_of(pixel(sb, 250, 2)), "blue", "no bars")
        one = self.op("/resize", {"url": src, "width": 320})
        ob, _ = fetch(one["output"]["url"])
        self.assertEqual((probe(ob)["width"], probe(ob)["height"]), (320, 180), "the other side keeps the aspect ratio")
        video = self.op("/resize", {"url": self.urls["stripes.mp4"], "height": 200, "width": 200, "fit": "contain"})
        self.assertEqual(video["output"]["media_type"], "video/mp4")
        vb, _ = fetch(video["output"]["url"])
        self.assertEqual(probe(vb)["width"], 200)
        self.assertEqual(probe(vb)["height"], 200)
        self.assertEqual(probe(vb)["codec"], "h264")
        tall = self.op("/resize", {"url": self.urls["stripes.mp4"], "height": 101})
        tb, _ = fetch(tall["output"]["url"])
        self.assertEqual((probe(tb)["width"], probe(tb)["height"]), (178, 100), "video sizes are even")
        s, _, e = call("POST", self.u + "/v1/ffmpeg/resize", self.key, {"url": src})
        self.assertEqual((s, e.get("field")), (400, "width"))
        audio = self.op("/resize", {"url": self.urls["tone.mp3"], "width": 10}, expect="failed")
        self.assertIn("video or an image", audio["error"])

    # ---- slice ----
    def check_segments(self, job, expected, width=640, height=360):
        segs = job["output"]["segments"]
        self.assertEqual([(s["start"], s["end"]) for s in segs], [e[:2] for e in expected])
        self.assertEqual(job["output"]["url"], segs[0]["url"], "output.url is the first segment")
        for seg, (start, end, color) in zip(segs, expected):
            self.assertEqual(seg["media_type"], "video/mp4")
            data, _ = fetch(seg["url"])
            self.assertAlmostEqual(probe(data)["duration"], end - start, delta=0.1, msg=seg)
            first, _ = fetch(seg["first_frame"]["url"])
            self.assertEqual(seg["first_frame"]["media_type"], "image/jpeg")
            self.assertEqual((probe(first)["width"], probe(first)["height"]), (width, height), "full resolution")
            self.assertEqual(color_of(pixel(first, 320, 180)), color, seg)
            thumb, _ = fetch(seg["thumbnail"]["url"])
            self.assertEqual(seg["thumbnail"]["media_type"], "image/webp")
            self.assertEqual(probe(thumb)["width"], 480)
            self.assertEqual(probe(thumb)["height"], 270)

    def test_slice_each_selector(self):
        src = self.urls["colors.mp4"]
        three = [(0, 2, "red"), (2, 4, "lime"), (4, 6, "blue")]
        self.check_segments(self.op("/slice", {"video_url": src, "every": 2}), three)
        self.check_segments(self.op("/slice", {"video_url": src, "at": [4, 2]}), three)
        self.check_segments(self.op("/slice", {"video_url": src, "count": 3}), three)
        self.check_segments(self.op("/slice", {"video_url": src, "ranges": [{"start": 0, "end": 1}, {"start": 4, "end": 9}]}),
                            [(0, 1, "red"), (4, 6, "blue")])
        # Re-encoded: cut between keyframes, frame-accurate.
        self.check_segments(self.op("/slice", {"video_url": src, "at": [2.5], "codec": "reencode"}), [(0, 2.5, "red"), (2.5, 6, "lime")])
        bare = self.op("/slice", {"video_url": src, "count": 2, "thumbnails": False})
        self.assertNotIn("first_frame", bare["output"]["segments"][0])
        for body, field in (({"video_url": src}, "every"), ({"video_url": src, "every": 2, "count": 2}, "every"),
                            ({"video_url": src, "count": 1}, "count"), ({"video_url": src, "every": 0.01}, "every"),
                            ({"video_url": src, "at": "2"}, "at"), ({"video_url": src, "ranges": [{"start": 2, "end": 1}]}, "ranges"),
                            ({"video_url": src, "every": 2, "codec": "fast"}, "codec")):
            s, _, e = call("POST", self.u + "/v1/ffmpeg/slice", self.key, body)
            self.assertEqual((s, e.get("field")), (400, field), body)
        late = self.op("/slice", {"video_url": src, "ranges": [{"start": 10, "end": 12}]}, expect="failed")
        self.assertIn("after the end", late["error"])

    # ---- the custom command ----
    def test_command_with_url_and_with_two_inputs(self):
        j = self.op("", {"url": self.urls["colors.mp4"], "command": "-vf eq=brightness=0.1 -c:a copy -t 1"})
        self.assertEqual(j["model"], "ffmpeg:command")
        data, _ = fetch(j["output"]["url"])
        self.assertAlmostEqual(probe(data)["duration"], 1.0, delta=0.1)
        self.assertEqual(j["output"]["files"]["out_1"]["name"], "output.mp4")
        two = self.op("", {"input_files": {"in_1": self.urls["colors.mp4"], "in_2": self.urls["stripes.png"]},
                           "command": "-i {{in_1}} -i {{in_2}} -filter_complex \"[0:v]pad=1280:360[p];[p][1:v]overlay=x=640:y=0[v]\" "
                                      "-map [v] -t 1 -c:v libx264 -pix_fmt yuv420p {{out_1}} -map 1:v -frames:v 1 {{out_2}}",
                           "output_files": {"out_1": "side.mp4", "out_2": "frame.jpg"}})
        files = two["output"]["files"]
        self.assertEqual(sorted(files), ["out_1", "out_2"])
        side, _ = fetch(files["out_1"]["url"])
        self.assertEqual((probe(side)["width"], probe(side)["height"]), (1280, 360))
        self.assertEqual(color_of(pixel(side, 320, 180)), "red")
        self.assertEqual(color_of(pixel(side, 640 + 2, 180)), "lime")
        frame, _ = fetch(files["out_2"]["url"])
        self.assertEqual(files["out_2"]["media_type"], "image/jpeg")
        self.assertEqual(probe(frame)["width"], 640)

    def test_every_escape_attempt_fails_and_leaks_nothing(self):
        src = self.urls["colors.mp4"]
        before = set(glob.glob("/tmp/*"))
        refused = [
            {"url": src, "command": "-i /etc/passwd"},
            {"url": src, "command": "-i file:/etc/passwd -map 1"},
            {"url": src, "command": "-f concat -safe 0 -i {{in_1}}"},
            {"url": src, "command": "-vf movie=/etc/passwd"},
            {"url": src, "command": "-filter_complex amovie=/etc/passwd"},
            {"url": src, "command": "-vf subtitles=/etc/passwd"},
            {"url": src, "command": "-vf drawtext=textfile=/etc/passwd"},
            {"url": src, "command": "-vf \"scale=2:2,movie=/etc/passwd\""},
            {"url": src, "command": "-i subfile,,start,0,end,0,,:/etc/passwd"},
            {"url": src, "command": "-i concat:/etc/passwd|/etc/hosts"},
            {"url": src, "command": "-f lavfi -i movie=/etc/passwd"},
            {"url": src, "command": "-f v4l2 -i /dev/video0"},
            {"url": src, "command": "-c copy /tmp/varg-escape.mp4"},
            {"url": src, "command": "-f tee [f=mp4]/tmp/varg-escape.mp4"},
            {"url": src, "command": "-vstats_file /tmp/varg-escape.txt"},
            {"url": src, "command": "-progress /tmp/varg-escape.txt"},
            {"url": src, "command": "-attach /etc/passwd"},
            {"url": src, "command": "-filter_complex_script /etc/passwd"},
            {"url": src, "command": "-f hls -hls_segment_filename /tmp/varg-escape%d.ts"},
            {"url": src, "command": "-an", "output_files": {"out_1": "/tmp/varg-escape.mp4"}},
            {"url": src, "command": "-an", "output_files": {"out_1": "../../varg-escape.mp4"}},
            {"input_files": {"in_1": src}, "command": "-i {{in_1}} -i {{in_2}} {{out_1}}"},
        ]
        for body in refused:
            s, _, e = call("POST", self.u + "/v1/ffmpeg", self.key, body)
            self.assertEqual(s, 400, (body, e))
            self.assertIn(e.get("field"), ("command", "output_files"), (body, e))
            self.assertNotIn("root:", json.dumps(e))
        # Hostile files: a playlist, a concat list, a file URL, and a "video" whose bytes are a playlist.
        playlist = self.upload(self.key, b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
        concat = self.upload(self.key, b"ffconcat version 1.0\nfile '/etc/passwd'\n")
        disguised = self.upload(self.key, b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n")
        for url in (playlist, concat, disguised):
            for path, body in (("", {"url": url, "command": "-c copy"}), ("/trim", {"url": url, "start": 0, "end": 1}),
                               ("/resize", {"url": url, "width": 10}), ("/slice", {"video_url": url, "every": 1})):
                j = self.op(path, body, expect="failed")
                self.assertNotIn("root:", j["error"], (path, url))
            s, _, e = call("POST", self.u + "/v1/ffmpeg/probe", self.key, {"url": url})
            self.assertEqual(s, 400, e)
            self.assertNotIn("root:", json.dumps(e))
        for url in ("file:///etc/passwd", "/etc/passwd", "concat:/etc/passwd"):
            s, _, e = call("POST", self.u + "/v1/ffmpeg/trim", self.key, {"url": url, "start": 0, "end": 1})
            self.assertEqual((s, e.get("field")), (400, "files"), e)
            self.assertNotIn("root:", json.dumps(e))
        self.assertEqual(set(glob.glob("/tmp/varg-escape*")), set(), "nothing was written outside the job")
        self.assertFalse(any(p.startswith("/tmp/varg-escape") for p in set(glob.glob("/tmp/*")) - before))

    # ---- probe, metering, cache, cancel ----
    def test_probe_answers_at_once_and_is_metered_once(self):
        key = self.v.user("prober@example.com", 100)
        src = self.upload(key, read("colors.mp4"))
        s, h, p = call("POST", self.u + "/v1/ffmpeg/probe", key, {"url": src})
        self.assertEqual(s, 200, p)
        self.assertAlmostEqual(p["duration"], 6.0, delta=0.1)
        self.assertEqual((p["width"], p["height"], p["codec"], p["audio_codec"], p["fps"]), (640, 360, "h264", "aac", 30))
        self.assertIn("mp4", p["format"])
        self.assertEqual(p["size_bytes"], len(read("colors.mp4")))
        self.assertGreater(p["bitrate"], 0)
        self.assertEqual(balance(self.u, key)["balance_cents"], 95, "5 credits")
        s, h, again = call("POST", self.u + "/v1/ffmpeg/probe", key, {"url": src})
        self.assertEqual((s, again, h.get("X-Cache")), (200, p, "HIT"))
        self.assertEqual(balance(self.u, key)["balance_cents"], 95, "a cache hit is free")
        s, _, e = call("POST", self.u + "/v1/ffmpeg/probe", key, {})
        self.assertEqual((s, e.get("field")), (400, "url"))

    def test_jobs_are_metered_cached_listed_and_cancellable(self):
        key = self.v.user("meter@example.com", 100)
        src = self.upload(key, read("colors.mp4"))
        j = self.op("/trim", {"url": src, "start": 0, "end": 1}, key)
        self.assertEqual(j["billing"], {"mode": "metered", "cost_cents": 5})
        hit = self.op("/trim", {"url": src, "start": 0, "end": 1}, key)
        self.assertTrue(hit["cache"]["hit"])
        self.assertEqual(hit["billing"]["cost_cents"], 0)
        self.assertEqual(hit["output"]["url"], j["output"]["url"])
        s, _, est = call("POST", self.u + "/v1/estimate", key, {"capability": "ffmpeg", "body": {"model": "trim", "url": src, "start": 0, "end": 2}})
        self.assertEqual((s, est["credits"], est["billing"]["mode"]), (200, 5, "metered"))
        self.assertEqual(balance(self.u, key)["balance_cents"], 95)
        s, _, listed = call("GET", self.u + "/v1/jobs?capability=ffmpeg", key)
        self.assertEqual(sorted(x["job_id"] for x in listed["jobs"]), sorted([hit["job_id"], j["job_id"]]))
        # A long job, cancelled: ffmpeg stops and the reservation comes back.
        s, _, long = call("POST", self.u + "/v1/ffmpeg", key, {"input_files": {"in_1": src},
                                                               "command": "-stream_loop -1 -i {{in_1}} -t 3000 -c:v libx264 {{out_1}}"})
        self.assertEqual(s, 202, long)
        for _ in range(100):
            if call("GET", self.u + "/v1/jobs/" + long["job_id"], key)[2]["status"] == "processing":
                break
            time.sleep(0.05)
        self.assertEqual(balance(self.u, key)["reserved_cents"], 5, "reserved while it runs")
        self.assertEqual(call("DELETE", self.u + "/v1/jobs/" + long["job_id"], key)[0], 204)
        done = wait_job(self.u, key, long["job_id"])
        self.assertEqual(done["status"], "cancelled", done)
        self.assertEqual(balance(self.u, key)["balance_cents"], 95, "released")
        time.sleep(0.5)
        self.assertEqual(running("stream_loop"), [], "no ffmpeg left running")
        broke = self.v.user("broke@example.com", 4)
        src2 = self.upload(broke, read("tone.mp3"))
        s, _, e = call("POST", self.u + "/v1/ffmpeg/trim", broke, {"url": src2, "start": 0, "end": 1})
        self.assertEqual(s, 402, e)


class Limits(unittest.TestCase):
    """A vargd with small media limits: a job past its time or its output size fails cleanly, released."""

    @classmethod
    def setUpClass(cls):
        cls.v = Vargd(["--media-timeout", "3", "--media-output-mb", "1"])
        cls.key = cls.v.user("limits@example.com", 100)

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()

    def test_time_and_output_limits(self):
        u = self.v.url
        s, _, f = call("POST", u + "/v1/files", self.key, raw=read("colors.mp4"))
        slow = call("POST", u + "/v1/ffmpeg", self.key, {"input_files": {"in_1": f["url"]},
                                                         "command": "-stream_loop -1 -i {{in_1}} -t 3000 -c:v libx264 {{out_1}}"})[2]
        j = wait_job(u, self.key, slow["job_id"], 30)
        self.assertEqual(j["status"], "failed", j)
        self.assertIn("ran out of time", j["error"])
        big = call("POST", u + "/v1/ffmpeg", self.key, {"input_files": {"in_1": f["url"]}, "command": "-stream_loop 20 -i {{in_1}} -c:v png {{out_1}}",
                                                        "output_files": {"out_1": "big.mkv"}})[2]
        j = wait_job(u, self.key, big["job_id"], 30)
        self.assertEqual(j["status"], "failed", j)
        self.assertIn("1 MiB", j["error"])
        self.assertEqual(balance(u, self.key)["balance_cents"], 100, "failed jobs cost nothing")


if __name__ == "__main__":
    import sys
    unittest.main(argv=sys.argv[:1])
