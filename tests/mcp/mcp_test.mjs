// End-to-end: the official MCP TypeScript SDK client (@modelcontextprotocol/sdk, from npm) against
// the real vargd on 127.0.0.1:0 in a temp dir, over Streamable HTTP at /mcp (SPEC 14): initialize,
// every tool with the local-* models (a generated image downloaded from its URL, a render), a 402,
// a scoped key's 403, a missing key's 401, and the transport's rules checked with raw requests.
// Usage: node mcp_test.mjs path/to/vargd
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';

import { cleanups, expect, finish, step } from '../js/steps.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VARGD = path.resolve(process.argv[2] || process.env.VARGD || 'vargd');
const VARG = process.argv[3] ? path.resolve(process.argv[3]) : '';  // the CLI, for `varg mcp` over stdio

if (!fs.existsSync(path.join(HERE, 'node_modules', '@modelcontextprotocol', 'sdk'))) {
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: HERE, stdio: 'inherit' });
  if (r.status !== 0) { console.error('npm ci failed'); process.exit(1); }
}
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');


// ---- vargd, its accounts and keys ----
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'varg-mcp-'));
const data = path.join(dir, 'data');
function admin(...args) {
  const r = spawnSync(VARGD, ['admin', ...args, '--data-dir', data], { encoding: 'utf8' });
  const key = /varg_[0-9A-Za-z]{30,}/.exec(r.stdout + r.stderr);
  if (!key) throw new Error(`vargd admin ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return key[0];
}
const rich = admin('create-user', '--email', 'rich@example.com', '--credits', '100');
const poor = admin('create-user', '--email', 'poor@example.com', '--credits', '0');
async function startVargd(extra) {
  const log = fs.openSync(path.join(dir, 'vargd.log'), 'a');
  const proc = spawn(VARGD, ['--listen', '127.0.0.1:0', '--data-dir', data, ...extra], { cwd: dir, stdio: ['ignore', 'pipe', log] });
  cleanups.push(() => proc.kill('SIGTERM'));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stdout }).once('line', (line) => {
      const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      m ? resolve(`http://127.0.0.1:${m[1]}`) : reject(new Error(line));
    });
    proc.once('exit', (c) => reject(new Error(`vargd exited ${c}: ${fs.readFileSync(path.join(dir, 'vargd.log'), 'utf8').slice(-2000)}`)));
  });
}
cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
const base = await startVargd(['--allow-private-urls', '1']);
const MCP = new URL(`${base}/mcp`);

async function connect(key) {
  const client = new Client({ name: 'varg-mcp-test', version: '1.0.0' });
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  await client.connect(new StreamableHTTPClientTransport(MCP, { requestInit: { headers } }));
  cleanups.push(() => client.close().catch(() => {}));
  return client;
}
async function tool(client, name, args = {}) {
  const r = await client.callTool({ name, arguments: args });
  const text = r.content && r.content[0] && r.content[0].text;
  return { ...r, json: r.structuredContent ?? (() => { try { return JSON.parse(text); } catch { return null; } })(), text };
}
async function raw(headers, body, method = 'POST') {
  const r = await fetch(MCP, {
    method, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, headers: r.headers, json, text };
}
const init = (version) => ({ jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });

// ---- the SDK client ----
let client, image;
await step('the SDK client initializes: vargd, protocol 2025-06-18, tools capability', async () => {
  client = await connect(rich);
  expect(client.getServerVersion().name === 'vargd', JSON.stringify(client.getServerVersion()));
  expect(client.getServerCapabilities().tools, JSON.stringify(client.getServerCapabilities()));
});

await step('tools/list names every tool, each with an object input schema', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  const want = ['call_tool', 'cancel_job', 'check_balance', 'estimate_cost', 'get_job', 'list_files', 'list_jobs', 'list_models', 'render_video', 'upload_file'];
  expect(JSON.stringify(names) === JSON.stringify(want), names.join(','));
  for (const t of tools) expect(t.inputSchema.type === 'object' && t.description.length > 20, JSON.stringify(t));
  const call = tools.find((t) => t.name === 'call_tool');
  expect(call.inputSchema.properties.tool.enum.includes('image') && call.inputSchema.required.includes('input'), JSON.stringify(call.inputSchema));
});

await step('list_models, check_balance and estimate_cost answer like their HTTP routes', async () => {
  const models = await tool(client, 'list_models');
  expect(!models.isError && models.json.models.some((m) => m.id === 'local-image'), models.text.slice(0, 300));
  const bal = await tool(client, 'check_balance');
  expect(!bal.isError && bal.json.balance_cents === 100 && bal.json.currency === 'usd', bal.text);
  const est = await tool(client, 'estimate_cost', { tool: 'image', input: { model: 'local-image', prompt: 'a fox' } });
  expect(!est.isError && est.json.credits === 0, est.text);
  const ff = await tool(client, 'estimate_cost', { tool: 'ffmpeg', input: { operation: 'probe', url: 'https://example.com/a.mp4' } });
  expect(!ff.isError && ff.json.credits > 0, ff.text);
});

await step('call_tool with wait generates an image whose URL downloads; get_job and list_jobs see it', async () => {
  const r = await tool(client, 'call_tool', { tool: 'image', input: { model: 'local-image', prompt: 'a fox in the snow' }, wait: 30 });
  expect(!r.isError && r.json.status === 'completed', r.text);
  image = r.json;
  const url = image.output && (image.output.url || (image.output.images && image.output.images[0].url)) || image.output_url;
  expect(url, `no output URL: ${r.text}`);
  const got = await fetch(url);
  const bytes = Buffer.from(await got.arrayBuffer());
  expect(got.status === 200 && bytes.subarray(1, 4).toString() === 'PNG', `${got.status} ${bytes.subarray(0, 8).toString('hex')}`);
  image.bytes = bytes;
  const job = await tool(client, 'get_job', { job_id: image.job_id });
  expect(!job.isError && job.json.job_id === image.job_id && job.json.status === 'completed', job.text);
  const list = await tool(client, 'list_jobs', { limit: 10 });
  expect(!list.isError && list.json.jobs.some((j) => j.job_id === image.job_id), list.text.slice(0, 300));
});

await step('cancel_job answers the job as it now is; an unknown job and bad arguments are isError results', async () => {
  const c = await tool(client, 'cancel_job', { job_id: image.job_id });
  expect(!c.isError && c.json.status === 'completed', c.text);
  const missing = await tool(client, 'get_job', { job_id: 'job_doesnotexist' });
  expect(missing.isError && /404/.test(missing.text), missing.text);
  const bad = await tool(client, 'get_job', { job_id: '../../v1/balance' });
  expect(bad.isError, bad.text);
  const model = await tool(client, 'call_tool', { tool: 'image', input: { model: 'no-such-model', prompt: 'x' } });
  expect(model.isError && /model/i.test(model.text), model.text);
});

await step('upload_file stores base64 data and a fetched URL, deduplicated', async () => {
  const a = await tool(client, 'upload_file', { data: image.bytes.toString('base64'), media_type: 'image/png' });
  expect(!a.isError && a.json.file_id && a.json.media_type === 'image/png', a.text);
  const url = image.output && (image.output.url || (image.output.images && image.output.images[0].url)) || image.output_url;
  const b = await tool(client, 'upload_file', { url });
  expect(!b.isError && b.json.deduplicated === true && b.json.hash === a.json.hash, b.text);
  const other = await tool(client, 'upload_file', { data: Buffer.from('second upload').toString('base64'), media_type: 'text/plain' });
  expect(!other.isError, other.text);
  const page1 = await tool(client, 'list_files', { limit: 1 });
  expect(!page1.isError && page1.json.files.length === 1 && page1.json.files[0].file_id === other.json.file_id && page1.json.next_cursor, page1.text);
  const page2 = await tool(client, 'list_files', { limit: 10, cursor: page1.json.next_cursor });
  expect(page2.json.files.length === 1 && page2.json.files[0].file_id === a.json.file_id && page2.json.next_cursor === null, page2.text);
  const big = Buffer.concat([image.bytes, Buffer.alloc(3 << 20, 7)]);  // past the 1 MiB JSON limit of other routes
  const large = await tool(client, 'upload_file', { data: big.toString('base64'), media_type: 'application/octet-stream' });
  expect(!large.isError && large.json.size === big.length, large.text.slice(0, 300));
  const poorList = await tool(await connect(poor), 'list_files', {});
  expect(!poorList.isError && poorList.json.files.length === 0, `another account sees uploads: ${poorList.text}`);
});

await step('upload_file will not fetch a private address for a caller (SSRF) unless the operator allows it', async () => {
  const strict = await startVargd([]);  // the same data dir: a second instance, private URLs refused
  const c = new Client({ name: 'strict', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${strict}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${rich}` } } }));
  cleanups.push(() => c.close().catch(() => {}));
  for (const url of [`${base}/healthz`, 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:1/x', 'file:///etc/passwd']) {
    const r = await tool(c, 'upload_file', { url });
    expect(r.isError && /fetch|http or https/.test(r.text), `${url}: ${r.text}`);
  }
});

await step('render_video renders a composition with the local models; get_job follows it to completed', async () => {
  const code = 'export default (<Render width={160} height={120} fps={12}><Clip duration={1}>{Image({ model: varg.imageModel("local-image"), prompt: "mcp" })}</Clip></Render>);';
  const r = await tool(client, 'render_video', { code });
  expect(!r.isError && r.json.job_id && r.json.job_id.startsWith('render_'), r.text);
  let j = r.json;
  for (let i = 0; i < 600 && j.status === 'rendering'; i++) {
    await new Promise((res) => setTimeout(res, 100));
    j = (await tool(client, 'get_job', { job_id: r.json.job_id })).json;
  }
  expect(j.status === 'completed' && j.output_url, JSON.stringify(j));
  const got = await fetch(j.output_url);
  expect(got.status === 200, `${got.status}`);
});

await step('a call the balance cannot cover is an isError result with the 402 message; nothing is charged', async () => {
  const p = await connect(poor);
  const r = await tool(p, 'call_tool', { tool: 'ffmpeg', input: { operation: 'probe', url: `${base}/files/none.png` } });
  expect(r.isError && /402/.test(r.text) && /credit|balance/i.test(r.text), r.text);
  const bal = await tool(p, 'check_balance');
  expect(bal.json.balance_cents === 0 && bal.json.reserved_cents === 0, bal.text);
});

await step('a scoped key reads its balance and is denied a generation (403 as isError)', async () => {
  const r = await fetch(`${base}/api/keys`, { method: 'POST', headers: { Authorization: `Bearer ${rich}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'mcp-billing-only', permissions: { api: { billing_read: {} } } }) });
  const made = await r.json();
  expect(r.status === 201 || r.status === 200, JSON.stringify(made));
  const scoped = await connect(made.key);
  const bal = await tool(scoped, 'check_balance');
  expect(!bal.isError && bal.json.balance_cents === 100, bal.text);
  const gen = await tool(scoped, 'call_tool', { tool: 'image', input: { model: 'local-image', prompt: 'denied' } });
  expect(gen.isError && /403/.test(gen.text), gen.text);
  const fetchDenied = await tool(scoped, 'upload_file', { url: `${base}/files/none.png` });
  expect(fetchDenied.isError && /403/.test(fetchDenied.text), `fetched for a key that may not upload: ${fetchDenied.text}`);
});

await step('without a key the client is refused: 401 with a Bearer challenge', async () => {
  let refused = null;
  try { await connect(null); } catch (e) { refused = e; }
  expect(refused, 'connected without a key');
  const r = await raw({}, init('2025-06-18'));
  expect(r.status === 401 && /^Bearer /.test(r.headers.get('www-authenticate') || ''), `${r.status} ${r.headers.get('www-authenticate')}`);
  const bad = await raw({ Authorization: 'Bearer varg_notakeyatall' }, init('2025-06-18'));
  expect(bad.status === 401, `${bad.status}`);
});

await step('varg mcp: the same tools over stdio, forwarded to the gateway with the saved key', async () => {
  expect(VARG, 'usage: mcp_test.mjs vargd varg');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'varg-mcp-home-'));
  cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  const stdio = new Client({ name: 'stdio-test', version: '1' });
  await stdio.connect(new StdioClientTransport({ command: VARG, args: ['mcp'], cwd: home, stderr: 'pipe',
    env: { PATH: process.env.PATH, HOME: home, VARG_API_KEY: rich, VARG_GATEWAY_URL: base, VARG_APP_URL: base } }));
  cleanups.push(() => stdio.close().catch(() => {}));
  expect(stdio.getServerVersion().name === 'vargd', JSON.stringify(stdio.getServerVersion()));
  const { tools } = await stdio.listTools();
  expect(tools.length === 10, tools.map((t) => t.name).join(','));
  const [bal, gen] = await Promise.all([tool(stdio, 'check_balance'),
    tool(stdio, 'call_tool', { tool: 'image', input: { model: 'local-image', prompt: 'over stdio' }, wait: 30 })]);
  expect(!bal.isError && bal.json.balance_cents === 100, bal.text);
  expect(!gen.isError && gen.json.status === 'completed', gen.text);
  const denied = await tool(stdio, 'call_tool', { tool: 'image', input: { model: 'no-such-model', prompt: 'x' } });
  expect(denied.isError, denied.text);
});

await step('varg mcp without a saved key exits with a message, before speaking MCP', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'varg-mcp-nokey-'));
  cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  const r = spawnSync(VARG, ['mcp'], { cwd: home, input: '', encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, VARG_GATEWAY_URL: base } });
  expect(r.status !== 0 && /login|VARG_API_KEY/.test(r.stderr) && r.stdout === '', `${r.status} ${r.stderr} ${r.stdout}`);
});

await step('a long call_tool with a progress token answers as an event stream: progress notifications, then the job', async () => {
  const fake = spawn('python3', [path.join(HERE, '..', 'fakes', 'fake_upstream.py'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => fake.kill('SIGTERM'));
  const port = (await new Promise((res) => readline.createInterface({ input: fake.stdout }).once('line', res))).split(' ')[1];
  const fal = `http://127.0.0.1:${port}`;
  await fetch(`${fal}/_control`, { method: 'POST', body: JSON.stringify({ mode: 'slow_job', delay: 2.5 }) });
  const slow = await startVargd(['--fal-url', fal, '--fal-key', 'test-key', '--allow-private-provider-urls', '1',
    '--allow-private-urls', '1', '--provider-poll-ms', '100']);
  const key = admin('create-user', '--email', 'slow@example.com', '--credits', '100');
  const c = new Client({ name: 'progress', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${slow}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  cleanups.push(() => c.close().catch(() => {}));
  const seen = [];
  const r = await c.callTool({ name: 'call_tool', arguments: { tool: 'image', input: { model: 'flux-pro', prompt: 'slowly' }, wait: 30 } },
    undefined, { onprogress: (p) => seen.push(p), timeout: 60000 });
  const job = r.structuredContent;
  expect(!r.isError && job.status === 'completed', JSON.stringify(r).slice(0, 400));
  expect(seen.length >= 2 && seen.every((p, i) => i === 0 || p.progress > seen[i - 1].progress), JSON.stringify(seen));
  expect(seen.every((p) => p.message.startsWith(job.job_id)), JSON.stringify(seen));
  const bal = await tool(c, 'check_balance');
  expect(bal.json.balance_cents === 90, `flux-pro is 10 credits, charged once: ${bal.text}`);
});

await step('OAuth: metadata, registration, the email-code sign-in with consent, PKCE, tokens at /mcp, rotation, replay, revocation', async () => {
  const pr = await (await fetch(`${base}/.well-known/oauth-protected-resource`)).json();
  expect(pr.resource === `${base}/mcp` && pr.authorization_servers[0] === base, JSON.stringify(pr));
  const challengeHeader = (await raw({}, init('2025-06-18'))).headers.get('www-authenticate');
  expect(challengeHeader.includes(`resource_metadata="${base}/.well-known/oauth-protected-resource"`), challengeHeader);
  const as = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
  expect(as.code_challenge_methods_supported.join() === 'S256' && as.registration_endpoint === `${base}/oauth/register`, JSON.stringify(as));

  const post = (url, body, json = true) => fetch(url, { method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
    body: json ? JSON.stringify(body) : new URLSearchParams(body).toString() });
  for (const bad of [['http://evil.example/cb'], ['javascript:alert(1)'], ['https://ok.example/cb#frag'], []]) {
    const r = await post(as.registration_endpoint, { redirect_uris: bad });
    expect(r.status === 400, `${JSON.stringify(bad)} registered: ${r.status}`);
  }
  const redirect = 'http://127.0.0.1:9/callback';
  const reg = await post(as.registration_endpoint, { client_name: 'Test <agent>', redirect_uris: [redirect] });
  const client = await reg.json();
  expect(reg.status === 201 && client.client_id && client.token_endpoint_auth_method === 'none', JSON.stringify(client));

  const verifier = crypto.randomBytes(48).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const params = { client_id: client.client_id, redirect_uri: redirect, code_challenge: challenge, state: 'st<"8>', scope: 'mcp:tools' };
  const q = new URLSearchParams({ response_type: 'code', code_challenge_method: 'S256', ...params });
  const start = await fetch(`${as.authorization_endpoint}?${q}`);
  const startHtml = await start.text();
  expect(start.status === 200 && startHtml.includes('Test &lt;agent&gt;') && !startHtml.includes('<agent>'), startHtml.slice(0, 300));
  expect(/frame-ancestors 'none'/.test(start.headers.get('content-security-policy')), 'the consent page may be framed');
  const evil = await fetch(`${as.authorization_endpoint}?${new URLSearchParams({ ...Object.fromEntries(q), redirect_uri: 'https://evil.example/x' })}`, { redirect: 'manual' });
  expect(evil.status === 400, `an unregistered redirect_uri: ${evil.status} ${evil.headers.get('location')}`);
  const noPkce = new URLSearchParams(q); noPkce.delete('code_challenge_method');
  const np = await fetch(`${as.authorization_endpoint}?${noPkce}`, { redirect: 'manual' });
  expect(np.status === 302 && np.headers.get('location').startsWith(`${redirect}?error=invalid_request`), `${np.status} ${np.headers.get('location')}`);

  const sent = await post(as.authorization_endpoint, { ...params, step: 'send', email: 'rich@example.com' }, false);
  expect(sent.status === 200 && (await sent.text()).includes('6-digit code'), `${sent.status}`);
  const outbox = path.join(data, 'outbox');
  const mail = fs.readdirSync(outbox).map((f) => fs.readFileSync(path.join(outbox, f), 'utf8')).filter((t) => t.toLowerCase().includes('rich@example.com'));
  const code6 = /code is (\d{6})/.exec(mail[mail.length - 1])[1];
  const wrong = await post(as.authorization_endpoint, { ...params, step: 'verify', email: 'rich@example.com', code: '000000' }, false);
  expect(!(await wrong.text()).includes('name=ticket'), 'a wrong code reached consent');
  const consent = await (await post(as.authorization_endpoint, { ...params, step: 'verify', email: 'rich@example.com', code: code6 }, false)).text();
  const ticket = /name=ticket value="([^"]+)"/.exec(consent)[1];
  expect(consent.includes('Allow') && consent.includes('rich@example.com'), consent.slice(0, 300));
  const forged = await post(as.authorization_endpoint, { ...params, step: 'allow', ticket: ticket.replace(/^\d+/, (m) => String(Number(m) + 1)) }, false);
  expect(forged.status === 400, `a forged ticket: ${forged.status}`);
  const codeOf = async () => {
    const r = await post(as.authorization_endpoint, { ...params, step: 'allow', ticket }, false);
    const loc = new URL(r.headers.get('location'));
    expect(r.status === 302 && loc.origin + loc.pathname === redirect && loc.searchParams.get('state') === params.state, `${r.status} ${loc}`);
    return loc.searchParams.get('code');
  };
  const denied = await post(as.authorization_endpoint, { ...params, step: 'deny', ticket }, false);
  expect(new URL(denied.headers.get('location')).searchParams.get('error') === 'access_denied', denied.headers.get('location'));

  const token = (body) => post(as.token_endpoint, body, false).then(async (r) => ({ status: r.status, json: await r.json() }));
  const exchange = (code, v) => token({ grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: client.client_id, code_verifier: v });
  const c1 = await codeOf();
  expect((await exchange(c1, crypto.randomBytes(48).toString('base64url'))).json.error === 'invalid_grant', 'a wrong verifier');
  expect((await exchange(c1, verifier)).status === 400, 'a code survived a failed exchange');
  const pair = await exchange(await codeOf(), verifier);
  expect(pair.status === 200 && pair.json.access_token.startsWith('vmcp_at_') && pair.json.expires_in === 3600, JSON.stringify(pair));

  const viaOAuth = await connect(pair.json.access_token);
  const bal = await tool(viaOAuth, 'check_balance');
  expect(!bal.isError && bal.json.balance_cents === 100, bal.text);
  const gen = await tool(viaOAuth, 'call_tool', { tool: 'image', input: { model: 'local-image', prompt: 'via oauth' }, wait: 30 });
  expect(!gen.isError && gen.json.status === 'completed', gen.text);
  const rest = await fetch(`${base}/v1/balance`, { headers: { Authorization: `Bearer ${pair.json.access_token}` } });
  expect(rest.status === 401, `the REST API took an MCP token: ${rest.status}`);

  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: pair.json.refresh_token, client_id: client.client_id });
  expect(refreshed.status === 200 && refreshed.json.refresh_token !== pair.json.refresh_token, JSON.stringify(refreshed));
  expect((await raw({ Authorization: `Bearer ${pair.json.access_token}` }, init('2025-06-18'))).status === 401, 'a rotated access token still works');
  expect((await raw({ Authorization: `Bearer ${refreshed.json.access_token}` }, init('2025-06-18'))).status === 200, 'the new access token');
  const replay = await token({ grant_type: 'refresh_token', refresh_token: pair.json.refresh_token, client_id: client.client_id });
  expect(replay.status === 400, 'a replayed refresh token');
  expect((await raw({ Authorization: `Bearer ${refreshed.json.access_token}` }, init('2025-06-18'))).status === 401, 'the replay did not revoke the grant');

  const other = await exchange(await codeOf(), verifier);
  expect((await raw({ Authorization: `Bearer ${other.json.access_token}` }, init('2025-06-18'))).status === 200, 'a second grant');
  const listed = await (await fetch(`${base}/api/oauth/grants`, { headers: { Authorization: `Bearer ${rich}` } })).json();
  expect(listed.grants.length === 1 && listed.grants[0].client_name === 'Test <agent>', JSON.stringify(listed));
  const theirs = await fetch(`${base}/api/oauth/grants/${listed.grants[0].id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${poor}` } });
  expect(theirs.status === 404, `another account revoked it: ${theirs.status}`);
  const third = await exchange(await codeOf(), verifier);
  const before = (await (await fetch(`${base}/api/oauth/grants`, { headers: { Authorization: `Bearer ${rich}` } })).json()).grants;
  const g3 = before.find((g) => g.id !== listed.grants[0].id);
  const del = await fetch(`${base}/api/oauth/grants/${g3.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${rich}` } });
  expect(del.status === 204, `${del.status}`);
  expect((await raw({ Authorization: `Bearer ${third.json.access_token}` }, init('2025-06-18'))).status === 401, 'revoked from the dashboard, still accepted');
  const revoked = await post(`${base}/oauth/revoke`, { token: other.json.refresh_token }, false);
  expect(revoked.status === 200, `${revoked.status}`);
  expect((await raw({ Authorization: `Bearer ${other.json.access_token}` }, init('2025-06-18'))).status === 401, 'revoked, still accepted');
});

// ---- the transport's rules, raw ----
const auth = { Authorization: `Bearer ${rich}` };
await step('sessions: initialize opens one; a request without it is 400, with an unknown one 404, after DELETE 404', async () => {
  const r = await raw(auth, init('2025-06-18'));
  const sid = r.headers.get('mcp-session-id');
  expect(r.status === 200 && r.json.result.protocolVersion === '2025-06-18' && sid && /^[\x21-\x7e]+$/.test(sid), r.text);
  const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
  expect((await raw(auth, ping)).status === 400, 'no session id accepted');
  expect((await raw({ ...auth, 'Mcp-Session-Id': sid.slice(0, -1) + (sid.endsWith('a') ? 'b' : 'a') }, ping)).status === 404, 'a forged id accepted');
  const other = await raw({ Authorization: `Bearer ${poor}`, 'Mcp-Session-Id': sid }, ping);
  expect(other.status === 404, `another account's session accepted: ${other.status}`);
  const ok = await raw({ ...auth, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-06-18' }, ping);
  expect(ok.status === 200 && ok.json.id === 2 && JSON.stringify(ok.json.result) === '{}', ok.text);
  const note = await raw({ ...auth, 'Mcp-Session-Id': sid }, { jsonrpc: '2.0', method: 'notifications/initialized' });
  expect(note.status === 202, `${note.status}`);
  expect((await raw({ ...auth, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '1999-01-01' }, ping)).status === 400, 'a bad version accepted');
  const del = await raw({ ...auth, 'Mcp-Session-Id': sid }, undefined, 'DELETE');
  expect(del.status === 204, `${del.status}`);
  expect((await raw({ ...auth, 'Mcp-Session-Id': sid }, ping)).status === 404, 'an ended session accepted');
});

await step('versions: 2025-03-26 is negotiated and takes batches; 2025-06-18 refuses them; others get the latest', async () => {
  const old = await raw(auth, init('2025-03-26'));
  expect(old.json.result.protocolVersion === '2025-03-26', old.text);
  const sid = old.headers.get('mcp-session-id');
  const batch = await raw({ ...auth, 'Mcp-Session-Id': sid }, [
    { jsonrpc: '2.0', id: 'a', method: 'ping' },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'check_balance', arguments: {} } }]);
  expect(batch.status === 200 && Array.isArray(batch.json) && batch.json.length === 2, batch.text);
  const b = batch.json.find((m) => m.id === 'b');
  expect(b.result.structuredContent === undefined && JSON.parse(b.result.content[0].text).balance_cents === 100, JSON.stringify(b));
  const many = Array.from({ length: 65 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'check_balance', arguments: {} } }));
  const tooMany = await raw({ ...auth, 'Mcp-Session-Id': sid }, many);
  expect(tooMany.status === 400 && tooMany.json.error.code === -32600, tooMany.text.slice(0, 200));
  const full = await raw({ ...auth, 'Mcp-Session-Id': sid }, many.slice(0, 64));
  expect(full.status === 200 && full.json.length === 64 && full.json.every((m) => !m.result.isError), full.text.slice(0, 200));
  const latest = await raw(auth, init('2025-06-18'));
  const refused = await raw({ ...auth, 'Mcp-Session-Id': latest.headers.get('mcp-session-id') }, [{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
  expect(refused.status === 400, `${refused.status}`);
  const future = await raw(auth, init('2099-01-01'));
  expect(future.json.result.protocolVersion === '2025-06-18', future.text);
});

await step('malformed messages: JSON-RPC errors, never a 500', async () => {
  const sid = (await raw(auth, init('2025-06-18'))).headers.get('mcp-session-id');
  const s = { ...auth, 'Mcp-Session-Id': sid };
  const parse = await raw(s, '{"jsonrpc": "2.0", "id": 1, "method": ');
  expect(parse.status === 400 && parse.json.error.code === -32700, parse.text);
  const notrpc = await raw(s, { id: 1, method: 'ping' });
  expect(notrpc.status === 400 && notrpc.json.error.code === -32600, notrpc.text);
  const unknown = await raw(s, { jsonrpc: '2.0', id: 3, method: 'no/such' });
  expect(unknown.json.error.code === -32601, unknown.text);
  const notool = await raw(s, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'rm_rf', arguments: {} } });
  expect(notool.json.error.code === -32602, notool.text);
  const get = await raw(s, undefined, 'GET');
  expect(get.status === 405, `${get.status}`);
});

cleanups.reverse();  // clients first, then the servers they talk to, then the files
await finish('MCP tests');
