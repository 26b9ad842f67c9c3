// tests/interop/hcm_hyco_ws_sender: hcm as the listener with Microsoft's hyco-ws@1.0.5 as the
// sender, through hcrelay over TLS. hcm carries each accepted connection to its endpoint (a TCP
// echo server here) as raw bytes; the hyco-ws client's binary messages come back byte for byte,
// and a second sender after the first shows hcm keeps serving. Owns its relay and processes.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { binDir, RelayFixture } from './lib/harness.mjs';

const relay = new RelayFixture();
let echo;
let hc;

before(async () => {
  await relay.start();
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise((resolve) => echo.listen(0, '127.0.0.1', resolve));
  hc = await relay.createHybridConnection('hcm-echo', `localhost:${echo.address().port}`);
  const configDir = path.join(relay.dir, 'hcm');
  const hcm = (name, args) =>
    relay.spawn(name, path.join(binDir, 'hcm'), ['--config-dir', configDir, '--ca-file', relay.caFile, ...args]);
  const add = hcm('hcm add', ['add', hc.listenConnectionString]);
  assert.equal((await add.waitForExit(30000)).code, 0, add.describe());
  const service = hcm('hcm run', ['run', '--log-level', 'debug']);
  // Connected once the relay reports a listener.
  const deadline = Date.now() + 20000;
  for (;;) {
    const r = await relay.api('GET', `/api/v1/namespaces/${relay.host}/hybridConnections/hcm-echo`);
    if (r.json && r.json.listenerCount === 1) break;
    if (Date.now() > deadline) throw new Error(`hcm never attached. ${service.describe()}`);
    await new Promise((r2) => setTimeout(r2, 50));
  }
});
after(async () => {
  echo.close();
  await relay.stop();
});

async function stream(size) {
  const sender = relay.spawnNode('hyco-ws sender', 'hyco_stream_sender.cjs', [
    hc.connectUrl, hc.tokenUri, hc.send.keyName, hc.send.key, String(size),
  ]);
  const exit = await sender.waitForExit(40000);
  assert.equal(exit.code, 0, sender.describe());
  const line = sender.lines.find((l) => l.startsWith('{'));
  assert.ok(line, sender.describe());
  return JSON.parse(line);
}

test('hyco-ws sender reaches the endpoint behind hcm and gets every byte back', async () => {
  const r = await stream(300 * 1024);
  assert.equal(r.received, r.sent);
  assert.equal(r.receivedSha256, r.sentSha256);
  assert.equal(r.closeCode, 1000);
});

test('a second hyco-ws sender is served by the same hcm', async () => {
  const r = await stream(1);
  assert.equal(r.receivedSha256, r.sentSha256);
});
