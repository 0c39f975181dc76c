// The tiny test runner of the Node end-to-end tests (dashboard, MCP): every step says what it
// proves; a failure prints what was seen and the run goes on; `finish` runs the cleanups and exits
// with the failure count's verdict.
let failures = 0;
export const cleanups = [];

export async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n     ${String(e && e.stack || e).split('\n').slice(0, 6).join('\n     ')}`);
  }
}

export function expect(cond, msg) { if (!cond) throw new Error(msg); }

// Cleanups run in the order of the array (push: last; unshift: first), each best effort.
export async function finish(what) {
  for (const c of cleanups) { try { await c(); } catch (e) { /* best effort */ } }
  console.log(failures ? `${failures} failed` : `all ${what} passed`);
  process.exit(failures ? 1 : 0);
}
