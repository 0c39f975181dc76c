// varg's own runtime of the composition components, evaluated INSIDE the sandbox's vm context.
// It builds a plain element tree; media elements are thenables whose `await` asks the host (vargd)
// to generate them, over string messages only. Nothing of the host is reachable from here.
(function () {
  "use strict";
  const G = globalThis;
  const outbox = [];
  const pending = new Map();
  let nextRequest = 1;
  const send = (m) => outbox.push(JSON.stringify(m));

  class VargError extends Error {
    constructor(message, category) {
      super(message);
      this.category = category || "invalid_source";
    }
  }

  // ---- elements ----
  const ELEMENT = Symbol("varg.element");
  const MEDIA = new Set(["image", "video", "speech", "music", "talking-head"]);

  function flatten(children, out) {
    if (Array.isArray(children)) {
      for (const c of children) flatten(c, out);
    } else if (children !== null && children !== undefined && children !== false && children !== true) {
      out.push(children);
    }
    return out;
  }

  const ElementProto = {
    get duration() { return this.meta ? this.meta.duration || 0 : 0; },
    get words() { return this.meta ? this.meta.words || [] : []; },
    get segments() { return this.meta ? this.meta.segments || [] : []; },
    get audio() { return this; },
    get file() { return this.meta ? { url: this.meta.url, mediaType: this.meta.mediaType } : undefined; },
    get url() { return this.meta ? this.meta.url : undefined; },
    get aspectRatio() { return this.props.aspectRatio; },
    get text() { return this.meta && this.meta.text !== undefined ? this.meta.text : undefined; },
    get start() { return this.meta ? this.meta.start : undefined; },
    get end() { return this.meta ? this.meta.end : undefined; },
  };

  function el(type, props) {
    const p = Object.assign({}, props || {});
    let children = p.children;
    delete p.children;
    if ((type === "title" || type === "subtitle") && children === undefined && p.text !== undefined) children = p.text;
    const e = Object.create(ElementProto);
    e[ELEMENT] = true;
    e.type = type;
    e.props = p;
    e.children = flatten(children, []);
    if (MEDIA.has(type)) {
      // One-shot: `await Speech(...)` generates now; without await the render generates it later.
      Object.defineProperty(e, "then", {
        configurable: true, enumerable: false, writable: true,
        value(resolve, reject) {
          delete e.then;
          resolveElement(e).then(() => resolve(e), reject);
        },
      });
    }
    return e;
  }
  const isElement = (v) => v !== null && typeof v === "object" && v[ELEMENT] === true;

  // ---- generation requests to the host ----
  function request(node) {
    const id = nextRequest++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      send({ op: "resolve", id, node });
    });
  }
  const inflight = new WeakMap();
  function resolveElement(e) {
    if (e.meta) return Promise.resolve(e);
    if (!inflight.has(e)) inflight.set(e, generate(e));
    return inflight.get(e);
  }
  async function generate(e) {
    // Inputs first (an image inside a video's prompt, the speech of a talking head).
    const inputs = [];
    collectMedia(e.props, inputs, new Set(), 0);
    await Promise.all(inputs.map(resolveElement));
    const meta = await request(new Serializer().node(e));
    e.meta = meta;
    if (Array.isArray(meta.segments)) {
      e.meta.segments = meta.segments.map((s, i) => {
        const seg = el("speech", {});
        delete seg.then;
        seg.meta = Object.assign({}, s, { url: meta.url, segmentOf: true, index: i });
        return seg;
      });
    }
    return e;
  }
  function collectMedia(v, out, seen, depth) {
    if (depth > 64 || v === null || typeof v !== "object" || seen.has(v)) return;
    seen.add(v);
    if (isElement(v)) {
      if (MEDIA.has(v.type) && !v.meta) out.push(v);
      collectMedia(v.props, out, seen, depth + 1);
      for (const c of v.children) collectMedia(c, out, seen, depth + 1);
      return;
    }
    for (const k of Object.keys(v)) collectMedia(v[k], out, seen, depth + 1);
  }

  // ---- serialization to the JSON tree ----
  class Serializer {
    constructor() { this.ids = new Map(); this.defs = {}; this.n = 0; }
    value(v, depth) {
      if (depth > 64) throw new VargError("The composition is nested too deeply");
      if (v === null || typeof v === "string" || typeof v === "boolean") return v;
      if (typeof v === "number") return Number.isFinite(v) ? v : null;
      if (typeof v === "function" || typeof v === "undefined" || typeof v === "symbol" || typeof v === "bigint") return undefined;
      if (isElement(v)) return this.node(v, depth + 1);
      if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1)).filter((x) => x !== undefined);
      const out = {};
      for (const k of Object.keys(v)) {
        const x = this.value(v[k], depth + 1);
        if (x !== undefined) out[k] = x;
      }
      return out;
    }
    node(e, depth = 0) {
      if (this.ids.has(e)) return { $ref: this.ids.get(e) };
      const id = "n" + ++this.n;
      this.ids.set(e, id);
      const out = { type: e.type, id, props: this.value(e.props, depth), children: [] };
      for (const c of e.children) {
        if (typeof c === "string" || typeof c === "number") out.children.push(String(c));
        else if (isElement(c)) out.children.push(this.node(c, depth + 1));
        else if (c && typeof c === "object" && c.__lazy) throw new VargError("An async component was not awaited");
      }
      if (e.meta) out.meta = this.value(e.meta, depth);
      return out;
    }
  }

  // Async components become lazy placeholders, resolved before serialization. Results are boxed
  // so that awaiting never triggers a media element's own `then`.
  async function settle(v, depth) {
    if (depth > 64) throw new VargError("The composition is nested too deeply");
    if (v && typeof v === "object" && !isElement(v) && v.__lazy) v = (await v.promise.then((x) => [x]))[0];
    if (Array.isArray(v)) {
      const out = [];
      for (const x of v) flatten((await settle(x, depth + 1)).v, out);
      return { v: out };
    }
    if (isElement(v)) {
      const kids = [];
      for (const c of v.children) flatten((await settle(c, depth + 1)).v, kids);
      v.children = kids;
    }
    return { v };
  }

  function describe(v) {
    if (isElement(v)) return "<" + v.type + ">";
    if (v === null) return "null";
    if (Array.isArray(v)) return "an array";
    return typeof v;
  }

  async function finish(def) {
    try {
      let root = def;
      if (typeof root === "function") root = (await Promise.resolve(root({})).then((x) => [x]))[0];
      root = (await settle(root, 0)).v;
      if (!isElement(root) || root.type !== "render")
        throw new VargError("The default export must be a <Render> element, got " + describe(root), "not_render");
      const media = [];
      collectMedia(root, media, new Set(), 0);
      await Promise.all(media.map(resolveElement));
      send({ op: "result", tree: new Serializer().node(root) });
    } catch (e) {
      send({ op: "error", message: errorText(e), category: e && e.category ? String(e.category) : "invalid_source" });
    }
  }

  function errorText(e) {
    if (e instanceof Error) {
      const where = /composition\.tsx:(\d+):(\d+)/.exec(String(e.stack || ""));
      return e.message + (where ? " (line " + where[1] + ", column " + where[2] + " of the transpiled code)" : "");
    }
    return "Uncaught " + String(e);
  }

  // ---- components ----
  const comp = (type) => (props) => el(type, props);
  const C = {
    Render: comp("render"), Clip: comp("clip"), Overlay: comp("overlay"), Captions: comp("captions"),
    Title: comp("title"), Subtitle: comp("subtitle"), Slider: comp("slider"), Swipe: comp("swipe"),
    Packshot: comp("packshot"), Image: comp("image"), Video: comp("video"), Music: comp("music"),
    TalkingHead: comp("talking-head"),
    Speech: (props) => el("speech", props),
  };
  C.Grid = (props) => {
    const kids = flatten(props && props.children, []).filter(isElement);
    const n = kids.length || 1;
    const cols = Math.max(1, Math.floor((props && props.columns) || n));
    const rows = Math.max(1, Math.floor((props && props.rows) || Math.ceil(n / cols)));
    return kids.map((k, i) =>
      el("layer", {
        left: ((i % cols) * 100) / cols + "%", top: (Math.floor(i / cols) * 100) / rows + "%",
        width: 100 / cols + "%", height: 100 / rows + "%", resize: (props && props.resize) || "cover",
        children: [k],
      }));
  };
  C.Split = (props) => {
    const kids = flatten(props && props.children, []).filter(isElement);
    const vertical = props && props.direction === "vertical";
    return C.Grid({ children: kids, columns: vertical ? 1 : kids.length || 1, rows: vertical ? kids.length || 1 : 1, resize: props && props.resize });
  };
  C.Fragment = (props) => (props ? props.children : undefined);

  function jsx(type, props) {
    if (typeof type !== "function") throw new VargError("Unknown element <" + String(type) + ">; use the varg components");
    const r = type(props || {});
    if (r && typeof r === "object" && !isElement(r) && typeof r.then === "function") return { __lazy: true, promise: r };
    return r;
  }

  // ---- model helpers (factories only; they never call anything) ----
  const model = (provider, kind) => (modelId, settings) => {
    const m = { $model: true, provider, kind, modelId: String(modelId) };
    if (settings && typeof settings === "object") m.settings = settings;
    return m;
  };
  const provider = (name, kinds) => {
    const p = {};
    for (const k of kinds) p[k + "Model"] = model(name, k);
    p.image = p.imageModel;
    return p;
  };
  const names = new Proxy({}, { get: (_, k) => (typeof k === "string" ? k.toLowerCase() : undefined) });
  const all = ["image", "video", "speech", "music", "transcription"];
  const P = {
    fal: provider("fal", all), varg: provider("varg", all), elevenlabs: provider("elevenlabs", ["speech", "music"]),
    higgsfield: Object.assign(provider("higgsfield", ["image", "video"]), { styles: names }),
    replicate: provider("replicate", all), openai: provider("openai", all), google: provider("google", all),
    together: provider("together", ["image"]),
  };
  P.createVarg = () => P.varg;
  P.VOICES = names;

  const exportsAll = Object.assign({}, C, P, {
    jsx, jsxs: jsx, jsxDEV: jsx, Fragment: C.Fragment, createElement: (t, p, ...c) => jsx(t, Object.assign({}, p, c.length ? { children: c } : {})),
    render: () => undefined, h: (t, p, ...c) => jsx(t, Object.assign({}, p, c.length ? { children: c } : {})),
  });

  const logLines = { n: 0 };
  const log = (level) => (...args) => {
    if (logLines.n++ < 200) send({ op: "log", level, text: args.map((a) => (typeof a === "string" ? a : safeJson(a))).join(" ").slice(0, 2000) });
  };
  function safeJson(v) { try { return JSON.stringify(v); } catch { return String(v); } }

  // Compositions without imports see the components as globals (like the SDK's auto-imports).
  for (const k of Object.keys(exportsAll)) G[k] = exportsAll[k];
  G.console = { log: log("info"), info: log("info"), warn: log("warn"), error: log("error"), debug: log("debug") };
  G.process = Object.freeze({ env: Object.freeze({}) });
  // Shared memory would let a composition block without spending CPU; WebAssembly is compiled
  // code that the sandbox has no need for.
  for (const k of ["SharedArrayBuffer", "Atomics", "WebAssembly"]) delete G[k];

  const bridge = {
    __vargExports: Object.freeze(exportsAll),
    __vargDrain: () => { const s = outbox.join("\n"); outbox.length = 0; return s; },
    __vargDeliver: (line) => {
      let m;
      try { m = JSON.parse(String(line)); } catch { return; }
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.meta || {});
      else p.reject(new VargError(String(m.error || "generation failed"), m.category));
    },
    __vargFinish: (def) => { finish(def); },
    __vargDescribe: (e) => errorText(e),
    __vargRefusal: (message) => new VargError(String(message)),
  };
  for (const k of Object.keys(bridge))
    Object.defineProperty(G, k, { value: bridge[k], writable: false, configurable: false, enumerable: false });

  // Freeze the realm's intrinsics: the host awaits this realm's promises, so nobody may patch
  // `then` or the prototypes the host's code paths touch.
  const freeze = (v) => {
    if (v === null || (typeof v !== "object" && typeof v !== "function")) return;
    try { Object.freeze(v); if (v.prototype) Object.freeze(v.prototype); } catch { /* ignore */ }
  };
  // ... and fix every global binding, so the runtime's own `JSON`, `Promise`, `String` stay ours.
  for (const k of Object.getOwnPropertyNames(G)) {
    if (k.startsWith("__varg")) continue;
    const d = Object.getOwnPropertyDescriptor(G, k);
    if (d && "value" in d) {
      freeze(d.value);
      if (d.configurable) Object.defineProperty(G, k, { value: d.value, writable: false, configurable: false, enumerable: d.enumerable });
    }
  }
  freeze(Object.getPrototypeOf(async function () {}));
  freeze(Object.getPrototypeOf(function* () {}));
  freeze(Object.getPrototypeOf(async function* () {}));
  freeze(Object.getPrototypeOf([][Symbol.iterator]()));
  freeze(ElementProto);
})();
