// varg dashboard: one ES module, no framework, no build step. The session lives in an HttpOnly
// cookie the page never sees; nothing secret is stored in the browser. Every piece of
// user-controlled text goes into the DOM as text (textContent), never as HTML.

const TABS = ['keys', 'provider-keys', 'billing', 'usage', 'playground'];
const PROVIDERS = [
  ['fal', 'fal.ai', 'Images and video (flux, kling, seedance, wan…)'],
  ['elevenlabs', 'ElevenLabs', 'Speech and music'],
  ['higgsfield', 'Higgsfield', 'Images (soul)'],
  ['replicate', 'Replicate', 'Transcription (whisper)'],
];
const CATEGORIES = [
  ['user_read', 'Read profile and keys'],
  ['user_write', 'Manage keys and provider keys'],
  ['billing_read', 'Read balance and usage'],
  ['billing_write', 'Buy credits'],
  ['generate', 'Generate'],
  ['render', 'Render'],
];

const $ = (id) => document.getElementById(id);
const state = { me: null, models: [], voices: [], loaded: {}, stream: null };

// ---- small DOM helpers ----

// h('td', {class: 'num'}, 'text', otherNode): children that are strings become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const svg = (tag, attrs) => {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
};
function show(el, on) { el.hidden = !on; }
function setError(el, msg) { el.textContent = msg || ''; el.hidden = !msg; }

const fmtInt = (n) => Number(n || 0).toLocaleString('en-US');
const fmtCredits = (n) => `${fmtInt(n)} credit${Number(n) === 1 ? '' : 's'}`;
const fmtDollars = (cents) => `$${(Number(cents || 0) / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
const isoDay = (d) => d.toISOString().slice(0, 10);

// ---- API ----

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}
function messageOf(data, fallback) {
  if (!data || typeof data !== 'object') return fallback;
  if (typeof data.error === 'string') return data.error;
  if (typeof data.message === 'string') return data.message;
  if (data.error && typeof data.error.message === 'string') return data.error.message;
  if (typeof data.msg === 'string') return data.msg;
  return fallback;
}
async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'Cannot reach the server. Check your connection and try again.');
  }
  let data = null;
  try { data = await res.json(); } catch (e) { /* empty body */ }
  if (!res.ok) {
    const err = new ApiError(res.status, messageOf(data, `Request failed (${res.status})`));
    if (res.status === 401 && state.me) signedOut();
    throw err;
  }
  return data;
}

// ---- copy to clipboard ----

async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch (e) {
    const ta = h('textarea', { class: 'sr-only', readonly: true });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
    ta.remove();
  }
  const old = button.dataset.label || button.textContent;
  button.dataset.label = old;
  button.textContent = ok ? 'Copied' : 'Select and copy';
  setTimeout(() => { button.textContent = old; }, 2000);
}
// A read-only field with the secret and a copy button, into `box`.
function renderSecret(box, secret) {
  const input = h('input', { readonly: true, 'aria-label': 'API key', class: 'mono', spellcheck: 'false' });
  input.value = secret;
  input.addEventListener('focus', () => input.select());
  const btn = h('button', { type: 'button', class: 'primary copy' }, 'Copy');
  btn.addEventListener('click', () => copyText(secret, btn));
  box.replaceChildren(input, btn);
}
function curlSnippet(secret) {
  return `export VARG_API_KEY=${secret}\ncurl -H "Authorization: Bearer $VARG_API_KEY" ${location.origin}/v1/balance`;
}

// ---- confirmation dialog ----

function confirmDialog(title, text, okLabel) {
  const dlg = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel || 'Delete';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.returnValue = '';
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}

// ---- banner ----

let bannerTimer = null;
function banner(text, isError) {
  const b = $('banner');
  b.textContent = text;
  b.classList.toggle('error-banner', !!isError);
  b.hidden = false;
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => { b.hidden = true; }, 6000);
}

// ---- sign in ----

let pendingEmail = '';

function signedOut() {
  state.me = null;
  state.loaded = {};
  if (state.stream) { state.stream.close(); state.stream = null; }
  show($('shell'), false);
  show($('loading'), false);
  show($('signin'), true);
  show($('email-form'), true);
  show($('code-form'), false);
  show($('welcome'), false);
  setError($('signin-error'), '');
  $('email').focus();
}

async function sendCode(email) {
  setError($('signin-error'), '');
  await api('POST', '/api/auth/cli/send-otp', { email });
  pendingEmail = email;
  $('code-email').textContent = email;
  show($('email-form'), false);
  show($('code-form'), true);
  $('code').value = '';
  $('code').focus();
}

function wireSignIn() {
  $('email-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = $('email').value.trim();
    if (!email || !email.includes('@')) return setError($('signin-error'), 'Enter a valid email address.');
    const btn = $('send-code');
    btn.disabled = true;
    try { await sendCode(email); } catch (err) { setError($('signin-error'), err.message); } finally { btn.disabled = false; }
  });
  $('code-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = $('code').value.replace(/\s+/g, '');
    if (!/^[0-9]{6}$/.test(code)) return setError($('signin-error'), 'The code has 6 digits.');
    const btn = $('verify-code');
    btn.disabled = true;
    setError($('signin-error'), '');
    try {
      const out = await api('POST', '/api/auth/dashboard/verify', { email: pendingEmail, code });
      if (out.api_key) {
        // A brand-new account: its first key, shown this once.
        show($('code-form'), false);
        show($('welcome'), true);
        renderSecret($('welcome-secret'), out.api_key);
        $('welcome-snippet').textContent = curlSnippet(out.api_key);
        $('welcome-secret').querySelector('button').focus();
      } else {
        await start();
      }
    } catch (err) {
      setError($('signin-error'), err.status === 401 ? 'That code is wrong or has expired. Check the latest email or ask for a new code.' : err.message);
    } finally { btn.disabled = false; }
  });
  $('resend-code').addEventListener('click', async () => {
    try { await sendCode(pendingEmail); banner('A new code is on its way.'); } catch (err) { setError($('signin-error'), err.message); }
  });
  $('change-email').addEventListener('click', () => {
    show($('code-form'), false);
    show($('email-form'), true);
    setError($('signin-error'), '');
    $('email').focus();
  });
  $('welcome-continue').addEventListener('click', () => {
    $('welcome-secret').replaceChildren();
    $('welcome-snippet').textContent = '';
    start();
  });
}

// ---- the app shell and tabs ----

function currentTab() {
  const t = new URLSearchParams(location.search).get('tab');
  return TABS.includes(t) ? t : 'keys';
}
function go(tab) {
  const url = new URL(location.href);
  url.searchParams.set('tab', tab);
  url.searchParams.delete('checkout');
  history.pushState(null, '', url.pathname + url.search);
  renderTab();
}
function renderTab() {
  const tab = currentTab();
  if (renderTab.last && renderTab.last !== tab) $('banner').hidden = true;
  renderTab.last = tab;
  for (const t of TABS) show($(`tab-${t}`), t === tab);
  for (const a of document.querySelectorAll('.tabs a')) {
    if (a.dataset.tab === tab) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${document.querySelector(`.tabs a[data-tab="${tab}"]`).textContent} · varg`;
  const loaders = { keys: loadKeys, 'provider-keys': loadProviderKeys, billing: loadBilling, usage: loadUsage, playground: loadPlayground };
  loaders[tab]().catch((err) => banner(err.message, true));
}

async function refreshMe() {
  state.me = await api('GET', '/v1/me');
  $('user-email').textContent = state.me.email;
  $('balance-pill').textContent = fmtCredits(state.me.balance_cents);
}

async function start() {
  try {
    await refreshMe();
  } catch (err) {
    if (err.status === 401) return signedOut();
    show($('loading'), true);
    $('loading').textContent = err.message;
    return;
  }
  show($('loading'), false);
  show($('signin'), false);
  show($('shell'), true);
  const checkout = new URLSearchParams(location.search).get('checkout');
  if (checkout === 'success') banner('Thank you! Your credits are added as soon as the payment is confirmed.');
  if (checkout === 'cancelled') banner('Checkout was cancelled; nothing was charged.');
  renderTab();
}

function wireShell() {
  for (const a of document.querySelectorAll('a[data-tab]')) {
    a.addEventListener('click', (e) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      go(a.dataset.tab);
    });
  }
  window.addEventListener('popstate', () => { if (state.me) renderTab(); });
  $('logout').addEventListener('click', async () => {
    try { await api('POST', '/api/auth/logout'); } catch (err) { /* the session may already be gone */ }
    signedOut();
  });
}

// ---- API keys ----

function scopeTags(perms) {
  if (!perms) return [h('span', { class: 'tag full' }, 'Full access')];
  const cats = Object.keys((perms && perms.api) || {});
  if (!cats.length) return [h('span', { class: 'tag' }, 'No access')];
  return cats.map((c) => h('span', { class: 'tag' }, c));
}

async function loadKeys() {
  const { keys } = await api('GET', '/api/keys');
  const body = $('keys-table').querySelector('tbody');
  body.replaceChildren(...keys.map((k) => {
    const del = h('button', { type: 'button', class: 'small danger-text', 'aria-label': `Delete key ${k.name}` }, 'Delete');
    del.addEventListener('click', async () => {
      const ok = await confirmDialog('Delete this API key?', `“${k.name}” (${k.prefix}) stops working at once, everywhere. This cannot be undone.`);
      if (!ok) return;
      try {
        await api('DELETE', `/api/keys/${encodeURIComponent(k.id)}`);
        banner(`Key “${k.name}” deleted.`);
        await loadKeys();
      } catch (err) { banner(err.message, true); }
    });
    return h('tr', { 'data-key-id': k.id },
      h('td', {}, k.name),
      h('td', { class: 'mono' }, k.prefix),
      h('td', {}, fmtDate(k.created_at)),
      h('td', {}, k.last_used_at ? fmtDate(k.last_used_at) : 'Never'),
      h('td', {}, k.expires_at ? fmtDate(k.expires_at) : 'Never'),
      h('td', {}, scopeTags(k.permissions)),
      h('td', { class: 'num' }, del));
  }));
  show($('keys-empty'), keys.length === 0);
  await loadGrants();
}

async function loadGrants() {
  const { grants } = await api('GET', '/api/oauth/grants');
  $('grants-table').querySelector('tbody').replaceChildren(...grants.map((g) => {
    const revoke = h('button', { type: 'button', class: 'small danger-text', 'aria-label': `Revoke ${g.client_name}` }, 'Revoke');
    revoke.addEventListener('click', async () => {
      const ok = await confirmDialog('Revoke this app?', `“${g.client_name}” loses access to your account at once.`);
      if (!ok) return;
      try {
        await api('DELETE', `/api/oauth/grants/${encodeURIComponent(g.id)}`);
        banner(`“${g.client_name}” revoked.`);
        await loadGrants();
      } catch (err) { banner(err.message, true); }
    });
    return h('tr', { 'data-grant-id': g.id }, h('td', {}, g.client_name), h('td', {}, fmtDate(g.created_at)),
      h('td', {}, fmtDate(g.expires_at)), h('td', { class: 'num' }, revoke));
  }));
  show($('grants-empty'), grants.length === 0);
}

function wireWebhookSecret() {
  const showSecret = (secret) => { $('webhook-secret').textContent = secret; $('webhook-secret').hidden = false; };
  $('webhook-show').addEventListener('click', async () => {
    try { showSecret((await api('GET', '/api/webhooks/secret')).secret); } catch (err) { banner(err.message, true); }
  });
  $('webhook-rotate').addEventListener('click', async () => {
    const ok = await confirmDialog('Rotate the webhook secret?', 'Deliveries from now on are signed with a new secret; receivers checking the old one will refuse them.', 'Rotate');
    if (!ok) return;
    try {
      showSecret((await api('POST', '/api/webhooks/secret')).secret);
      banner('Webhook secret rotated.');
    } catch (err) { banner(err.message, true); }
  });
}

function wireKeys() {
  const box = $('scope-categories');
  for (const [id, label] of CATEGORIES) {
    box.append(h('label', {}, h('input', { type: 'checkbox', name: 'category', value: id, disabled: true }), `${label} `, h('code', {}, id)));
  }
  const sync = () => {
    const scope = document.querySelector('input[name=scope]:checked').value;
    for (const c of box.querySelectorAll('input')) c.disabled = scope !== 'categories';
    $('scope-json').disabled = scope !== 'json';
  };
  for (const r of document.querySelectorAll('input[name=scope]')) r.addEventListener('change', sync);

  $('key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    setError($('key-error'), '');
    const name = $('key-name').value.trim();
    if (!name) return setError($('key-error'), 'Give the key a name.');
    const req = { name };
    if ($('key-expiry').value) req.expires_in = $('key-expiry').value;
    const scope = document.querySelector('input[name=scope]:checked').value;
    if (scope === 'categories') {
      const cats = [...box.querySelectorAll('input:checked')].map((c) => c.value);
      if (!cats.length) return setError($('key-error'), 'Pick at least one permission, or choose full access.');
      req.permissions = { api: Object.fromEntries(cats.map((c) => [c, {}])) };
    } else if (scope === 'json') {
      try { req.permissions = JSON.parse($('scope-json').value); } catch (err) {
        return setError($('key-error'), 'The permissions document is not valid JSON.');
      }
    }
    const btn = $('create-key');
    btn.disabled = true;
    try {
      const k = await api('POST', '/api/keys', req);
      renderSecret($('new-key-secret'), k.key);
      $('new-key-snippet').textContent = curlSnippet(k.key);
      show($('new-key'), true);
      $('new-key-secret').querySelector('button').focus();
      $('key-form').reset();
      sync();
      await loadKeys();
    } catch (err) { setError($('key-error'), err.message); } finally { btn.disabled = false; }
  });
  $('new-key-done').addEventListener('click', () => {
    $('new-key-secret').replaceChildren();
    $('new-key-snippet').textContent = '';
    show($('new-key'), false);
  });
}

// ---- provider keys ----

async function loadProviderKeys() {
  const { provider_keys: saved } = await api('GET', '/api/provider-keys');
  const byName = Object.fromEntries(saved.map((k) => [k.provider, k]));
  $('provider-list').replaceChildren(...PROVIDERS.map(([id, label, what]) => {
    const k = byName[id];
    const input = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-label': `${label} API key`,
      placeholder: k ? 'Paste a new key to replace it' : `Paste your ${label} key` });
    const err = h('p', { class: 'error', role: 'alert', hidden: true });
    const save = h('button', { type: 'submit', class: 'primary small' }, k ? 'Replace' : 'Save');
    const form = h('form', { class: 'stack', 'data-provider': id }, input, h('div', { class: 'row' }, save,
      k ? h('button', { type: 'button', class: 'small danger-text', onclick: async () => {
        const ok = await confirmDialog(`Delete your ${label} key?`, `Requests to ${label} will use the gateway's pooled key and be metered in credits.`);
        if (!ok) return;
        try { await api('DELETE', `/api/provider-keys/${id}`); banner(`${label} key deleted.`); await loadProviderKeys(); } catch (e2) { setError(err, e2.message); }
      } }, 'Delete') : null), err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return setError(err, 'Paste a key first.');
      save.disabled = true;
      try {
        await api('PUT', `/api/provider-keys/${id}`, { key });
        input.value = '';
        banner(`${label} key saved.`);
        await loadProviderKeys();
      } catch (e2) { setError(err, e2.message); } finally { save.disabled = false; }
    });
    const status = k
      ? h('p', { class: 'provider-status' }, 'Saved key ', h('span', { class: 'mono' }, k.masked), h('span', { class: 'muted' }, ` · added ${fmtDate(k.created_at)}`))
      : h('p', { class: 'provider-status muted' }, 'Not set: the gateway\'s pooled key is used and metered.');
    return h('div', { class: 'card', 'data-provider-card': id }, h('h3', {}, label), h('p', { class: 'muted small' }, what), status, form);
  }));
}

// ---- billing ----

const LEDGER_LABELS = { grant: 'Grant', purchase: 'Purchase', reserve: 'Held for a job', capture: 'Charged', release: 'Released', refund: 'Refund', adjustment: 'Adjustment' };

async function loadBilling() {
  const [bal, pk, ledger] = await Promise.all([
    api('GET', '/v1/balance'), api('GET', '/api/billing/packages'), api('GET', '/api/billing/ledger?limit=100')]);
  $('bal-credits').textContent = fmtCredits(bal.balance_cents);
  $('bal-dollars').textContent = fmtDollars(bal.balance_cents);
  $('bal-reserved').textContent = fmtCredits(bal.reserved_cents);
  $('balance-pill').textContent = fmtCredits(bal.balance_cents);
  $('packages').replaceChildren(...pk.packages.map((p) => {
    const buy = h('button', { type: 'button', class: p.popular ? 'primary' : '' }, 'Buy');
    buy.addEventListener('click', async () => {
      setError($('checkout-error'), '');
      buy.disabled = true;
      try {
        const out = await api('POST', '/api/billing/checkout', { packageId: p.id });
        const url = new URL(out.url);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ApiError(0, 'The payment provider returned an invalid address.');
        location.assign(url.href);
      } catch (err) { setError($('checkout-error'), err.message); buy.disabled = false; }
    });
    return h('div', { class: `card package${p.popular ? ' popular' : ''}`, 'data-package': p.id },
      p.popular ? h('span', { class: 'badge' }, 'Most popular') : null,
      h('div', { class: 'muted small' }, p.name),
      h('div', { class: 'price' }, fmtDollars(p.price_cents)),
      h('div', {}, fmtCredits(p.credits)),
      buy);
  }));
  const rows = ledger.entries.map((e) => {
    const negative = e.kind === 'capture' || e.kind === 'reserve' || e.amount < 0;
    const amount = Math.abs(e.amount);
    return h('tr', {},
      h('td', {}, fmtDate(e.created_at)),
      h('td', {}, LEDGER_LABELS[e.kind] || e.kind),
      h('td', { class: `num${negative ? '' : ' plus'}` }, `${negative ? '−' : '+'}${fmtInt(amount)}`),
      h('td', { class: 'mono small' }, e.ref || ''));
  });
  $('ledger-table').querySelector('tbody').replaceChildren(...rows);
  show($('ledger-empty'), rows.length === 0);
}

// ---- usage ----

async function loadUsage() {
  if (!$('usage-from').value) {
    const to = new Date();
    const from = new Date(Date.now() - 29 * 86400000);
    $('usage-from').value = isoDay(from);
    $('usage-to').value = isoDay(to);
  }
  setError($('usage-error'), '');
  const from = $('usage-from').value, to = $('usage-to').value;
  if (from > to) return setError($('usage-error'), '“From” must not be after “To”.');
  const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const [byDay, byModel] = await Promise.all([
    api('GET', `/v1/usage?${q}&group_by=day`), api('GET', `/v1/usage?${q}&group_by=model`)]);
  const groups = byModel.groups || [];
  const count = groups.reduce((n, g) => n + g.count, 0);
  $('usage-total').textContent = fmtCredits(byModel.total_cents);
  $('usage-count').textContent = fmtInt(count);
  $('usage-hits').textContent = fmtInt(groups.reduce((n, g) => n + g.cache_hits, 0));
  drawChart(from, to, byDay.groups || []);
  const body = $('usage-table').querySelector('tbody');
  body.replaceChildren(...groups.map((g) => h('tr', {},
    h('td', { class: 'mono' }, g.key), h('td', { class: 'num' }, fmtInt(g.count)), h('td', { class: 'num' }, fmtInt(g.cache_hits)),
    h('td', { class: 'num' }, fmtInt(g.byok)), h('td', { class: 'num' }, fmtInt(g.metered)), h('td', { class: 'num' }, fmtInt(g.cost_cents)))));
  show($('usage-empty'), groups.length === 0);
}

// Bars per day: credits (left bar) and generations (right bar), each scaled to its own maximum.
function drawChart(from, to, groups) {
  const byDay = Object.fromEntries(groups.map((g) => [g.key, g]));
  const days = [];
  for (let d = new Date(`${from}T00:00:00Z`); isoDay(d) <= to && days.length < 400; d = new Date(d.getTime() + 86400000)) days.push(isoDay(d));
  const W = 800, H = 220, pad = 24, base = H - pad;
  const maxCredits = Math.max(1, ...days.map((d) => (byDay[d] ? byDay[d].cost_cents : 0)));
  const maxCount = Math.max(1, ...days.map((d) => (byDay[d] ? byDay[d].count : 0)));
  const slot = (W - 2 * pad) / Math.max(1, days.length);
  const bw = Math.max(1, slot * 0.38);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Credits and generations per day', preserveAspectRatio: 'none' });
  root.append(svg('line', { x1: pad, y1: base, x2: W - pad, y2: base, class: 'axis' }));
  days.forEach((d, i) => {
    const g = byDay[d] || { cost_cents: 0, count: 0 };
    const x = pad + i * slot + slot * 0.1;
    const hc = (g.cost_cents / maxCredits) * (base - 10);
    const hn = (g.count / maxCount) * (base - 10);
    const group = svg('g', { 'data-day': d, 'data-credits': g.cost_cents, 'data-count': g.count });
    const title = svg('title', {});
    title.textContent = `${d}: ${fmtCredits(g.cost_cents)}, ${fmtInt(g.count)} generation${g.count === 1 ? '' : 's'}`;
    group.append(title,
      svg('rect', { x, y: base - hc, width: bw, height: Math.max(0, hc), class: 'bar-credits' }),
      svg('rect', { x: x + bw, y: base - hn, width: bw, height: Math.max(0, hn), class: 'bar-count' }));
    root.append(group);
    const every = Math.ceil(days.length / 8);
    if (i % every === 0) {
      const t = svg('text', { x: x, y: H - 8 });
      t.textContent = d.slice(5);
      root.append(t);
    }
  });
  $('usage-chart').replaceChildren(root);
}

// ---- playground ----

async function loadPlayground() {
  if (state.models.length) return;
  const [{ models }, { voices }] = await Promise.all([api('GET', '/v1/models'), api('GET', '/v1/voices')]);
  state.models = models;
  state.voices = voices;
  const sel = $('gen-model');
  const caps = ['image', 'video', 'speech', 'music', 'transcription', 'ffmpeg'];
  const titles = { ffmpeg: 'Media processing' };
  // Free local models first, so a new account can try something at once.
  const sorted = [...models].sort((a, b) => (a.provider === 'local' ? 0 : 1) - (b.provider === 'local' ? 0 : 1));
  sel.replaceChildren(...caps.map((cap) => {
    const list = sorted.filter((m) => m.capability === cap);
    if (!list.length) return null;
    return h('optgroup', { label: titles[cap] || cap[0].toUpperCase() + cap.slice(1) },
      list.map((m) => h('option', { value: m.id }, `${m.id} — ${m.credits ? `${m.credits} credits/${m.unit}` : 'free'}`)));
  }).filter(Boolean));
  $('gen-voice').replaceChildren(...voices.map((v) => h('option', { value: v.name }, v.name)));
  const local = models.find((m) => m.id === 'local-image') || models[0];
  if (local) sel.value = local.id;
  syncPlaygroundFields();
}

function selectedModel() { return state.models.find((m) => m.id === $('gen-model').value); }

// Media processing: the input field each operation names and an example of its other fields.
const MEDIA = {
  trim: ['url', { start: 0, end: 2 }],
  resize: ['url', { width: 640, fit: 'cover' }],
  slice: ['video_url', { every: 2 }],
  probe: ['url', {}],
  command: ['url', { command: '-vf eq=brightness=0.1 -c:a copy' }],
};

// What a model's parameters say, in a line: "duration 3-15 s (5); aspect_ratio 16:9/9:16; files: image 0-2".
function paramsText(m) {
  const parts = [];
  for (const [name, rule] of Object.entries(m.parameters || {})) {
    if (name === 'files') {
      parts.push('files: ' + Object.entries(rule).map(([kind, r]) => `${kind} ${r.min === r.max ? r.min : `${r.min}-${r.max}`}`).join(', '));
    } else if (rule.values) parts.push(`${name} ${rule.values.join('/')}`);
    else if (rule.min !== undefined) parts.push(`${name} ${rule.min}-${rule.max}`);
    else if (rule.required === false) parts.push(`${name} (optional)`);
    else parts.push(name);
  }
  return parts.length ? `Parameters: ${parts.join('; ')}` : '';
}

function syncPlaygroundFields() {
  const m = selectedModel();
  if (!m) return;
  const cap = m.capability;
  const p = m.parameters || {};
  const media = cap === 'ffmpeg';
  show($('gen-media-wrap'), media);
  if (media) $('gen-options').value = JSON.stringify((MEDIA[m.id] || ['url', {}])[1]);
  show($('gen-files-wrap'), !!p.files);
  if (p.files) $('gen-files-label').textContent = `Input files: ${Object.keys(p.files).join(', ')} (URLs, one per line)`;
  const ratios = p.aspect_ratio && p.aspect_ratio.values ? p.aspect_ratio.values : ['1:1', '16:9', '9:16', '4:3', '3:4'];
  $('gen-aspect').replaceChildren(...ratios.map((r) => h('option', { value: r }, r)));
  if (p.aspect_ratio) $('gen-aspect').value = p.aspect_ratio.default;
  // Enumerated parameters besides those above (veed's resolution, ...): one select each.
  const skip = ['duration', 'aspect_ratio', 'voice', 'prompt', 'files'];
  $('gen-choices').replaceChildren(...Object.entries(p).filter(([n, r]) => r.values && !skip.includes(n)).map(([n, r]) =>
    h('div', { class: 'stack' }, h('label', { for: `gen-choice-${n}` }, n),
      h('select', { id: `gen-choice-${n}`, 'data-choice': n }, r.values.map((v) => h('option', { value: v, selected: v === r.default }, v))))));
  $('gen-params').textContent = paramsText(m);
  show($('gen-aspect-wrap'), cap === 'image' || cap === 'video');
  show($('gen-voice-wrap'), cap === 'speech');
  show($('gen-audio-wrap'), cap === 'transcription');
  show($('gen-prompt'), cap !== 'transcription' && !media);
  show($('gen-prompt-label'), cap !== 'transcription' && !media);
  $('gen-prompt-label').textContent = cap === 'speech' ? 'Text to speak' : 'Prompt';
  const dur = m.parameters && m.parameters.duration;
  show($('gen-duration-wrap'), !!dur);
  if (dur) {
    const values = dur.values && dur.values.length ? dur.values : [5, 10, 15, 30, 60].filter((v) => !dur.max || v <= dur.max);
    $('gen-duration').replaceChildren(...values.map((v) => h('option', { value: v }, String(v))));
    $('gen-duration').value = String(dur.default || values[0]);
  }
  $('gen-price').textContent = m.credits ? `Costs ${fmtCredits(m.credits)} per ${m.unit} (free on a cache hit or with your own ${m.provider} key).` : 'Free: runs on this server.';
}

function localUrl(url) {
  // Results are served by this very server; load them same-origin so the CSP holds.
  try {
    const u = new URL(url, location.href);
    return u.pathname.startsWith('/files/') ? u.pathname : u.href;
  } catch (e) { return url; }
}

function showJob(job) {
  const terminal = ['completed', 'failed', 'cancelled'].includes(job.status);
  show($('gen-progress'), !terminal);
  const label = { queued: 'Queued…', processing: 'Generating…', completed: 'Done', failed: 'Failed', cancelled: 'Cancelled' }[job.status] || job.status;
  $('gen-status').textContent = job.status === 'failed' && job.error ? `Failed: ${job.error}` : label;
  const badge = $('gen-badge');
  if (job.cache && job.cache.hit) { badge.textContent = 'Cache hit, free'; badge.className = 'badge free'; badge.hidden = false; }
  else if (terminal && job.billing) {
    const mode = { metered: 'metered', byok: 'your own key', free: '', cached: 'cache' }[job.billing.mode] ?? job.billing.mode;
    badge.textContent = job.billing.cost_cents ? `${fmtCredits(job.billing.cost_cents)} · ${mode}` : (mode ? `Free · ${mode}` : 'Free');
    badge.className = 'badge'; badge.hidden = false;
  } else badge.hidden = true;
  $('gen-meta').textContent = `${job.job_id} · ${job.model}`;
  if (job.status === 'completed' && job.output) {
    const src = localUrl(job.output.url);
    const mt = job.output.media_type || '';
    let media;
    if (mt.startsWith('image/')) media = h('img', { src, alt: 'Generated image' });
    else if (mt.startsWith('video/')) media = h('video', { src, controls: true, playsinline: true });
    else if (mt.startsWith('audio/')) media = h('audio', { src, controls: true });
    else media = h('pre', { class: 'snippet' }, 'Result ready.');
    const segments = job.output.segments || [];
    if (segments.length) {
      media = h('div', { class: 'segments' }, segments.map((sg) => h('a', { href: localUrl(sg.url), target: '_blank', rel: 'noopener' },
        sg.thumbnail ? h('img', { src: localUrl(sg.thumbnail.url), alt: `Segment ${sg.index}` }) : `Segment ${sg.index}`,
        h('span', { class: 'small' }, ` ${sg.start}-${sg.end} s`))));
    }
    $('gen-preview').replaceChildren(media, h('p', {}, h('a', { href: src, download: '', target: '_blank', rel: 'noopener' }, 'Download')));
  }
  return terminal;
}

function follow(job) {
  if (state.stream) state.stream.close();
  if (showJob(job)) return done();
  // Live progress over server-sent events, with the session cookie.
  const es = new EventSource(`/api/dashboard/jobs/${encodeURIComponent(job.job_id)}/stream`, { withCredentials: true });
  state.stream = es;
  es.addEventListener('status', (ev) => {
    let j;
    try { j = JSON.parse(ev.data); } catch (e) { return; }
    if (showJob(j)) { es.close(); state.stream = null; done(); }
  });
  es.addEventListener('error', async () => {
    if (state.stream !== es) return;
    es.close();
    state.stream = null;
    try {
      const j = await api('GET', `/api/dashboard/jobs/${encodeURIComponent(job.job_id)}`);
      if (showJob(j)) done(); else setTimeout(() => follow(j), 1000);
    } catch (err) { $('gen-status').textContent = err.message; done(); }
  });
  function done() { $('generate').disabled = false; refreshMe().catch(() => {}); }
}

function wirePlayground() {
  $('gen-model').addEventListener('change', syncPlaygroundFields);
  $('gen-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const m = selectedModel();
    if (!m) return;
    const cap = m.capability;
    const text = $('gen-prompt').value.trim();
    const body = { model: m.id };
    if (cap === 'speech') body.text = text; else if (cap !== 'transcription') body.prompt = text;
    if (cap === 'image' || cap === 'video') body.aspect_ratio = $('gen-aspect').value;
    if (!$('gen-duration-wrap').hidden) body.duration = Number($('gen-duration').value);
    if (cap === 'speech') body.voice = $('gen-voice').value;
    if (cap === 'transcription') body.audio_url = $('gen-audio').value.trim();
    for (const sel of document.querySelectorAll('#gen-choices select')) body[sel.dataset.choice] = sel.value;
    const files = $('gen-files').value.split('\n').map((u) => u.trim()).filter(Boolean);
    if (!$('gen-files-wrap').hidden && files.length) body.files = files.map((url) => ({ url }));
    if (cap === 'ffmpeg') {
      delete body.prompt;
      let extra;
      try { extra = JSON.parse($('gen-options').value || '{}'); } catch (err) { extra = null; }
      if (!extra || typeof extra !== 'object' || Array.isArray(extra)) { $('gen-status').textContent = 'Options must be a JSON object.'; return; }
      Object.assign(body, extra, { model: m.id });
      body[(MEDIA[m.id] || ['url'])[0]] = $('gen-url').value.trim();
    } else if (!text && cap !== 'transcription' && !(m.parameters && m.parameters.prompt && m.parameters.prompt.required === false)) {
      $('gen-status').textContent = cap === 'speech' ? 'Write the text to speak.' : 'Write a prompt first.';
      return;
    }
    $('generate').disabled = true;
    $('gen-preview').replaceChildren();
    $('gen-badge').hidden = true;
    $('gen-meta').textContent = '';
    $('gen-status').textContent = 'Submitting…';
    show($('gen-progress'), true);
    try {
      const job = await api('POST', `/api/dashboard/generate/${cap}`, body);
      follow(job);
    } catch (err) {
      show($('gen-progress'), false);
      $('gen-status').textContent = err.message;
      $('generate').disabled = false;
    }
  });
}

// ---- start ----

function wireUsage() {
  $('usage-form').addEventListener('submit', (e) => {
    e.preventDefault();
    loadUsage().catch((err) => setError($('usage-error'), err.message));
  });
}

wireSignIn();
wireShell();
wireKeys();
wireWebhookSecret();
wirePlayground();
wireUsage();
start();
