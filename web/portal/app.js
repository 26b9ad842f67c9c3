// web/portal/app.js: the hcrelay portal. Owns sign-in (a Manage connection string or key name +
// key, kept only in this tab's sessionStorage), SAS tokens minted here with WebCrypto
// (HMAC-SHA256 over urlencode(sr) + "\n" + se, keyed with the UTF-8 bytes of the key text; the
// key never leaves the browser), the REST calls to /api/v1, hash routing and one render function
// per view: apps and an app's Networking > Hybrid connections (Add, Create new, Disconnect),
// hybrid connection details, App Service plans with usage, relay namespaces and their keys.
// DOM is built with textContent only (no innerHTML of data). No dependencies.
'use strict';

const credentialSlot = 'hcrelay.portal.credential';
const refreshMs = 3000;

// ---------------------------------------------------------------- DOM helpers
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
const enc = encodeURIComponent;

function toast(message, kind) {
  const t = $('#toast');
  t.textContent = message;
  t.className = 'toast' + (kind === 'info' ? ' info' : '');
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, kind === 'info' ? 3000 : 8000);
}

function statusBadge(status) {
  const cls = status === 'Connected' ? 'ok' : status === 'Not connected' ? 'bad' : 'neutral';
  return h('span', { class: 'badge ' + cls, text: status || '-' });
}

function table(headers, rows, empty) {
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { text: x })))),
    h('tbody', {}, rows.length ? rows
      : h('tr', {}, h('td', { class: 'empty', colspan: headers.length, text: empty || 'None yet.' }))));
}

function secretField(value, label) {
  const input = h('input', { type: 'password', readonly: true, value, 'aria-label': label });
  input.value = value;
  const show = h('button', { type: 'button', class: 'small', text: 'Show', onclick: () => {
    input.type = input.type === 'password' ? 'text' : 'password';
    show.textContent = input.type === 'password' ? 'Show' : 'Hide';
  } });
  const copy = h('button', { type: 'button', class: 'small', text: 'Copy', onclick: async () => {
    try { await navigator.clipboard.writeText(value); toast('Copied', 'info'); } catch { input.type = 'text'; input.select(); }
  } });
  return h('div', { class: 'secret' }, input, show, copy);
}

function props(pairs) {
  return h('dl', { class: 'props' }, pairs.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

// ---------------------------------------------------------------- credentials and tokens
function loadCredential() {
  try { return JSON.parse(sessionStorage.getItem(credentialSlot) || 'null'); } catch { return null; }
}

// "Endpoint=sb://host/;SharedAccessKeyName=..;SharedAccessKey=.." or null.
function parseConnectionString(text) {
  const out = {};
  for (const part of text.trim().split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
  }
  if (!out.sharedaccesskeyname || !out.sharedaccesskey) return null;
  return { keyName: out.sharedaccesskeyname, key: out.sharedaccesskey, endpoint: out.endpoint || '' };
}

const tokenCache = { value: '', until: 0 };
async function sasToken() {
  const now = Math.floor(Date.now() / 1000);
  if (tokenCache.value && tokenCache.until - 300 > now) return tokenCache.value;
  const cred = loadCredential();
  if (!cred) throw new Error('not signed in');
  if (!window.crypto || !crypto.subtle) throw new Error('WebCrypto is unavailable: open the portal over https:// (or on localhost)');
  const sr = 'http://' + location.hostname.toLowerCase() + '/';
  const se = now + 3600;
  const utf8 = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', utf8.encode(cred.key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8.encode(enc(sr) + '\n' + se)));
  const sig = btoa(String.fromCharCode(...mac));
  tokenCache.value = `SharedAccessSignature sr=${enc(sr)}&sig=${enc(sig)}&se=${se}&skn=${enc(cred.keyName)}`;
  tokenCache.until = se;
  return tokenCache.value;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { Authorization: await sasToken(), Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch('/$admin/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) throw new ApiError(r.status, (data && data.error && data.error.message) || `${r.status} ${r.statusText}`);
  return data;
}

function signOut() {
  sessionStorage.removeItem(credentialSlot);
  tokenCache.value = '';
  location.hash = '#/';
  render();
}

// ---------------------------------------------------------------- routing
let refreshTimer = 0;
function keepFresh(fn) {
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => { if (!document.hidden && !document.querySelector('dialog[open]')) fn(); }, refreshMs);
}

const routes = [
  [/^#\/apps\/([^/]+)\/hc\/([^/]+)\/([^/]+)$/, (m) => viewLink(dec(m[1]), dec(m[2]), dec(m[3])), 'apps'],
  [/^#\/apps\/([^/]+)$/, (m) => viewApp(dec(m[1])), 'apps'],
  [/^#\/plans\/([^/]+)$/, (m) => viewPlan(dec(m[1])), 'plans'],
  [/^#\/plans$/, () => viewPlans(), 'plans'],
  [/^#\/namespaces\/([^/]+)\/hc\/([^/]+)$/, (m) => viewRules(dec(m[1]), dec(m[2])), 'namespaces'],
  [/^#\/namespaces\/([^/]+)$/, (m) => viewRules(dec(m[1]), null), 'namespaces'],
  [/^#\/namespaces$/, () => viewNamespaces(), 'namespaces'],
  [/^.*$/, () => viewApps(), 'apps'],
];
function dec(s) { return decodeURIComponent(s); }

async function render() {
  clearInterval(refreshTimer);
  hideContextMenu();
  const cred = loadCredential();
  $('#nav').hidden = !cred;
  $('#sign-out').hidden = !cred;
  $('#who').textContent = cred ? `${cred.keyName} @ ${location.hostname}` : '';
  const view = $('#view');
  if (!cred) { view.replaceChildren(signInView()); return; }
  const hash = location.hash || '#/apps';
  for (const [re, fn, section] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.section === section);
    try {
      await fn(m);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { toast('Sign-in refused: ' + e.message); signOut(); return; }
      view.replaceChildren(h('div', { class: 'card' }, h('p', { class: 'error', text: e.message })));
    }
    return;
  }
}

function page(crumbs, title, subtitle, ...content) {
  const trail = h('div', { class: 'breadcrumb' });
  crumbs.forEach(([text, href], i) => {
    if (i) trail.append(' / ');
    trail.append(href ? h('a', { href, text }) : text);
  });
  $('#view').replaceChildren(trail, h('div', { class: 'page-head' }, h('div', {}, h('h1', { text: title }),
    subtitle ? h('div', { class: 'muted', text: subtitle }) : null)), ...content);
}

// ---------------------------------------------------------------- sign-in
function signInView() {
  const cs = h('textarea', { name: 'cs', placeholder: 'Endpoint=sb://' + location.hostname + '/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=...', autocomplete: 'off', spellcheck: 'false' });
  const keyName = h('input', { name: 'keyName', placeholder: 'RootManageSharedAccessKey', autocomplete: 'off' });
  const key = h('input', { name: 'key', type: 'password', autocomplete: 'off' });
  const error = h('p', { class: 'error', hidden: true });
  const form = h('form', { onsubmit: async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const parsed = cs.value.trim() ? parseConnectionString(cs.value) : (keyName.value && key.value ? { keyName: keyName.value.trim(), key: key.value.trim() } : null);
    if (!parsed) { error.textContent = 'Paste a connection string with SharedAccessKeyName and SharedAccessKey, or fill in the key name and key.'; error.hidden = false; return; }
    sessionStorage.setItem(credentialSlot, JSON.stringify({ keyName: parsed.keyName, key: parsed.key }));
    tokenCache.value = '';
    try {
      await api('GET', '/namespaces');
      cs.value = ''; key.value = '';
      location.hash = '#/apps';
      render();
    } catch (e) {
      sessionStorage.removeItem(credentialSlot);
      tokenCache.value = '';
      error.textContent = 'The relay refused this key: ' + e.message;
      error.hidden = false;
    }
  } },
  h('label', {}, 'Connection string (Manage rights)', cs),
  h('div', { class: 'or', text: 'or' }),
  h('label', {}, 'Key name', keyName),
  h('label', {}, 'Key', key),
  error,
  h('div', {}, h('button', { type: 'submit', class: 'primary', text: 'Sign in' })));
  return h('div', { class: 'signin card' },
    h('h1', { text: 'Sign in' }),
    h('p', { class: 'muted', text: 'Use a Manage key of this relay\'s namespace: hcrelay writes one to DATA_DIR/root.connection-string. ' +
      'The key stays in this browser tab; requests carry short-lived SAS tokens made from it.' }),
    form);
}

// ---------------------------------------------------------------- apps
async function viewApps() {
  const [apps, plans] = await Promise.all([api('GET', '/apps'), api('GET', '/plans')]);
  const rows = apps.map((a) => h('tr', { class: 'clickable', onclick: () => { location.hash = '#/apps/' + enc(a.name); } },
    h('td', {}, h('a', { href: '#/apps/' + enc(a.name), text: a.name })),
    h('td', {}, h('a', { href: '#/plans/' + enc(a.plan), text: a.plan, onclick: (e) => e.stopPropagation() })),
    h('td', { text: a.sku }),
    h('td', { text: String(a.hybridConnections.length) }),
    h('td', { text: a.hybridConnections.length
      ? `${a.hybridConnections.filter((x) => x.status === 'Connected').length} of ${a.hybridConnections.length} connected` : '-' })));
  const name = h('input', { name: 'name', required: true, placeholder: 'my-web-app', autocomplete: 'off' });
  const plan = h('select', { name: 'plan', required: true }, plans.map((p) => h('option', { value: p.name, text: `${p.name} (${p.sku})` })));
  const create = h('form', { class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    try { await api('PUT', '/apps/' + enc(name.value.trim()), { plan: plan.value }); location.hash = '#/apps/' + enc(name.value.trim()); }
    catch (e) { toast(e.message); }
  } }, h('label', {}, 'App name', name), h('label', {}, 'App Service plan', plan),
  h('button', { type: 'submit', class: 'primary', text: 'Create app', disabled: !plans.length }));
  page([['App Services', null]], 'App Services', 'Apps and the hybrid connections they use',
    h('div', { class: 'card' }, table(['Name', 'App Service plan', 'SKU', 'Hybrid connections', 'Status'], rows, 'No apps yet: create one below.')),
    h('div', { class: 'card' }, h('h2', { text: 'Create app' }),
      plans.length ? create : h('p', { class: 'note' }, 'Create an App Service plan first: ', h('a', { href: '#/plans', text: 'App Service plans' }))));
}

async function viewApp(appName) {
  const app = await api('GET', '/apps/' + enc(appName));
  const plan = await api('GET', '/plans/' + enc(app.plan));
  const tbody = h('tbody');
  const fill = (list) => {
    tbody.replaceChildren(...(list.length ? list.map((x) => hcRow(app, x))
      : [h('tr', {}, h('td', { class: 'empty', colspan: 6, text: 'No hybrid connections yet. Add one, or create a new one.' }))]));
  };
  fill(app.hybridConnections);
  const usage = h('span', { text: `${plan.hybridConnectionsUsed} of ${plan.hybridConnectionLimit} hybrid connections used in App Service plan ` });
  const keyArea = h('div');
  page([['App Services', '#/apps'], [app.name, null]], app.name + ' | Networking', 'Hybrid connections',
    h('div', { class: 'card' },
      h('h2', { text: 'Hybrid connections' }),
      h('p', { class: 'muted' }, usage, h('a', { href: '#/plans/' + enc(plan.name), text: `${plan.name} (${plan.sku})` })),
      h('div', { class: 'toolbar' },
        h('button', { class: 'primary', id: 'add-hc', text: 'Add hybrid connection', onclick: () => openAddDialog(app) }),
        h('button', { id: 'create-hc', text: 'Create new hybrid connection', onclick: () => openCreateDialog(app) }),
        h('button', { text: 'Refresh', onclick: () => render() })),
      h('table', { id: 'hc-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Status', 'Endpoint', 'Namespace', 'Listeners', ''].map((x) => h('th', { text: x })))),
        tbody),
      h('p', { class: 'muted', text: 'Select a hybrid connection for its details; right-click it to disconnect.' })),
    h('div', { class: 'card' },
      h('h2', { text: 'App credential (hcconnect)' }),
      h('p', { class: 'muted' }, 'On the app\'s host, ', h('code', { text: 'hcconnect' }),
        ' follows this list with the app\'s own Send key (', h('code', { text: app.keyName }), '): adds and disconnects here take effect there without a restart.'),
      keyArea,
      h('div', { class: 'toolbar' },
        h('button', { text: 'Show key and command', onclick: async () => {
          const k = await api('POST', '/apps/' + enc(app.name) + '/listKeys');
          keyArea.replaceChildren(props([['Key name', k.keyName], ['Key', secretField(k.primaryKey, 'App key')],
            ['Run', secretField(k.hcconnect.replace('KEY', k.primaryKey), 'hcconnect command')]]));
        } }))));
  keepFresh(async () => {
    try { fill((await api('GET', '/apps/' + enc(app.name))).hybridConnections); } catch { /* next tick */ }
  });
}

function linkHref(app, x) {
  return `#/apps/${enc(app.name)}/hc/${enc(x.namespace)}/${enc(x.name)}`;
}

function hcRow(app, x) {
  const row = h('tr', { class: 'clickable', dataset: { name: x.name, namespace: x.namespace },
    onclick: () => { location.hash = linkHref(app, x); },
    oncontextmenu: (ev) => { ev.preventDefault(); showContextMenu(ev.clientX, ev.clientY, app, x); } },
  h('td', {}, h('a', { href: linkHref(app, x), text: x.name })),
  h('td', {}, statusBadge(x.status)),
  h('td', { class: 'mono', text: x.endpoint || '-' }),
  h('td', { text: x.namespace }),
  h('td', { text: x.listenerCount === undefined ? '-' : String(x.listenerCount) }),
  h('td', { class: 'actions' }, h('button', { class: 'small danger', text: 'Disconnect',
    onclick: (ev) => { ev.stopPropagation(); disconnect(app, x); } })));
  return row;
}

async function disconnect(app, x) {
  if (!confirm(`Disconnect ${x.name} from ${app.name}? The hybrid connection itself is kept.`)) return;
  try {
    await api('DELETE', `/apps/${enc(app.name)}/hybridConnections/${enc(x.namespace)}/${enc(x.name)}`);
    toast(`Disconnected ${x.name}`, 'info');
    location.hash = '#/apps/' + enc(app.name);
    render();
  } catch (e) { toast(e.message); }
}

function showContextMenu(x, y, app, link) {
  const menu = $('#context-menu');
  menu.style.left = x + 'px';
  menu.style.top = y + 'px';
  menu.hidden = false;
  menu.onclick = (ev) => {
    const action = ev.target.dataset.action;
    hideContextMenu();
    if (action === 'details') location.hash = linkHref(app, link);
    if (action === 'disconnect') disconnect(app, link);
  };
}
function hideContextMenu() { const m = $('#context-menu'); if (m) m.hidden = true; }

async function openAddDialog(app) {
  const dialog = $('#add-dialog');
  const list = $('#add-list');
  list.replaceChildren(h('p', { class: 'muted', text: 'Loading...' }));
  dialog.showModal();
  $('#add-create-new').onclick = () => { dialog.close('cancel'); openCreateDialog(app); };
  const used = new Set(app.hybridConnections.map((x) => x.namespace + '/' + x.name.toLowerCase()));
  const namespaces = await api('GET', '/namespaces');
  const all = (await Promise.all(namespaces.map((n) => api('GET', `/namespaces/${enc(n.name)}/hybridConnections`)))).flat();
  const candidates = all.filter((x) => !used.has(x.namespace + '/' + x.name.toLowerCase()));
  list.replaceChildren(...(candidates.length ? candidates.map((x) => {
    const usable = x.requiresClientAuthorization && x.endpoint;
    return h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'pick', value: x.namespace + '/' + x.name, disabled: !usable, dataset: { namespace: x.namespace, name: x.name } }),
      h('span', {}, h('strong', { text: x.name }), ` (${x.namespace}) `, h('span', { class: 'mono', text: x.endpoint || 'no endpoint' }), ' ', statusBadge(x.status),
        usable ? null : h('span', { class: 'muted', text: ' - needs client authorization and an endpoint' })));
  }) : [h('p', { class: 'muted', text: 'Every hybrid connection on this relay is already in this app. Create a new one.' })]));
  $('#add-form').onsubmit = async (ev) => {
    if (ev.submitter && ev.submitter.value !== 'add') return;
    ev.preventDefault();
    const picked = [...list.querySelectorAll('input[name=pick]:checked')];
    for (const p of picked) {
      try { await api('PUT', `/apps/${enc(app.name)}/hybridConnections/${enc(p.dataset.namespace)}/${enc(p.dataset.name)}`); }
      catch (e) { toast(e.message); break; }
    }
    dialog.close('add');
    render();
  };
}

async function openCreateDialog(app) {
  const dialog = $('#create-dialog');
  const form = $('#create-form');
  const error = $('#create-error');
  form.reset();
  error.hidden = true;
  const namespaces = await api('GET', '/namespaces');
  form.elements.namespace.replaceChildren(...namespaces.map((n) => h('option', { value: n.name, text: `${n.name} (${n.host})` })));
  dialog.showModal();
  form.onsubmit = async (ev) => {
    if (ev.submitter && ev.submitter.value !== 'create') return;
    ev.preventDefault();
    error.hidden = true;
    const body = {
      name: form.elements.name.value.trim(),
      endpointHost: form.elements.endpointHost.value.trim(),
      endpointPort: Number(form.elements.endpointPort.value),
      namespace: form.elements.namespace.value,
    };
    try {
      await api('POST', `/apps/${enc(app.name)}/hybridConnections`, body);
      dialog.close('create');
      toast(`Created ${body.name} and added it to ${app.name}`, 'info');
      render();
    } catch (e) { error.textContent = e.message; error.hidden = false; }
  };
}

async function viewLink(appName, ns, name) {
  const path = `/apps/${enc(appName)}/hybridConnections/${enc(ns)}/${enc(name)}`;
  const d = await api('GET', path);
  const status = h('span', {}, statusBadge(d.status));
  const count = h('span', { text: String(d.listenerCount) });
  const listeners = h('div');
  const fillListeners = (list) => {
    listeners.replaceChildren(table(['Listener id', 'Remote address', 'Connected since', 'Agent', 'Active tunnels'],
      list.map((l) => h('tr', {}, h('td', { class: 'mono', text: l.id }), h('td', { text: l.remoteAddress }),
        h('td', { text: l.connectedSince }), h('td', { text: l.agent || '-' }), h('td', { text: String(l.activeTunnels) }))),
      'No Hybrid Connection Manager is connected: configure one with the gateway connection string below.'));
  };
  fillListeners(d.listeners);
  page([['App Services', '#/apps'], [d.app, '#/apps/' + enc(d.app)], ['Hybrid connections', '#/apps/' + enc(d.app)], [d.name, null]],
    d.name, 'Hybrid connection details',
    h('div', { class: 'card' },
      props([['Status', status], ['Endpoint', h('span', { class: 'mono', text: d.endpoint || '-' })],
        ['Namespace', `${d.namespace} (${d.namespaceHost})`], ['Listeners', count],
        ['Requires client authorization', d.requiresClientAuthorization ? 'Yes' : 'No'],
        ['App Service plan', h('a', { href: '#/plans/' + enc(d.plan), text: d.plan })], ['Created', d.createdAt]]),
      h('div', { class: 'toolbar after' }, h('button', { class: 'danger', text: 'Disconnect', onclick: () => disconnect({ name: d.app }, d) }))),
    h('div', { class: 'card' }, h('h2', { text: 'Hybrid Connection Managers (listeners)' }), listeners),
    h('div', { class: 'card' }, h('h2', { text: `Apps in plan ${d.plan} using this hybrid connection` }),
      h('p', {}, ...d.appsInPlan.flatMap((a, i) => [i ? ', ' : '', h('a', { href: '#/apps/' + enc(a), text: a })]))),
    h('div', { class: 'card' }, h('h2', { text: 'Gateway connection string' }),
      h('p', { class: 'muted', text: 'For "Enter manually" in a Hybrid Connection Manager (hcm add) run by someone outside this relay. It carries the defaultListener key.' }),
      d.gatewayConnectionString ? secretField(d.gatewayConnectionString, 'Gateway connection string') : h('p', { class: 'muted', text: 'No defaultListener rule.' })));
  keepFresh(async () => {
    try {
      const fresh = await api('GET', path);
      status.replaceChildren(statusBadge(fresh.status));
      count.textContent = String(fresh.listenerCount);
      fillListeners(fresh.listeners);
    } catch { /* next tick */ }
  });
}

// ---------------------------------------------------------------- plans
const skus = ['Free', 'Basic', 'Standard', 'Premium', 'Isolated'];

async function viewPlans() {
  const plans = await api('GET', '/plans');
  const rows = plans.map((p) => h('tr', { class: 'clickable', onclick: () => { location.hash = '#/plans/' + enc(p.name); } },
    h('td', {}, h('a', { href: '#/plans/' + enc(p.name), text: p.name })), h('td', { text: p.sku }),
    h('td', { text: `${p.hybridConnectionsUsed} / ${p.hybridConnectionLimit}` }), h('td', { text: p.apps.join(', ') || '-' })));
  const name = h('input', { name: 'name', required: true, placeholder: 'my-plan', autocomplete: 'off' });
  const sku = h('select', { name: 'sku' }, skus.map((s) => h('option', { value: s, text: s, selected: s === 'Basic' })));
  page([['App Service plans', null]], 'App Service plans', 'Each plan\'s SKU limits the distinct hybrid connections its apps use',
    h('div', { class: 'card' }, table(['Name', 'SKU', 'Hybrid connections used', 'Apps'], rows, 'No plans yet.')),
    h('div', { class: 'card' }, h('h2', { text: 'Create App Service plan' }),
      h('form', { class: 'inline', onsubmit: async (ev) => {
        ev.preventDefault();
        try { await api('PUT', '/plans/' + enc(name.value.trim()), { sku: sku.value }); location.hash = '#/plans/' + enc(name.value.trim()); }
        catch (e) { toast(e.message); }
      } }, h('label', {}, 'Plan name', name), h('label', {}, 'Pricing tier (SKU)', sku), h('button', { type: 'submit', class: 'primary', text: 'Create plan' })),
      h('p', { class: 'muted', text: 'Hybrid connections usable in a plan: Free 0, Basic 5, Standard 25, Premium 200, Isolated 200. One used by several apps of the plan counts once.' })));
}

async function viewPlan(planName) {
  const p = await api('GET', '/plans/' + enc(planName));
  const sku = h('select', { name: 'sku' }, skus.map((s) => h('option', { value: s, text: s, selected: s === p.sku })));
  const rows = p.hybridConnections.map((x) => h('tr', {},
    h('td', {}, h('strong', { text: x.name })), h('td', { text: x.namespace }), h('td', { class: 'mono', text: x.endpoint || '-' }),
    h('td', {}, statusBadge(x.status)),
    h('td', {}, ...x.apps.flatMap((a, i) => [i ? ', ' : '', h('a', { href: `#/apps/${enc(a)}/hc/${enc(x.namespace)}/${enc(x.name)}`, text: a })]))));
  page([['App Service plans', '#/plans'], [p.name, null]], p.name, 'App Service plan properties',
    h('div', { class: 'card' },
      props([['Pricing tier', h('form', { class: 'inline', onsubmit: async (ev) => {
        ev.preventDefault();
        try { await api('PUT', '/plans/' + enc(p.name), { sku: sku.value }); toast('Pricing tier changed to ' + sku.value, 'info'); render(); }
        catch (e) { toast(e.message); }
      } }, sku, h('button', { type: 'submit', text: 'Change' }))],
      ['Hybrid connections', h('div', { class: 'usage' }, h('span', { class: 'big', text: `${p.hybridConnectionsUsed} / ${p.hybridConnectionLimit}` }),
        h('meter', { min: 0, max: Math.max(p.hybridConnectionLimit, 1), value: p.hybridConnectionsUsed, low: Math.max(p.hybridConnectionLimit, 1) * 0.8, high: Math.max(p.hybridConnectionLimit, 1) * 0.99, optimum: 0 }),
        h('span', { class: 'muted', text: 'distinct, used / limit' }))],
      ['Apps', h('span', {}, ...(p.apps.length ? p.apps.flatMap((a, i) => [i ? ', ' : '', h('a', { href: '#/apps/' + enc(a), text: a })]) : ['-']))],
      ['Created', p.createdAt]])),
    h('div', { class: 'card' }, h('h2', { text: 'Hybrid connections used in this plan' }),
      table(['Hybrid connection', 'Namespace', 'Endpoint', 'Status', 'Used by apps'], rows, 'No app of this plan uses a hybrid connection.')),
    usageCard(p),
    h('div', { class: 'toolbar' }, h('button', { class: 'danger', text: 'Delete plan', onclick: async () => {
      if (!confirm(`Delete plan ${p.name}?`)) return;
      try { await api('DELETE', '/plans/' + enc(p.name)); location.hash = '#/plans'; } catch (e) { toast(e.message); }
    } })));
}

// What the plan's hybrid connections used (GET /usage?plan=), over a range the operator picks,
// beside the plan's limit. Refills itself when the range changes.
function usageCard(plan) {
  const ranges = [['24 hours', 1], ['7 days', 7], ['30 days', 30]];
  const range = h('select', { name: 'usage-range', 'aria-label': 'Usage range' },
    ranges.map(([label, days]) => h('option', { value: days, text: 'Last ' + label })));
  const body = h('div', { id: 'plan-usage' }, h('p', { class: 'muted', text: 'Loading usage…' }));
  const number = (x, digits) => Number(x).toLocaleString('en-US', { maximumFractionDigits: digits });
  const cells = (u) => [h('td', { text: number(u.listenerHours, 4) }), h('td', { text: number(u.tunnels, 0) }),
    h('td', { text: number(u.tunnelSeconds, 1) }), h('td', { text: number(u.bytesAppToAgent, 0) }),
    h('td', { text: number(u.bytesAgentToApp, 0) })];
  const fill = async () => {
    const from = Math.floor(Date.now() / 1000) - Number(range.value) * 86400;
    try {
      const u = await api('GET', `/usage?plan=${enc(plan.name)}&from=${from}`);
      const rows = u.hybridConnections.map((x) => h('tr', { 'data-name': x.name },
        h('td', {}, h('strong', { text: x.name })), h('td', { text: x.namespace }), ...cells(x)));
      if (rows.length) rows.push(h('tr', { class: 'total' }, h('td', { text: 'Total' }), h('td', {}), ...cells(u.total)));
      body.replaceChildren(
        h('p', { class: 'muted', text: `${u.scope.hybridConnectionsUsed} of ${u.scope.hybridConnectionLimit} hybrid connections used (${u.scope.sku}); usage from ${u.from} to ${u.to}` }),
        table(['Hybrid connection', 'Namespace', 'Listener hours', 'Tunnels', 'Tunnel seconds', 'Bytes app → agent', 'Bytes agent → app'],
          rows, 'No usage in this range.'));
    } catch (e) { body.replaceChildren(h('div', { class: 'error', text: e.message })); }
  };
  range.addEventListener('change', fill);
  fill();
  return h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', { text: 'Usage' }), range), body);
}

// ---------------------------------------------------------------- namespaces and keys
async function viewNamespaces() {
  const list = await api('GET', '/namespaces');
  const rows = list.map((n) => h('tr', { class: 'clickable', onclick: () => { location.hash = '#/namespaces/' + enc(n.name); } },
    h('td', {}, h('a', { href: '#/namespaces/' + enc(n.name), text: n.name })), h('td', { class: 'mono', text: n.host }),
    h('td', { text: String(n.hybridConnectionCount) }), h('td', { text: n.relayNamespace ? 'relay namespace' : '' })));
  const name = h('input', { name: 'name', required: true, placeholder: 'contoso', autocomplete: 'off' });
  const host = h('input', { name: 'host', required: true, placeholder: 'contoso.relay.example.com', autocomplete: 'off' });
  page([['Relay namespaces', null]], 'Relay namespaces', 'Each namespace is served at its own host name',
    h('div', { class: 'card' }, table(['Name', 'Host', 'Hybrid connections', ''], rows)),
    h('div', { class: 'card' }, h('h2', { text: 'Create namespace' }),
      h('form', { class: 'inline', onsubmit: async (ev) => {
        ev.preventDefault();
        try { await api('PUT', '/namespaces/' + enc(name.value.trim()), { host: host.value.trim() }); location.hash = '#/namespaces/' + enc(name.value.trim()); }
        catch (e) { toast(e.message); }
      } }, h('label', {}, 'Name', name), h('label', {}, 'Host name (DNS name of this relay)', host), h('button', { type: 'submit', class: 'primary', text: 'Create' }))));
}

async function viewRules(ns, hcName) {
  const base = `/namespaces/${enc(ns)}` + (hcName ? `/hybridConnections/${enc(hcName)}` : '');
  const [rules, entities] = await Promise.all([api('GET', base + '/authorizationRules'),
    hcName ? Promise.resolve([]) : api('GET', `/namespaces/${enc(ns)}/hybridConnections`)]);
  const keys = h('div', { id: 'keys' });
  const showKeys = async (rule, data) => {
    const k = data || await api('POST', `${base}/authorizationRules/${enc(rule)}/listKeys`);
    const regen = (type) => async () => {
      if (!confirm(`Regenerate the ${type === 'PrimaryKey' ? 'primary' : 'secondary'} key of ${rule}? Tokens signed with the old key are refused from now on; open connections stay up.`)) return;
      try { showKeys(rule, await api('POST', `${base}/authorizationRules/${enc(rule)}/regenerateKeys`, { keyType: type })); toast('Key regenerated', 'info'); }
      catch (e) { toast(e.message); }
    };
    keys.replaceChildren(h('div', { class: 'card' }, h('h2', { text: `${k.name} (${k.rights.join(', ')})` }),
      props([['Primary key', secretField(k.primaryKey, 'Primary key')], ['Secondary key', secretField(k.secondaryKey, 'Secondary key')],
        ['Primary connection string', secretField(k.primaryConnectionString, 'Primary connection string')],
        ['Secondary connection string', secretField(k.secondaryConnectionString, 'Secondary connection string')]]),
      h('div', { class: 'toolbar after' },
        h('button', { text: 'Regenerate primary key', onclick: regen('PrimaryKey') }),
        h('button', { text: 'Regenerate secondary key', onclick: regen('SecondaryKey') }))));
  };
  const rows = rules.map((r) => h('tr', { class: 'clickable', onclick: () => showKeys(r.name) },
    h('td', {}, h('a', { href: '#', text: r.name, onclick: (e) => e.preventDefault() })), h('td', { text: r.rights.join(', ') }),
    h('td', { class: 'actions' }, h('button', { class: 'small danger', text: 'Delete', onclick: async (ev) => {
      ev.stopPropagation();
      if (!confirm(`Delete policy ${r.name}? Tokens signed with its keys are refused from now on.`)) return;
      try { await api('DELETE', `${base}/authorizationRules/${enc(r.name)}`); render(); } catch (e) { toast(e.message); }
    } }))));
  const name = h('input', { name: 'rule', required: true, placeholder: 'sendOnly', autocomplete: 'off' });
  const rights = ['Manage', 'Listen', 'Send'].map((r) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: r, checked: r === 'Send' }), r));
  const hcRows = entities.map((x) => h('tr', { class: 'clickable', onclick: () => { location.hash = `#/namespaces/${enc(ns)}/hc/${enc(x.name)}`; } },
    h('td', {}, h('a', { href: `#/namespaces/${enc(ns)}/hc/${enc(x.name)}`, text: x.name })), h('td', {}, statusBadge(x.status)),
    h('td', { class: 'mono', text: x.endpoint || '-' }), h('td', { text: String(x.listenerCount) }),
    h('td', { text: (x.apps || []).map((a) => a.name).join(', ') || '-' })));
  const crumbs = hcName ? [['Relay namespaces', '#/namespaces'], [ns, '#/namespaces/' + enc(ns)], [hcName, null]]
    : [['Relay namespaces', '#/namespaces'], [ns, null]];
  page(crumbs, hcName || ns, hcName ? 'Hybrid connection: shared access policies' : 'Namespace: shared access policies',
    h('div', { class: 'card' }, h('h2', { text: 'Shared access policies' }),
      table(['Policy', 'Claims', ''], rows),
      h('form', { class: 'inline', onsubmit: async (ev) => {
        ev.preventDefault();
        const picked = rights.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
        try { await api('PUT', `${base}/authorizationRules/${enc(name.value.trim())}`, { rights: picked }); render(); }
        catch (e) { toast(e.message); }
      } }, h('label', {}, 'New policy', name), ...rights, h('button', { type: 'submit', text: 'Add policy' })),
      h('p', { class: 'muted', text: 'At most 12 policies per namespace or hybrid connection. Select a policy for its keys.' })),
    keys,
    hcName ? null : h('div', { class: 'card' }, h('h2', { text: 'Hybrid connections' }),
      table(['Name', 'Status', 'Endpoint', 'Listeners', 'Used by apps'], hcRows, 'No hybrid connections in this namespace.')));
}

// ---------------------------------------------------------------- start
window.addEventListener('hashchange', render);
document.addEventListener('click', (ev) => { if (!ev.target.closest('#context-menu')) hideContextMenu(); });
document.addEventListener('DOMContentLoaded', () => {
  $('#sign-out').addEventListener('click', signOut);
  render();
});
