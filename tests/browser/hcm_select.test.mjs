// tests/browser/hcm_select: hcm's sign-in and the web UI's "Select" beside "Enter manually", driven
// in Debian's Chromium (headless, via playwright-core): `hcm login` with the relay's root key on
// stdin (a wrong key is refused and stores nothing; the right one lands in relay-login.json, 0600,
// and is never printed), then in `hcm run --ui-port`'s UI: the Select section, /select listing the
// relay's hybrid connections with endpoints, adding one, Connected in the self-refreshing table,
// listener count and "added" on /select, the 400 for an empty choice, bytes through the tunnel to
// an echo endpoint, and `hcm logout`. Screenshots go to $HC_TEST_OUTPUT as hcm-NN-*.png. Owns its
// relay, echo server, hcm, browser and temp dirs; every wait is bounded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { RelayFixture, binDir, nodePath, repoRoot } from '../interop/lib/harness.mjs';

const require = createRequire(path.join(nodePath, 'noop.js'));
const { chromium } = require('playwright-core');

const outDir = process.env.HC_TEST_OUTPUT || path.join(repoRoot, 'build', 'test-output', 'browser');
const hcmPath = path.join(binDir, 'hcm');
const relay = new RelayFixture();
let echo;  // the TCP echo server inventory-db's endpoint names
let hcs;   // {inventoryDb, billingApi}: what relay.createHybridConnection returned
let hcmDir;  // D: --config-dir and --state-dir
let profileDir;
let service;  // `hcm run`, a harness Child
let browser;
let page;
const shots = [];

async function shot(name) {
  const file = path.join(outDir, `hcm-${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

// hcm's environment without the variables that would override the flags given here.
function hcmEnv() {
  const env = { ...process.env };
  for (const k of ['HCM_CONFIG_DIR', 'HCM_STATE_DIR', 'HCRELAY_CA_FILE']) delete env[k];
  return env;
}

function hcmArgs(args) {
  return ['--config-dir', hcmDir, '--state-dir', hcmDir, '--ca-file', relay.caFile, ...args];
}

// One short hcm verb with `input` on stdin; resolves {code, signal, stdout, stderr}, killed and
// rejected after timeoutMs.
function runHcm(args, input = '', timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(hcmPath, hcmArgs(args), { env: hcmEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`hcm ${args.join(' ')} did not exit in ${timeoutMs} ms. stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    proc.stdin.on('error', () => {});  // hcm may exit before reading all of it
    proc.stdin.end(input);
  });
}

// A port nothing listens on right now (bound to 0, read back, closed) for --ui-port.
async function freePort() {
  const s = net.createServer();
  await new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// The UI's URL once the service reports it (status.json written, ui-token made).
async function uiUrl(timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await runHcm(['ui-url'], '', 5000);
    if (r.code === 0 && /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/.test(r.stdout.trim())) return r.stdout.trim();
    if (service.exited) throw new Error(`hcm run ended. ${service.describe()}`);
    if (Date.now() > deadline) throw new Error(`hcm ui-url never succeeded: ${r.code} ${r.stderr}. ${service.describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// The configured connections as the UI's JSON API lists them (the page's cookie authorizes it).
async function configured() {
  const r = await page.request.get(new URL('/api/connections', page.url()).href);
  assert.equal(r.status(), 200, await r.text());
  return r.json();
}

before(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  await relay.start(20000);
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise((resolve) => echo.listen(0, '127.0.0.1', resolve));
  hcs = {
    inventoryDb: await relay.createHybridConnection('inventory-db', `localhost:${echo.address().port}`),
    billingApi: await relay.createHybridConnection('billing-api', 'billing.corp.internal:8443'),
  };
  hcmDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcm-ui-select-'));
  fs.chmodSync(hcmDir, 0o700);
  // A fresh profile per run (launchPersistentContext owns --user-data-dir).
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcrelay-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(15000);
});

after(async () => {
  if (browser) await browser.close();
  let stopped = null;
  if (service && !service.exited) {
    service.proc.kill('SIGTERM');
    stopped = service.waitForExit(10000);  // SIGKILL and a rejection after that
  }
  try {
    if (stopped) await stopped;
  } finally {
    if (echo) echo.close();
    await relay.stop();
    for (const d of [hcmDir, profileDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  }
});

test('hcm login: a wrong key is refused and stores nothing; the root key is stored 0600, never printed', { timeout: 30000 }, async () => {
  const loginFile = path.join(hcmDir, 'relay-login.json');
  const relayUrl = `https://${relay.host}:${relay.port}`;
  const wrongKey = crypto.randomBytes(32).toString('base64');
  const wrong = await runHcm(['login', '--relay', relayUrl, '--key-name', relay.root.keyName], wrongKey + '\n');
  assert.notEqual(wrong.code, 0, `a wrong key signed in: ${wrong.stdout}`);
  assert.ok(!fs.existsSync(loginFile), 'a refused sign-in must store nothing');
  assert.ok(!(wrong.stdout + wrong.stderr).includes(wrongKey), 'the key must never be printed');

  const r = await runHcm(['login', '--relay', relayUrl, '--key-name', relay.root.keyName], relay.root.key + '\n');
  const output = r.stdout + r.stderr;
  assert.ok(!output.includes(relay.root.key), 'the key must never be printed');
  assert.equal(r.code, 0, output);
  assert.match(r.stdout, new RegExp(`as ${relay.root.keyName}\\b`));
  assert.match(r.stdout, /\b2 hybrid connection/, 'it sees the two hybrid connections made here');
  const stat = fs.statSync(loginFile);
  assert.equal(stat.mode & 0o777, 0o600, `relay-login.json mode ${(stat.mode & 0o777).toString(8)}`);
  const stored = JSON.parse(fs.readFileSync(loginFile, 'utf8'));
  assert.equal(stored.keyName, relay.root.keyName);
  assert.equal(stored.relay, relayUrl);
  assert.ok(stored.key === relay.root.key, 'relay-login.json holds the key given on stdin');
});

test('the web UI: Select, add one, Connected, listeners and "added", empty choice, tunnel, logout', { timeout: 90000 }, async () => {
  const ns = relay.host;
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  const uiPort = await freePort();
  service = relay.spawn('hcm run', hcmPath, hcmArgs(['run', '--ui-port', String(uiPort), '--log-level', 'debug']), {
    HCM_CONFIG_DIR: undefined, HCM_STATE_DIR: undefined, HCRELAY_CA_FILE: undefined,  // spawn drops undefined variables
  });
  const url = await uiUrl();
  assert.ok(url.startsWith(`http://127.0.0.1:${uiPort}/?token=`), url);

  // The token visit sets the cookie and lands on / without the token.
  await page.goto(url);
  assert.equal(page.url(), `http://127.0.0.1:${uiPort}/`);
  await page.getByRole('heading', { name: 'Hybrid connections' }).waitFor();
  await page.getByRole('heading', { name: 'Select' }).waitFor();
  const main = await page.locator('main').innerText();
  assert.match(main, new RegExp(`Signed in to https://${relay.host}:${relay.port} as ${relay.root.keyName}\\.`));
  assert.match(main, /No hybrid connections are configured yet/);
  const selectLink = page.locator('a#select-link');
  assert.equal(await selectLink.innerText(), "Select from the relay's hybrid connections");
  await shot('index-signed-in');

  // /select lists both with their endpoints; nothing is added yet.
  await selectLink.click();
  await page.getByRole('heading', { name: 'Select hybrid connections' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/select');
  const selectRow = (name) => page.locator(`form[action="/select"] tr[data-name="${name}"]`);
  const cells = async (name) => (await selectRow(name).locator('td').allInnerTexts()).map((t) => t.trim());
  assert.deepEqual(await cells('inventory-db'), ['', ns, 'inventory-db', `localhost:${echo.address().port}`, '0', '']);
  assert.deepEqual(await cells('billing-api'), ['', ns, 'billing-api', 'billing.corp.internal:8443', '0', '']);
  assert.equal(await selectRow('inventory-db').locator('input[type=checkbox][name=pick]').getAttribute('value'), `${ns}/inventory-db`);
  assert.ok(!(await page.content()).includes(relay.root.key), 'the key must never be in a page');
  await shot('select');

  // Pick inventory-db only.
  await selectRow('inventory-db').locator('input[type=checkbox]').check();
  const added = page.waitForResponse((r) => new URL(r.url()).pathname === '/select' && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Add selected' }).click();
  const addedResponse = await added;
  assert.equal(addedResponse.status(), 200, await addedResponse.text());
  const ok = page.locator('div.ok');
  await ok.first().waitFor();
  assert.equal(await ok.count(), 1);
  assert.match(await ok.innerText(), new RegExp(`^Added ${ns}/inventory-db\\b`));
  assert.equal(await page.locator('div.error').count(), 0, await page.locator('main').innerText());
  await shot('added');

  // Back to the list: the table refreshes itself (no reload) until inventory-db is Connected.
  await page.getByRole('link', { name: 'Back to the list' }).click();
  const table = page.locator('#connections table');
  await table.waitFor();
  await page.evaluate(() => {
    window.hcmNotReloaded = true;
    document.querySelector('#connections table').dataset.seen = 'before-refresh';
  });
  const status = page.locator('#connections tr[data-name="inventory-db"] td:nth-child(3) > span');
  try {
    await page.waitForFunction(
      () => document.querySelector('#connections tr[data-name="inventory-db"] td:nth-child(3) > span')?.textContent === 'Connected',
      null, { timeout: 20000, polling: 200 });
  } catch (e) {
    throw new Error(`inventory-db never showed Connected: ${await page.locator('#connections').innerText()}. ${service.describe()}`);
  }
  // The table element is a new one (the 5 s refresh replaced it), on the same page.
  await page.waitForFunction(() => !document.querySelector('#connections table')?.dataset.seen, null, { timeout: 12000, polling: 200 });
  assert.equal(await page.evaluate(() => window.hcmNotReloaded), true, 'the page must not have reloaded');
  assert.equal(await status.getAttribute('class'), 'Connected');
  assert.equal(await page.locator('#connections tr[data-name="billing-api"]').count(), 0, 'billing-api was not picked');
  const list = await configured();
  assert.deepEqual(list.map((c) => `${c.Namespace}/${c.Name}`), [`${ns}/inventory-db`], JSON.stringify(list));
  assert.equal(list[0].KeyName, 'defaultListener', 'Select fetched the Listen rule, not the root key');
  await shot('connected');

  // /select again: the relay counts hcm as inventory-db's listener; it is marked added.
  const deadline = Date.now() + 10000;
  for (;;) {
    await page.goto(new URL('/select', page.url()).href);
    await page.getByRole('heading', { name: 'Select hybrid connections' }).waitFor();
    if ((await cells('inventory-db'))[4] === '1' || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.deepEqual((await cells('inventory-db')).slice(3), [`localhost:${echo.address().port}`, '1', 'added']);
  assert.deepEqual((await cells('billing-api')).slice(3), ['billing.corp.internal:8443', '0', '']);
  await shot('select-added');

  // Add selected with nothing checked: 400 and an error; nothing changes.
  const empty = page.waitForResponse((r) => new URL(r.url()).pathname === '/select' && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Add selected' }).click();
  const emptyResponse = await empty;
  assert.equal(emptyResponse.status(), 400, await emptyResponse.text());
  const error = page.locator('div.error');
  await error.waitFor();
  assert.match(await error.innerText(), /choose at least one/);
  assert.equal(await page.locator('div.ok').count(), 0);
  assert.equal((await configured()).length, 1);
  await shot('nothing-selected');

  // Bytes cross the tunnel: a hyco-ws sender through the relay, hcm, to the echo endpoint.
  const inv = hcs.inventoryDb;
  const sender = relay.spawnNode('hyco-ws sender', 'hyco_stream_sender.cjs', [
    inv.connectUrl, inv.tokenUri, inv.send.keyName, inv.send.key, String(64 * 1024), '15000',
  ]);
  const exit = await sender.waitForExit(20000);
  assert.equal(exit.code, 0, sender.describe());
  const echoed = JSON.parse(sender.lines.find((l) => l.startsWith('{')) || 'null');
  assert.ok(echoed, sender.describe());
  assert.equal(echoed.received, 64 * 1024);
  assert.equal(echoed.receivedSha256, echoed.sentSha256);
  const [carried] = await configured();
  assert.ok(carried.TunnelsTotal >= 1 && carried.BytesToEndpoint >= 64 * 1024, JSON.stringify(carried));

  // hcm logout: the index page asks to sign in again, with no Select link.
  const out = await runHcm(['logout']);
  assert.equal(out.code, 0, out.stdout + out.stderr);
  assert.ok(!fs.existsSync(path.join(hcmDir, 'relay-login.json')));
  await page.goto(new URL('/', page.url()).href);
  await page.getByRole('heading', { name: 'Select' }).waitFor();
  assert.match(await page.locator('main').innerText(), /hcm login --relay/);
  assert.equal(await page.locator('a#select-link').count(), 0);
  await shot('index-signed-out');

  // The only failed load the page may log is the deliberate 400 above (Chromium logs a 4xx
  // document as "the server responded with a status of 400").
  assert.deepEqual(consoleErrors.filter((t) => !/status of 400\b/.test(t)), []);
  assert.ok(consoleErrors.length <= 1, JSON.stringify(consoleErrors));
  for (const log of [service.stderr, service.lines.join('\n'), relay.relayLog()])
    assert.ok(!log.includes(relay.root.key), 'the root key must never reach a log');
  const logFile = path.join(hcmDir, 'hcm.log');
  if (fs.existsSync(logFile)) assert.ok(!fs.readFileSync(logFile, 'utf8').includes(relay.root.key), 'nor hcm.log');
  for (const f of shots) assert.ok(fs.statSync(f).size > 5000, `${f} looks empty`);
});
