// tests/browser/portal: the portal served by hcrelay, driven in Debian's Chromium (headless, via
// playwright-core): sign in with the root connection string, the app's Networking > Hybrid
// connections page, "Create new hybrid connection" through the dialog (out-of-range ports held by
// the form, a bad name and a duplicate refused by the relay, nothing created), Connected once a listener
// (hcpeer, the hcm role) attaches, details with the listener and the gateway connection string,
// "Add hybrid connection" of an existing one, plan usage, namespace keys with regeneration,
// Disconnect (button and right-click). Screenshots of each main page go to $HC_TEST_OUTPUT
// (build/test-output/browser). Owns its relay, browser and processes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { RelayFixture, nodePath, repoRoot } from '../interop/lib/harness.mjs';

const require = createRequire(path.join(nodePath, 'noop.js'));
const { chromium } = require('playwright-core');

const outDir = process.env.HC_TEST_OUTPUT || path.join(repoRoot, 'build', 'test-output', 'browser');
const relay = new RelayFixture();
let browser;
let profileDir;
let page;
let base;
const shots = [];

async function shot(name) {
  const file = path.join(outDir, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

async function api(method, apiPath, body) {
  const r = await relay.api(method, '/api/v1' + apiPath, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${apiPath}: ${r.status} ${r.text}`);
  return r.json;
}

before(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  await relay.start(20000, ['--usage-interval', '0.2']);  // usage rows reach the store at once
  base = `https://${relay.host}:${relay.port}`;
  await api('PUT', '/plans/basic-plan', { sku: 'Basic' });
  await api('PUT', '/apps/contoso-web', { plan: 'basic-plan' });
  await api('PUT', '/apps/contoso-api', { plan: 'basic-plan' });
  await api('PUT', '/namespaces/localhost/hybridConnections/inventory-db', { endpoint: 'inventory.corp.internal:5432' });
  await api('PUT', '/apps/contoso-api/hybridConnections/localhost/inventory-db');
  // A fresh profile per run (launchPersistentContext owns --user-data-dir).
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcrelay-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 860 },
  });
  page = browser.pages()[0] || await browser.newPage();
  page.on('dialog', (d) => d.accept());  // confirm() for Disconnect and Regenerate
});

after(async () => {
  if (browser) await browser.close();
  await relay.stop();
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
});

test('the portal: create, see Connected, details, add existing, plan, keys, disconnect', { timeout: 150000 }, async () => {
  const consoleErrors = [];
  // The 400 of the deliberate bad name and the 409 of the deliberate duplicate below are the only
  // failed requests the page may log (over HTTP/2 Chromium shows no reason phrase: "status of 409 ()").
  page.on('console', (m) => { if (m.type() === 'error' && !/status of (400|409)\b/.test(m.text())) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // Sign in with the root connection string.
  await page.goto(base + '/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  // The relay offers HTTP/2 by ALPN and a browser takes it: the portal and its API calls ride it.
  const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  assert.equal(protocol, 'h2');
  await shot('sign-in');
  const cs = fs.readFileSync(path.join(relay.dataDir, 'root.connection-string'), 'utf8').trim();
  await page.fill('textarea[name=cs]', cs);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'App Services' }).waitFor();
  assert.ok(!page.url().includes(relay.root.key), 'the key must never be in the URL');
  await page.getByRole('link', { name: 'contoso-web' }).waitFor();
  await shot('apps');

  // The app's Networking > Hybrid connections page; Create new hybrid connection.
  await page.getByRole('link', { name: 'contoso-web' }).click();
  await page.getByRole('heading', { name: 'contoso-web | Networking' }).waitFor();
  const creates = [];  // the create calls the page sends
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/apps/contoso-web/hybridConnections')) creates.push(r.postData());
  });
  await page.click('#create-hc');
  const dialog = page.locator('#create-dialog');
  const createError = page.locator('#create-error');
  const nameInput = dialog.locator('input[name=name]');
  const portInput = dialog.locator('input[name=endpointPort]');
  await dialog.getByRole('heading', { name: 'Create new hybrid connection' }).waitFor();
  await nameInput.fill('orders!db');
  await dialog.locator('input[name=endpointHost]').fill('orders.corp.internal');
  await dialog.locator('select[name=namespace]').selectOption('localhost');

  // Ports one past each end of 1-65535: the form holds the dialog and says why (the browser's
  // message from the input's min and max), and sends nothing.
  for (const [port, limit] of [['0', 'rangeUnderflow'], ['65536', 'rangeOverflow']]) {
    await portInput.fill(port);
    await dialog.getByRole('button', { name: 'OK' }).click();
    const validity = await portInput.evaluate((el) => ({
      rangeUnderflow: el.validity.rangeUnderflow, rangeOverflow: el.validity.rangeOverflow,
      message: el.validationMessage, invalid: el.matches(':invalid'),
    }));
    assert.ok(validity[limit] && validity.invalid, `port ${port}: ${JSON.stringify(validity)}`);
    assert.notEqual(validity.message, '', `port ${port} shows no validation message`);
    assert.ok(await dialog.isVisible(), `port ${port} closed the dialog`);
  }

  // A name with '!': the relay's 400 names the field and stays in the dialog.
  await portInput.fill('1433');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await createError.waitFor();
  assert.equal(await createError.innerText(),
    "name: hybrid connection name 'orders!db' may contain only letters, digits, '.', '_', '-' and '/'");
  assert.ok(await dialog.isVisible(), 'the refused create closed the dialog');
  await shot('create-dialog-error');
  // The relay saw one create (the bad name; the bad ports never left the page) and made nothing.
  assert.equal(creates.length, 1, `create calls sent: ${JSON.stringify(creates)}`);
  assert.equal(JSON.parse(creates[0]).endpointPort, 1433);
  assert.deepEqual((await api('GET', '/namespaces/localhost/hybridConnections')).map((h) => h.name), ['inventory-db']);
  assert.deepEqual(await api('GET', '/apps/contoso-web/hybridConnections'), []);

  // Corrected, the same dialog creates it.
  await nameInput.fill('orders-db');
  await shot('create-dialog');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const row = page.locator('#hc-table tr[data-name="orders-db"]');
  await row.waitFor();
  assert.match(await row.innerText(), /Not connected/);
  assert.match(await row.innerText(), /orders\.corp\.internal:1433/);

  // A name that exists: the relay's 409 names the field and stays in the dialog; the existing
  // one keeps its endpoint.
  await page.click('#create-hc');
  await nameInput.fill('orders-db');
  await dialog.locator('input[name=endpointHost]').fill('x.corp.internal');
  await portInput.fill('1');
  await dialog.locator('select[name=namespace]').selectOption('localhost');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await createError.filter({ hasText: "name: hybrid connection 'orders-db' already exists in namespace 'localhost'" }).waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(creates.length, 3, `create calls sent: ${JSON.stringify(creates)}`);

  // A listener (hcpeer in the hcm role) attaches with the gateway connection string: Connected.
  const details = await api('GET', '/apps/contoso-web/hybridConnections/localhost/orders-db');
  const listener = relay.spawnHcpeer('hcpeer listen', [
    'listen', '--echo', '--connection-string', details.gatewayConnectionString, '--ca-file', relay.caFile,
  ]);
  await listener.waitForLine((l) => l === 'ready');
  await row.filter({ hasText: 'Connected' }).filter({ hasNotText: 'Not connected' }).waitFor({ timeout: 15000 });
  await shot('app-hybrid-connections-connected');

  // Details: status, listener, apps in the plan, gateway connection string.
  await row.getByRole('link', { name: 'orders-db' }).click();
  await page.getByText('Hybrid connection details').waitFor();
  await page.getByText('Hybrid Connection Managers (listeners)').waitFor();
  const text = await page.locator('#view').innerText();
  assert.match(text, /Connected/);
  assert.match(text, /orders\.corp\.internal:1433/);
  assert.match(text, /127\.0\.0\.1/, 'the listener\'s remote address');
  assert.match(text, /Gateway connection string/);
  await shot('hybrid-connection-details');

  // Add hybrid connection: pick the existing inventory-db (used by contoso-api too).
  await page.getByRole('link', { name: 'Hybrid connections' }).click();
  await page.click('#add-hc');
  const add = page.locator('#add-dialog');
  await add.locator('input[data-name="inventory-db"]').check();
  await shot('add-dialog');
  await add.getByRole('button', { name: 'Add selected hybrid connection' }).click();
  await page.locator('#hc-table tr[data-name="inventory-db"]').waitFor();

  // Plan properties: 2 of 5 used; inventory-db used by both apps.
  await page.goto(base + '/#/plans/basic-plan');
  await page.getByText('App Service plan properties').waitFor();
  const plan = await page.locator('#view').innerText();
  assert.match(plan, /2 \/ 5/);
  assert.match(plan, /inventory-db[\s\S]*contoso-api, contoso-web|inventory-db[\s\S]*contoso-web, contoso-api/);
  // Usage: orders-db's listener has been connected for a while; its hours are there, beside the limit.
  const usageRow = page.locator('#plan-usage tr[data-name="orders-db"]');
  await usageRow.waitFor();
  const usageText = await page.locator('#plan-usage').innerText();
  assert.match(usageText, /2 of 5 hybrid connections used \(Basic\)/);
  assert.match(usageText, /Total/);
  const listenerHours = Number((await usageRow.locator('td').nth(2).innerText()).replace(/,/g, ''));
  assert.ok(listenerHours > 0, `orders-db shows ${listenerHours} listener hours`);
  await page.selectOption('select[name=usage-range]', '7');
  await usageRow.waitFor();
  await shot('plan-properties');

  // Namespace keys: list, show, regenerate the secondary key.
  await page.goto(base + '/#/namespaces/localhost');
  await page.getByText('Shared access policies').first().waitFor();
  await page.locator('tr', { hasText: 'RootManageSharedAccessKey' }).click();
  await page.getByRole('button', { name: 'Regenerate secondary key' }).waitFor();
  const before = (await api('POST', '/namespaces/localhost/authorizationRules/RootManageSharedAccessKey/listKeys')).secondaryKey;
  await page.getByRole('button', { name: 'Regenerate secondary key' }).click();
  await page.getByText('Key regenerated').waitFor();
  const afterKey = (await api('POST', '/namespaces/localhost/authorizationRules/RootManageSharedAccessKey/listKeys')).secondaryKey;
  assert.notEqual(afterKey, before);
  await shot('namespace-keys');

  // Disconnect: the button on one row, the right-click menu on the other.
  await page.goto(base + '/#/apps/contoso-web');
  await row.waitFor();
  await row.getByRole('button', { name: 'Disconnect' }).click();
  await row.waitFor({ state: 'detached' });
  const inventory = page.locator('#hc-table tr[data-name="inventory-db"]');
  await inventory.click({ button: 'right' });
  await page.locator('#context-menu').waitFor();
  await shot('context-menu');
  await page.locator('#context-menu button[data-action="disconnect"]').click();
  await inventory.waitFor({ state: 'detached' });
  await page.getByText('No hybrid connections yet').waitFor();
  await shot('app-after-disconnect');

  const app = await api('GET', '/apps/contoso-web');
  assert.equal(app.hybridConnections.length, 0);
  assert.deepEqual(consoleErrors, []);
  assert.ok(!relay.relayLog().includes(relay.root.key), 'the key must never reach the relay log');
  for (const f of shots) assert.ok(fs.statSync(f).size > 5000, `${f} looks empty`);
});
