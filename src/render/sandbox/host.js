// The evaluator's host side, run by node (-e) in a separate, locked-down process per evaluation.
// stdin: one JSON line {runtime, code}, then answers to generation requests; stdout: JSON lines.
// The composition runs in a vm context that holds no host object: the host only calls the
// context's own bridge functions with strings and reads strings back.
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
const text = (e) => {
  try {
    if (e && typeof e === "object" && typeof e.message === "string") {
      const where = /composition\.tsx:(\d+):(\d+)/.exec(String(e.stack || ""));
      return e.message.slice(0, 2000) + (where ? " (line " + where[1] + ", column " + where[2] + ")" : "");
    }
    return String(e).slice(0, 2000);
  } catch {
    return "the composition threw an unprintable value";
  }
};

function pump() {
  if (finished || !ctx) return;
  let s;
  try {
    s = vm.runInContext("__vargDrain()", ctx, { timeout: 1000 });
  } catch (e) {
    return end({ op: "error", message: text(e), category: "invalid_source" });
  }
  if (typeof s !== "string" || s === "") return;
  for (const line of s.split("\n")) {
    let m;
    try { m = JSON.parse(line); } catch { continue; }
    if (m.op === "result" || m.op === "error") return end(m);
    out(line);
  }
}

async function start(msg) {
  ctx = vm.createContext(Object.create(null), { name: "composition", codeGeneration: { strings: false, wasm: false } });
  vm.runInContext(String(msg.runtime), ctx, { filename: "varg-runtime.js", timeout: 2000 });
  const exportsObj = vm.runInContext("__vargExports", ctx);
  const names = Object.keys(exportsObj);
  const synthetic = new Map();
  const user = new vm.SourceTextModule(String(msg.code), { context: ctx, identifier: "composition.tsx" });
  const entry = new vm.SourceTextModule('import def from "composition";\n__vargFinish(def);\n', { context: ctx, identifier: "entry" });
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
  entry.evaluate({ timeout: Number(msg.sync_timeout_ms) || 5000 }).then(pump, (e) => {
    pump();
    end({ op: "error", message: text(e), category: "invalid_source" });
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
      start(msg).catch((e) => end({ op: "error", message: text(e), category: "invalid_source" }));
      continue;
    }
    try {
      vm.runInContext("__vargDeliver", ctx)(line);
    } catch (e) {
      end({ op: "error", message: text(e), category: "invalid_source" });
    }
    pump();
  }
});
process.stdin.on("end", () => end({ op: "error", message: "vargd closed the evaluation", category: "internal" }));
