// End-to-end tests of the web dashboard in real (Debian) Chromium, driven by playwright-core,
// against the real vargd on 127.0.0.1:0 in a temp dir. Usage: node dashboard_test.mjs path/to/vargd
// Screenshots of every tab land in $DASHBOARD_SCREENSHOTS (default: tests/dashboard/screenshots).
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { cleanups, expect, finish, step } from '../js/steps.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VARGD_ARG = process.argv[2] || process.env.VARGD || 'vargd';
const VARGD = VARGD_ARG.includes('/') ? path.resolve(VARGD_ARG) : VARGD_ARG;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.DASHBOARD_SCREENSHOTS || path.join(HERE, 'screenshots');

if (!fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core'))) {
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: HERE, stdio: 'inherit' });
  if (r.status !== 0) { console.error('npm ci failed'); process.exit(1); }
}
const { chromium } = await import('playwright-core');


// ---- processes ----
async function startVargd(extra = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'varg-dash-'));
  const log = fs.openSync(path.join(dir, 'vargd.log'), 'a');
  const env = { ...process.env };
  delete env.FAL_KEY;
  const proc = spawn(VARGD, ['--listen', '127.0.0.1:0', '--data-dir', `${dir}/data`, ...extra],
    { cwd: dir, env, stdio: ['ignore', 'pipe', log] });
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', resolve);
    proc.once('exit', (c) => reject(new Error(`vargd exited ${c}: ${fs.readFileSync(path.join(dir, 'vargd.log'), 'utf8').slice(-2000)}`)));
  });
  const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
  if (!m) throw new Error(`vargd did not start: ${line}`);
  const v = { dir, proc, url: `http://127.0.0.1:${m[1]}` };
  cleanups.push(() => { proc.kill('SIGTERM'); fs.rmSync(dir, { recursive: true, force: true }); });
  return v;
}
async function startFakeUpstream() {
  const proc = spawn('python3', [path.join(HERE, '..', 'fakes', 'fake_upstream.py'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve) => readline.createInterface({ input: proc.stdout }).once('line', resolve));
  cleanups.push(() => proc.kill('SIGTERM'));
  return `http://127.0.0.1:${line.split(' ')[1]}`;
}
function admin(v, ...args) {
  const r = spawnSync(VARGD, ['admin', ...args, '--data-dir', `${v.dir}/data`], { cwd: v.dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vargd admin ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
// The login code from the newest email in the outbox.
function latestCode(v, email) {
  const dir = `${v.dir}/data/outbox`;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.eml'))
    .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const { f } of files) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    if (email && !text.toLowerCase().includes(email)) continue;
    const m = /code is (\d{6})/.exec(text);
    if (m) return m[1];
  }
  throw new Error(`no login code in ${dir}`);
}
async function call(method, url, { key, cookie, origin, body, headers } = {}) {
  const h = { ...(headers || {}) };
  if (key) h.Authorization = `Bearer ${key}`;
  if (cookie) h.Cookie = cookie;
  if (origin) h.Origin = origin;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: res.status, headers: res.headers, json, text };
}

// ---- the browser ----
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'varg-chromium-'));
cleanups.push(() => fs.rmSync(userDataDir, { recursive: true, force: true }));
fs.mkdirSync(SHOTS, { recursive: true });
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  viewport: { width: 1280, height: 860 },
  colorScheme: 'light',
});
cleanups.unshift(() => context.close());
const page = context.pages()[0] || await context.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.setDefaultTimeout(15000);

async function shot(name) { await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true }); }
async function sessionCookie(base) {
  return (await context.cookies(base)).find((c) => c.name === 'varg_session');
}
async function signIn(v, email) {
  await page.goto(`${v.url}/dashboard`);
  await page.locator('#email').fill(email);
  await page.locator('#send-code').click();
  await page.locator('#code').waitFor({ state: 'visible' });
  await page.locator('#code').fill(latestCode(v, email));
  await page.locator('#verify-code').click();
}

const v = await startVargd();
const EMAIL = 'ada@example.com';
let firstKey = '', cookieValue = '', firstSend = 0;

try {
  await step('the dashboard is served with a strict CSP and security headers', async () => {
    for (const p of ['/dashboard', '/dashboard/app.js', '/dashboard/app.css']) {
      const r = await call('GET', v.url + p);
      expect(r.status === 200, `${p}: ${r.status}`);
      const csp = r.headers.get('content-security-policy') || '';
      for (const part of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", 'img-src ', 'media-src '])
        expect(csp.includes(part), `${p}: CSP lacks ${part}: ${csp}`);
      expect(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), `CSP allows inline: ${csp}`);
      expect(r.headers.get('x-frame-options') === 'DENY', 'X-Frame-Options');
      expect(r.headers.get('referrer-policy') === 'no-referrer', 'Referrer-Policy');
      expect(r.headers.get('x-content-type-options') === 'nosniff', 'nosniff');
    }
    const html = (await call('GET', `${v.url}/dashboard`)).text;
    expect(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'inline <script> in the page');
    expect(!/\sstyle=|\son[a-z]+=/i.test(html), 'inline style or event handler attribute in the page');
  });

  await step('without a session the dashboard shows sign-in (and keeps the asked tab)', async () => {
    await page.goto(`${v.url}/dashboard?tab=billing`);
    await page.locator('#email-form').waitFor({ state: 'visible' });
    expect(await page.locator('#shell').isHidden(), 'the app is visible without a session');
    const me = await call('GET', `${v.url}/v1/me`);
    expect(me.status === 401, `GET /v1/me without session: ${me.status}`);
    await shot('signin');
  });

  await step('sign-up by emailed code shows the new API key once, with copy and a warning', async () => {
    await page.locator('#email').fill(EMAIL);
    firstSend = Date.now();
    await page.locator('#send-code').click();
    await page.locator('#code').waitFor({ state: 'visible' });
    await page.locator('#code').fill('000000');
    await page.locator('#verify-code').click();
    await page.locator('#signin-error').waitFor({ state: 'visible' });
    expect(/wrong or has expired/.test(await page.locator('#signin-error').textContent()), 'no error for a wrong code');
    await page.locator('#code').fill(latestCode(v, EMAIL));
    await page.locator('#verify-code').click();
    await page.locator('#welcome').waitFor({ state: 'visible' });
    firstKey = await page.locator('#welcome-secret input').inputValue();
    expect(/^varg_[0-9A-Za-z]{38}$/.test(firstKey), `not a key: ${firstKey}`);
    expect(/shown only once/.test(await page.locator('#welcome .warning').textContent()), 'no warning');
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: v.url });
    await page.locator('#welcome-secret button').click();
    await page.waitForFunction(() => document.querySelector('#welcome-secret button').textContent === 'Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText()) === firstKey, 'clipboard does not hold the key');
    await shot('signup-key');
    const bal = await call('GET', `${v.url}/v1/balance`, { key: firstKey });
    expect(bal.status === 200 && bal.json.balance_cents === 0, `the key does not work: ${bal.status} ${bal.text}`);
    await page.locator('#welcome-continue').click();
    await page.locator('#tab-billing').waitFor({ state: 'visible' });
    expect((await page.locator('#user-email').textContent()) === EMAIL, 'email not shown');
  });

  await step('the session is an HttpOnly SameSite=Strict cookie and nothing secret is in web storage', async () => {
    const c = await sessionCookie(v.url);
    expect(c, 'no varg_session cookie');
    expect(c.httpOnly && c.sameSite === 'Strict' && c.path === '/', `cookie flags: ${JSON.stringify({ ...c, value: '…' })}`);
    expect(c.value.startsWith('vat_'), 'the cookie is not a session token');
    cookieValue = c.value;
    const storage = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, c: document.cookie }));
    expect(!/vat_|varg_[0-9A-Za-z]{20}/.test(storage), `secret in web storage: ${storage}`);
    const login = await call('POST', `${v.url}/api/auth/cli/send-otp`, { body: { email: 'x@example.com' } });
    expect(login.status === 200, 'send-otp');
  });

  await step('billing shows balance, six packages (popular marked), the 503 message, and a grant in history', async () => {
    expect((await page.locator('#packages .package').count()) === 6, 'not six packages');
    expect((await page.locator('#packages .package.popular').count()) === 1, 'no single popular package');
    expect(/Most popular/.test(await page.locator('#packages .package.popular').textContent()), 'popular badge');
    await page.locator('[data-package="credits-2000"] button').click();
    await page.locator('#checkout-error').waitFor({ state: 'visible' });
    expect(/Payments are not configured/.test(await page.locator('#checkout-error').textContent()), 'no 503 message');
    admin(v, 'grant', '--email', EMAIL, '--credits', '1234', '--reason', 'welcome from the operator');
    await page.reload();
    await page.locator('#tab-billing').waitFor({ state: 'visible' });
    await page.waitForFunction(() => /1,234 credits/.test(document.querySelector('#bal-credits').textContent));
    expect((await page.locator('#bal-dollars').textContent()) === '$12.34', 'dollars');
    const ledger = await page.locator('#ledger-table tbody').textContent();
    expect(/Grant/.test(ledger) && /\+1,234/.test(ledger), `ledger: ${ledger}`);
    await shot('billing');
  });

  let scopedKey = '';
  await step('create a scoped key (categories and expiry), use it with its rights only, delete it with confirmation', async () => {
    await page.locator('.tabs a[data-tab="keys"]').click();
    await page.locator('#tab-keys').waitFor({ state: 'visible' });
    expect(new URL(page.url()).searchParams.get('tab') === 'keys', 'tab not in the URL');
    await page.waitForSelector('#keys-table tbody tr');
    await page.locator('#key-name').fill('ci <script>alert(1)</script>');
    await page.locator('#key-expiry').selectOption('30d');
    await page.locator('input[name=scope][value=categories]').check();
    await page.locator('#scope-categories input[value=generate]').check();
    await page.locator('#scope-categories input[value=billing_read]').check();
    await page.locator('#create-key').click();
    await page.locator('#new-key').waitFor({ state: 'visible' });
    scopedKey = await page.locator('#new-key-secret input').inputValue();
    expect(/^varg_/.test(scopedKey), 'no key shown');
    const row = page.locator('#keys-table tbody tr', { hasText: 'ci <script>' });
    await row.waitFor();
    const rowText = await row.textContent();
    expect(/generate/.test(rowText) && /billing_read/.test(rowText) && !/Full access/.test(rowText), `scope: ${rowText}`);
    expect(!/Never.*Never/.test(rowText.replace(/Never/, '')), 'expiry not shown');
    expect(await page.locator('#keys-table script').count() === 0, 'the name was rendered as HTML');
    await shot('keys');
    expect((await call('GET', `${v.url}/v1/balance`, { key: scopedKey })).status === 200, 'scoped key: balance');
    expect((await call('GET', `${v.url}/api/keys`, { key: scopedKey })).status === 403, 'scoped key can list keys');
    await page.locator('#new-key-done').click();
    await row.locator('button', { hasText: 'Delete' }).click();
    await page.locator('#confirm').waitFor({ state: 'visible' });
    await page.locator('#confirm-cancel').click();
    expect(await row.count() === 1, 'cancel deleted the key');
    await row.locator('button', { hasText: 'Delete' }).click();
    await page.locator('#confirm-ok').click();
    await row.waitFor({ state: 'detached' });
    const after = await call('GET', `${v.url}/v1/balance`, { key: scopedKey });
    expect(after.status === 401, `deleted key still works: ${after.status}`);
  });

  await step('provider keys: set, replace and delete, shown only masked; BYOK costs 0 credits', async () => {
    await page.goto(`${v.url}/dashboard?tab=provider-keys`);
    await page.locator('[data-provider-card=fal]').waitFor();
    expect(/0 credits/.test(await page.locator('#tab-provider-keys').textContent()), 'no BYOK line');
    const secret = 'fal-secret-abcdef-9876';
    await page.locator('[data-provider=fal] input').fill(secret);
    await page.locator('[data-provider=fal] button[type=submit]').click();
    await page.waitForFunction(() => /…9876/.test(document.querySelector('[data-provider-card=fal]').textContent));
    await page.locator('[data-provider=fal] input').fill('fal-secret-replaced-4321');
    await page.locator('[data-provider=fal] button[type=submit]').click();
    await page.waitForFunction(() => /…4321/.test(document.querySelector('[data-provider-card=fal]').textContent));
    const body = await page.locator('body').textContent();
    expect(!body.includes('fal-secret'), 'the provider key is shown in clear');
    await shot('provider-keys');
    const listed = await call('GET', `${v.url}/api/provider-keys`, { key: firstKey });
    expect(listed.json.provider_keys.length === 1 && !listed.text.includes('fal-secret'), listed.text);
    await page.locator('[data-provider=fal] button', { hasText: 'Delete' }).click();
    await page.locator('#confirm-ok').click();
    await page.waitForFunction(() => /Not set/.test(document.querySelector('[data-provider-card=fal]').textContent));
    const gone = await call('GET', `${v.url}/api/provider-keys`, { key: firstKey });
    expect(gone.json.provider_keys.length === 0, gone.text);
  });

  await step('playground: local-image with live progress and a preview; the repeat is a free cache hit', async () => {
    await page.locator('.tabs a[data-tab="playground"]').click();
    await page.waitForFunction(() => document.querySelectorAll('#gen-model option').length > 3);
    expect((await page.locator('#gen-model').inputValue()) === 'local-image', 'local-image is not preselected');
    await page.locator('#gen-prompt').fill('A lighthouse on a cliff at dusk');
    const streamed = page.waitForResponse((r) => r.url().includes('/api/dashboard/jobs/') && r.url().endsWith('/stream'), { timeout: 10000 })
      .then((r) => r.status()).catch(() => 0);
    await page.locator('#generate').click();
    const img = page.locator('#gen-preview img');
    await img.waitFor({ timeout: 60000 });
    await page.waitForFunction(() => { const i = document.querySelector('#gen-preview img'); return i && i.complete && i.naturalWidth > 0; });
    expect((await img.getAttribute('src')).startsWith('/files/'), 'preview not from /files/');
    expect(await page.locator('#gen-badge').textContent() !== 'Cache hit, free', 'first run claims a cache hit');
    const status = await streamed;
    expect(status === 200 || status === 0, `stream answered ${status}`);
    await shot('playground');
    await page.locator('#generate').click();
    await page.waitForFunction(() => document.querySelector('#gen-badge').textContent === 'Cache hit, free' && !document.querySelector('#gen-badge').hidden);
    await page.waitForFunction(() => { const i = document.querySelector('#gen-preview img'); return i && i.complete && i.naturalWidth > 0; });
    // The playground routes take the cookie only, and /v1 generation still refuses session tokens.
    const v1 = await call('POST', `${v.url}/v1/image`, { cookie: `varg_session=${cookieValue}`, origin: v.url, body: { model: 'local-image', prompt: 'x' } });
    expect(v1.status === 401, `/v1/image with the cookie: ${v1.status}`);
    const bearer = await call('POST', `${v.url}/api/dashboard/generate/image`, { key: cookieValue, body: { model: 'local-image', prompt: 'x' } });
    expect(bearer.status === 401, `playground route with a bearer token: ${bearer.status}`);
  });

  await step('playground: the whole catalog grouped by capability with prices and parameters; a media job shows its result', async () => {
    const models = (await call('GET', `${v.url}/v1/models`, { key: firstKey })).json.models;
    const offered = await page.locator('#gen-model option').evaluateAll((os) => os.map((o) => o.value));
    expect(offered.length === models.length && models.every((m) => offered.includes(m.id)), `offered ${offered.length} of ${models.length}`);
    const groups = await page.locator('#gen-model optgroup').evaluateAll((gs) => gs.map((g) => g.label));
    expect(JSON.stringify(groups) === JSON.stringify(['Image', 'Video', 'Speech', 'Music', 'Transcription', 'Media processing']), `groups ${groups}`);
    await page.locator('#gen-model').selectOption('kling-v3');
    expect(/150 credits/.test(await page.locator('#gen-price').textContent()), 'kling-v3 price');
    expect(/duration 3-15/.test(await page.locator('#gen-params').textContent()), await page.locator('#gen-params').textContent());
    expect(await page.locator('#gen-files-wrap').isVisible(), 'kling-v3 takes image files');
    await page.locator('#gen-model').selectOption('veed-fabric-1.0');
    expect(await page.locator('#gen-choice-resolution').isVisible(), 'veed resolution choice');
    const source = await page.locator('#gen-preview a').getAttribute('href');  // the image generated above
    await page.locator('#gen-model').selectOption('resize');
    expect(!(await page.locator('#gen-prompt').isVisible()) && await page.locator('#gen-media-wrap').isVisible(), 'media fields');
    await page.locator('#gen-url').fill(new URL(source, v.url).href);
    await page.locator('#gen-options').fill('{"width": 64, "height": 64, "fit": "contain"}');
    await page.locator('#generate').click();
    await page.waitForFunction(() => /ffmpeg:resize/.test(document.querySelector('#gen-meta').textContent) &&
      document.querySelector('#gen-preview img') && document.querySelector('#gen-preview img').naturalWidth === 64, null, { timeout: 60000 });
    expect(/5 credits/.test(await page.locator('#gen-badge').textContent()), await page.locator('#gen-badge').textContent());
  });

  await step('keys tab: the webhook signing secret is shown on request and rotated after a confirmation', async () => {
    await page.locator('.tabs a[data-tab="keys"]').click();
    await page.locator('#webhook-show').click();
    await page.waitForFunction(() => /^whsec_/.test(document.querySelector('#webhook-secret').textContent));
    const first = await page.locator('#webhook-secret').textContent();
    const api = await call('GET', `${v.url}/api/webhooks/secret`, { key: firstKey });
    expect(api.json.secret === first, 'the API shows the same secret');
    await page.locator('#webhook-rotate').click();
    await page.locator('#confirm-ok').click();
    await page.waitForFunction((old) => { const t = document.querySelector('#webhook-secret').textContent; return /^whsec_/.test(t) && t !== old; }, first);
    const now = await call('GET', `${v.url}/api/webhooks/secret`, { key: firstKey });
    expect(now.json.secret !== first && now.json.secret === await page.locator('#webhook-secret').textContent(), 'rotated');
  });

  await step('usage: chart per day and table per model show the generations', async () => {
    await page.locator('.tabs a[data-tab="usage"]').click();
    await page.waitForSelector('#usage-chart svg g[data-count]', { state: 'attached' });
    const today = new Date().toISOString().slice(0, 10);
    const count = await page.locator(`#usage-chart g[data-day="${today}"]`).getAttribute('data-count');
    expect(Number(count) >= 2, `chart count for ${today}: ${count}`);
    const row = page.locator('#usage-table tbody tr', { hasText: 'local:local-image' });
    const cells = await row.locator('td').allTextContents();
    expect(cells[1] === '2' && cells[2] === '1', `usage row: ${cells}`);
    await shot('usage');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('usage-phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await step('a cross-origin POST carrying the cookie is refused (403), and nothing is created', async () => {
    const forged = await call('POST', `${v.url}/api/keys`, { cookie: `varg_session=${cookieValue}`, origin: 'http://evil.example', body: { name: 'evil' } });
    expect(forged.status === 403, `forged Origin: ${forged.status} ${forged.text}`);
    const noOrigin = await call('POST', `${v.url}/api/keys`, { cookie: `varg_session=${cookieValue}`, body: { name: 'evil' } });
    expect(noOrigin.status === 403, `no Origin: ${noOrigin.status}`);
    const same = await call('GET', `${v.url}/api/keys`, { cookie: `varg_session=${cookieValue}` });
    expect(same.status === 200, `GET with the cookie: ${same.status}`);
    // A real page on another origin of the same site (another port: SameSite does not stop it),
    // so only the Origin check stands between it and the account.
    const evil = http.createServer((req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<!doctype html><script>fetch(${JSON.stringify(v.url + '/api/keys')}, {method: 'POST', mode: 'no-cors',
        credentials: 'include', headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({name: 'evil'})});</script>`);
    });
    await new Promise((r) => evil.listen(0, '127.0.0.1', r));
    cleanups.push(() => evil.close());
    const evilPage = await context.newPage();
    const answer = evilPage.waitForResponse((r) => r.url().endsWith('/api/keys') && r.request().method() === 'POST');
    await evilPage.goto(`http://127.0.0.1:${evil.address().port}/`);
    const r = await answer;
    expect(r.status() === 403, `cross-origin fetch answered ${r.status()}`);
    await evilPage.close();
    const keys = await call('GET', `${v.url}/api/keys`, { key: firstKey });
    expect(!keys.json.keys.some((k) => k.name === 'evil'), 'the forged request created a key');
  });

  await step('logout ends the session on the server; the old cookie is refused', async () => {
    await page.goto(`${v.url}/dashboard?tab=keys`);
    await page.locator('#logout').click();
    await page.locator('#email-form').waitFor({ state: 'visible' });
    expect(!(await sessionCookie(v.url)), 'the cookie was not cleared');
    const me = await call('GET', `${v.url}/v1/me`, { cookie: `varg_session=${cookieValue}` });
    expect(me.status === 401, `old cookie: ${me.status}`);
    await page.goto(`${v.url}/dashboard?tab=usage`);
    await page.locator('#email-form').waitFor({ state: 'visible' });
  });

  await step('signing in again to an existing account shows no new key', async () => {
    const wait = firstSend + 31000 - Date.now(); // one code per email per 30 s
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await signIn(v, EMAIL);
    await page.locator('#tab-keys').waitFor({ state: 'visible' });
    expect(await page.locator('#welcome').isHidden(), 'a second key was shown');
  });

  await step('checkout through a Stripe-compatible provider redirects to its page; the webhook credits once', async () => {
    const fake = await startFakeUpstream();
    const v2 = await startVargd(['--stripe-url', fake, '--stripe-secret-key', 'sk_test_dash', '--stripe-webhook-secret', 'whsec_dash']);
    await page.route('https://checkout.stripe.test/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Fake checkout</h1>' }));
    await signIn(v2, 'grace@example.com');
    await page.locator('#welcome-continue').click();
    await page.goto(`${v2.url}/dashboard?tab=billing`);
    await page.locator('[data-package="credits-10000"] button').click();
    await page.waitForURL(/checkout\.stripe\.test/);
    const uid = (await call('GET', `${v2.url}/v1/me`, { cookie: `varg_session=${(await sessionCookie(v2.url)).value}` })).json.id;
    const event = JSON.stringify({ id: 'evt_dash_1', type: 'checkout.session.completed',
      data: { object: { id: 'cs_test_1', payment_status: 'paid', metadata: { user_id: uid, package_id: 'credits-10000' } } } });
    const t = Math.floor(Date.now() / 1000);
    const sig = crypto.createHmac('sha256', 'whsec_dash').update(`${t}.${event}`).digest('hex');
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${v2.url}/api/billing/webhook`, { method: 'POST', headers: { 'Stripe-Signature': `t=${t},v1=${sig}`, 'Content-Type': 'application/json' }, body: event });
      expect(res.status === 200, `webhook: ${res.status}`);
    }
    await page.goto(`${v2.url}/dashboard?tab=billing&checkout=success`);
    await page.waitForFunction(() => /10,000 credits/.test(document.querySelector('#bal-credits').textContent));
    const ledger = await page.locator('#ledger-table tbody').textContent();
    expect((ledger.match(/Purchase/g) || []).length === 1, `ledger: ${ledger}`);
    await shot('billing-after-checkout');
  });

  await step('no script errors in the page', async () => {
    const real = consoleErrors.filter((e) => !/Failed to load resource|net::ERR|status of 40[13]/.test(e));
    expect(real.length === 0, real.join('\n'));
  });
} finally {
  await finish('dashboard tests');
}
