// tests/interop/hyco_ws_echo: Microsoft's hyco-ws@1.0.5 on both ends, over TLS through hcrelay:
// an hyco-ws RelayedServer echoes what an hyco-ws relayedConnect sender sends (text and binary,
// byte-for-byte, in order) and the sender's Close comes back. Owns its relay and processes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { RelayFixture, assertEchoed, echoMessages, writeMessageFile } from './lib/harness.mjs';

const relay = new RelayFixture();
let hc;

before(async () => {
  await relay.start();
  hc = await relay.createHybridConnection('hyco-echo');
});
after(() => relay.stop());

test('hyco-ws listener echoes an hyco-ws sender through hcrelay', { timeout: 90000 }, async () => {
  const listener = relay.spawnNode('hyco-ws listener', 'hyco_echo_listener.cjs', [
    hc.listenUrl, hc.tokenUri, hc.listen.keyName, hc.listen.key,
  ]);
  await listener.waitForLine((l) => l === 'ready');

  const messages = echoMessages();
  const file = writeMessageFile(relay.dir, messages);
  const sender = relay.spawnNode('hyco-ws sender', 'hyco_sender.cjs', [
    hc.connectUrl, hc.tokenUri, hc.send.keyName, hc.send.key, file, '45000',
  ]);
  const exit = await sender.waitForExit(60000);
  const context = () => `${sender.describe()}\n${listener.describe()}\nrelay log:\n${relay.relayLog()}`;
  assert.equal(exit.code, 0, context());
  assertEchoed(assert, messages, sender.lines, context);
  const close = JSON.parse(sender.lines.at(-1));
  assert.deepEqual(close, { event: 'close', code: 1000, reason: 'done' }, context());
  assert.ok(listener.lines.includes('connection'), context());
});

test('a second sender on the same listener works too', { timeout: 60000 }, async () => {
  const messages = [{ type: 'text', data: Buffer.from('again') }];
  const file = writeMessageFile(relay.dir, messages);
  const sender = relay.spawnNode('hyco-ws sender 2', 'hyco_sender.cjs', [
    hc.connectUrl, hc.tokenUri, hc.send.keyName, hc.send.key, file, '30000',
  ]);
  const exit = await sender.waitForExit(45000);
  const context = () => `${sender.describe()}\nrelay log:\n${relay.relayLog()}`;
  assert.equal(exit.code, 0, context());
  assertEchoed(assert, messages, sender.lines, context);
});
