"""The fal endpoints the fake serves, with the input fields each one's published schema takes
(fal-ai/fal-js `types/endpoints.ts`): name -> a type, a tuple of types, or a list of allowed values.
`req` lists the required fields; `out` the result's shape. An endpoint not listed is a 404, a
missing required field or a wrong type a 422, as fal answers."""

IMAGE_SIZE = (str, dict)
URLS = list

EP = {}


def ep(name, out, req=(), **fields):
    EP[name] = {"out": out, "req": list(req), "fields": fields}


# ---- images ----
for name in ("fal-ai/flux/schnell", "fal-ai/flux/dev", "fal-ai/flux-pro/v1.1"):
    ep(name, "images", ["prompt"], prompt=str, image_size=IMAGE_SIZE, num_images=int)
ep("fal-ai/recraft/v3/text-to-image", "images", ["prompt"], prompt=str, image_size=IMAGE_SIZE)
ep("fal-ai/nano-banana-pro", "images", ["prompt"], prompt=str, num_images=int,
   aspect_ratio=["auto", "21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16"])
ep("fal-ai/phota", "images", ["prompt"], prompt=str, num_images=int, aspect_ratio=["auto", "1:1", "16:9", "4:3", "3:4", "9:16"])
ep("xai/grok-imagine-image", "images", ["prompt"], prompt=str, num_images=int,
   aspect_ratio=["2:1", "20:9", "19.5:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:19.5", "9:20", "1:2"])
for name in ("fal-ai/nano-banana-pro/edit", "fal-ai/nano-banana-2/edit", "fal-ai/phota/edit", "xai/grok-imagine-image/edit",
             "fal-ai/bytedance/seedream/v4.5/edit"):
    ep(name, "images", ["prompt", "image_urls"], prompt=str, image_urls=URLS, num_images=int)
ep("fal-ai/qwen-image-edit-2511-multiple-angles", "images", ["image_urls"], additional_prompt=str, image_urls=URLS, num_images=int)
ep("fal-ai/phota/enhance", "images", ["image_url"], image_url=str, num_images=int)
for name in ("fal-ai/topaz/upscale/image", "fal-ai/clarity-upscaler"):
    ep(name, "image", ["image_url"], image_url=str, prompt=str)
for name in ("fal-ai/seedvr/upscale/image", "fal-ai/recraft/upscale/crisp", "fal-ai/ccsr", "fal-ai/aura-sr"):
    ep(name, "image", ["image_url"], image_url=str)

# ---- video ----
KLING_AR = ["16:9", "9:16", "1:1"]
S5_10 = ["5", "10"]
for tier in ("pro", "standard"):
    ep("fal-ai/kling-video/o3/%s/text-to-video" % tier, "video", ["prompt"], prompt=str,
       duration=[str(d) for d in range(3, 16)], aspect_ratio=KLING_AR)
    ep("fal-ai/kling-video/o3/%s/image-to-video" % tier, "video", ["image_url"], prompt=str,
       duration=[str(d) for d in range(3, 16)], image_url=str, end_image_url=str)
SEEDANCE = dict(prompt=str, duration=["auto"] + [str(d) for d in range(4, 16)],
                aspect_ratio=["auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16"])
for base in ("bytedance/seedance-2.0", "bytedance/seedance-2.0/fast"):
    ep(base + "/text-to-video", "video", ["prompt"], **SEEDANCE)
    ep(base + "/image-to-video", "video", ["prompt", "image_url"], image_url=str, end_image_url=str, **SEEDANCE)
    ep(base + "/reference-to-video", "video", ["prompt"], image_urls=URLS, video_urls=URLS, audio_urls=URLS, **SEEDANCE)
for suffix in ("", "/pro"):
    ep("fal-ai/sora-2/text-to-video" + suffix, "video", ["prompt"], prompt=str, duration=[4, 8, 12, 16, 20],
       aspect_ratio=["16:9", "9:16"], delete_video=bool)
    ep("fal-ai/sora-2/image-to-video" + suffix, "video", ["prompt", "image_url"], prompt=str, duration=[4, 8, 12, 16, 20],
       aspect_ratio=["auto", "16:9", "9:16"], image_url=str, delete_video=bool)
ep("fal-ai/sora-2/video-to-video/remix", "video", ["prompt", "video_id"], prompt=str, video_id=str)
ep("fal-ai/wan-25-preview/text-to-video", "video", ["prompt"], prompt=str, duration=S5_10, aspect_ratio=KLING_AR, audio_url=str)
ep("fal-ai/wan-25-preview/image-to-video", "video", ["prompt", "image_url"], prompt=str, duration=S5_10, image_url=str, audio_url=str)
ep("fal-ai/minimax/hailuo-02/standard/text-to-video", "video", ["prompt"], prompt=str, duration=["6", "10"])
ep("fal-ai/minimax/hailuo-02/standard/image-to-video", "video", ["prompt", "image_url"], prompt=str, duration=["6", "10"],
   image_url=str, end_image_url=str)
ep("fal-ai/ltx-2-19b/distilled/text-to-video", "video", ["prompt"], prompt=str, num_frames=int, fps=int, video_size=IMAGE_SIZE)
ep("fal-ai/ltx-2-19b/distilled/image-to-video", "video", ["prompt", "image_url"], prompt=str, num_frames=int, fps=int,
   image_url=str, end_image_url=str)
ep("xai/grok-imagine-video/text-to-video", "video", ["prompt"], prompt=str, duration=list(range(1, 16)),
   aspect_ratio=["16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16"])
ep("xai/grok-imagine-video/image-to-video", "video", ["prompt", "image_url"], prompt=str, duration=list(range(1, 16)), image_url=str)
ep("xai/grok-imagine-video/edit-video", "video", ["prompt", "video_url"], prompt=str, video_url=str)
ep("fal-ai/kling-video/v2.6/pro/motion-control", "video", ["image_url", "video_url", "character_orientation"], prompt=str,
   image_url=str, video_url=str, character_orientation=["image", "video"])
ep("veed/fabric-1.0", "video", ["image_url", "audio_url", "resolution"], image_url=str, audio_url=str, resolution=["480p", "720p"])
for name in ("fal-ai/sync-lipsync/v2", "fal-ai/sync-lipsync/v2/pro"):
    ep(name, "video", ["video_url", "audio_url"], video_url=str, audio_url=str)
ep("fal-ai/bytedance/omnihuman/v1.5", "video", ["image_url", "audio_url"], image_url=str, audio_url=str, prompt=str)
for name in ("fal-ai/topaz/upscale/video", "fal-ai/seedvr/upscale/video", "fal-ai/bytedance-upscaler/upscale/video",
             "simalabs/sima-video-upscaler-lite"):
    ep(name, "video", ["video_url"], video_url=str)
ep("fal-ai/kling-video/v2.6/pro/text-to-video", "video", ["prompt"], prompt=str, duration=S5_10, aspect_ratio=KLING_AR)
ep("fal-ai/kling-video/v2.6/pro/image-to-video", "video", ["prompt", "start_image_url"], prompt=str, duration=S5_10,
   start_image_url=str, end_image_url=str)
for t2v, i2v in (("v2.5-turbo/pro/text-to-video", "v2.5-turbo/pro/image-to-video"),
                 ("v2.1/master/text-to-video", "v2.1/pro/image-to-video")):
    ep("fal-ai/kling-video/" + t2v, "video", ["prompt"], prompt=str, duration=S5_10, aspect_ratio=KLING_AR)
    ep("fal-ai/kling-video/" + i2v, "video", ["prompt", "image_url"], prompt=str, duration=S5_10, image_url=str, tail_image_url=str)
ep("fal-ai/kling-video/v2/master/text-to-video", "video", ["prompt"], prompt=str, duration=S5_10, aspect_ratio=KLING_AR)
ep("fal-ai/kling-video/v2/master/image-to-video", "video", ["prompt", "image_url"], prompt=str, duration=S5_10, image_url=str)

# ---- transcription ----
for name in ("fal-ai/whisper", "fal-ai/wizper"):
    ep(name, "text", ["audio_url"], audio_url=str, task=["transcribe", "translate"], language=str)


def check(name, inp):
    """None when `inp` is a valid input of endpoint `name`, else (status, detail)."""
    spec = EP.get(name)
    if spec is None:
        return 404, "Application '%s' not found" % name
    for f in spec["req"]:
        if f not in inp:
            return 422, [{"loc": ["body", f], "msg": "field required", "type": "value_error.missing"}]
    for f, want in spec["fields"].items():
        if f not in inp:
            continue
        v = inp[f]
        if isinstance(want, list):
            ok = v in want
        elif want is bool:
            ok = isinstance(v, bool)
        elif want is URLS:
            ok = isinstance(v, list) and v and all(isinstance(u, str) and u.startswith("http") for u in v)
        else:
            ok = isinstance(v, want) and not isinstance(v, bool) if want is int else isinstance(v, want)
            if ok and f.endswith("_url"):
                ok = v.startswith("http")
        if not ok:
            return 422, [{"loc": ["body", f], "msg": "invalid value %r" % (v,), "type": "value_error"}]
    return None
