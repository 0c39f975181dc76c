// The evaluator's host side, run by node (-e) in a separate, locked-down process per evaluation.
// stdin: one JSON line {runtime, code}, then answers to generation requests; stdout: JSON lines.
// The composition runs in a vm context that holds no host object: the host only calls the
// runtime's bridge functions (taken before any composition code runs) with strings, reads strings
// back (checked with typeof, which runs no code), and never reads a property of a value the
// composition made: errors are described by the runtime, inside the context. Dynamic import()
// is refused with an error made inside the context (node's own refusal would be a host object).
"use strict";
const vm = require("vm");
const ALLOWED = new Set(["vargai", "vargai/react", "vargai/ai", "vargai/jsx-runtime", "vargai/jsx-dev-runtime",
  "@vargai/gateway", "@vargai/react", "@vargai/sdk", "vargai/core"]);
let buf = "";
let ctx = null;
let finished = false;

const out = (line) => process.stdout.write(line + "\n");
function end(obj) {
  if (finished) return;
  finished = true;
  out(JSON.stringify(obj));
  process.exit(0);
}
// A host-side failure (ours, or node's watchdog): only our own text goes out.
const hostText = (e) => (e instanceof Error && typeof e.message === "string" ? e.message.slice(0, 2000) : "evaluation failed");
let bridge = null;  // the runtime's functions, read once before the composition runs
function describe(v) {
  if (!bridge) return "the composition's runtime did not start";
  try {
    const s = bridge.describe(v);
    return typeof s === "string" ? s.slice(0, 2000) : "the composition threw an unprintable value";
  } catch {
    return "the composition threw an unprintable value";
  }
}

function pump() {
  if (finished || !ctx) return;
  let s;
  try {
    s = bridge.drain();
  } catch {
    return end({ op: "error", message: "the composition's runtime failed", category: "invalid_source" });
  }
  if (typeof s !== "string" || s === "") return;
  for (const line of s.split("\n")) {
    let m;
    try { m = JSON.parse(line); } catch { continue; }
    if (m.op === "result" || m.op === "error") return end(m);
    out(line);
  }
}

// A host error (the watchdog's timeout, a refused import) is ours to read; anything else came
// from the composition and is described inside the context. (instanceof only walks prototypes.)
const message = (e) => (e instanceof Error ? hostText(e) : describe(e));

async function start(msg) {
  ctx = vm.createContext(Object.create(null), { name: "composition", codeGeneration: { strings: false, wasm: false } });
  vm.runInContext(String(msg.runtime), ctx, { filename: "varg-runtime.js", timeout: 2000 });
  bridge = {
    drain: vm.runInContext("__vargDrain", ctx),
    deliver: vm.runInContext("__vargDeliver", ctx),
    describe: vm.runInContext("__vargDescribe", ctx),
    refuse: vm.runInContext("__vargRefusal", ctx),
    finish: vm.runInContext("__vargFinish", ctx),
  };
  const exportsObj = vm.runInContext("__vargExports", ctx);
  const names = Object.keys(exportsObj);
  const synthetic = new Map();
  const noDynamicImport = () => {
    throw bridge.refuse("import() is not allowed in a composition: import only from vargai, at the top");
  };
  const user = new vm.SourceTextModule(String(msg.code), {
    context: ctx, identifier: "composition.tsx", importModuleDynamically: noDynamicImport,
  });
  const entry = new vm.SourceTextModule('import def from "composition";\n__vargFinish(def);\n', {
    context: ctx, identifier: "entry", importModuleDynamically: noDynamicImport,
  });
  await entry.link((spec, ref) => {
    if (spec === "composition" && ref === entry) return user;
    if (!ALLOWED.has(spec))
      throw new Error('Import of "' + spec + '" is not allowed: a composition may import only from vargai');
    if (!synthetic.has(spec))
      synthetic.set(spec, new vm.SyntheticModule(names.concat(["default"]), function () {
        for (const n of names) this.setExport(n, exportsObj[n]);
        this.setExport("default", exportsObj);
      }, { context: ctx, identifier: spec }));
    return synthetic.get(spec);
  });
  setInterval(pump, 3);
  entry.evaluate({ timeout: Number(msg.sync_timeout_ms) || 2500 }).then(pump, (e) => {
    pump();
    end({ op: "error", message: message(e), category: "invalid_source" });
  });
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (!ctx) {
      let msg;
      try { msg = JSON.parse(line); } catch { return end({ op: "error", message: "bad start message", category: "internal" }); }
      start(msg).catch((e) => end({ op: "error", message: message(e), category: "invalid_source" }));
      continue;
    }
    try {
      bridge.deliver(line);
    } catch {
      end({ op: "error", message: "the composition's runtime failed", category: "invalid_source" });
    }
    pump();
  }
});
process.stdin.on("end", () => end({ op: "error", message: "vargd closed the evaluation", category: "internal" }));
