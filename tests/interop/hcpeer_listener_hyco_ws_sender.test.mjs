// tests/interop/hcpeer_listener_hyco_ws_sender: our C++ listener, `hcpeer listen --echo`
// (control channel, accept by dialing the rendezvous address, frame echo), against an
// hyco-ws@1.0.5 relayedConnect sender, through hcrelay over TLS. Checks text and binary
// byte-for-byte and the Close handshake. Owns its relay and processes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { RelayFixture, assertEchoed, echoMessages, writeMessageFile } from './lib/harness.mjs';

const relay = new RelayFixture();
let hc;
let listener;

before(async () => {
  await relay.start();
  hc = await relay.createHybridConnection('hcpeer-listener');
  listener = relay.spawnHcpeer('hcpeer listen', [
    'listen', '--echo', '--connection-string', hc.listenConnectionString, '--ca-file', relay.caFile,
  ]);
  await listener.waitForLine((l) => l === 'ready');
});
after(() => relay.stop());

async function sendThrough(name, messages) {
  const file = writeMessageFile(relay.dir, messages);
  const sender = relay.spawnNode(name, 'hyco_sender.cjs', [
    hc.connectUrl, hc.tokenUri, hc.send.keyName, hc.send.key, file, '45000',
  ]);
  const exit = await sender.waitForExit(60000);
  const context = () => `${sender.describe()}\n${listener.describe()}\nrelay log:\n${relay.relayLog()}`;
  assert.equal(exit.code, 0, context());
  assertEchoed(assert, messages, sender.lines, context);
  assert.deepEqual(JSON.parse(sender.lines.at(-1)), { event: 'close', code: 1000, reason: 'done' }, context());
}

test('hcpeer listener echoes an hyco-ws sender', { timeout: 90000 }, async () => {
  await sendThrough('hyco-ws sender', echoMessages());
});

test('two hyco-ws senders at once are both served', { timeout: 90000 }, async () => {
  await Promise.all([
    sendThrough('hyco-ws sender A', echoMessages()),
    sendThrough('hyco-ws sender B', [{ type: 'text', data: Buffer.from('B'.repeat(70000)) }]),
  ]);
});

test('the relay survives a listener that vanishes, and a new listener takes over', { timeout: 90000 }, async () => {
  listener.kill();
  await listener.closed;
  listener = relay.spawnHcpeer('hcpeer listen 2', [
    'listen', '--echo', '--connection-string', hc.listenConnectionString, '--ca-file', relay.caFile,
  ]);
  await listener.waitForLine((l) => l === 'ready');
  await sendThrough('hyco-ws sender C', [{ type: 'binary', data: Buffer.from([0, 1, 2, 255]) }]);
  assert.equal(relay.relay.exited, null, relay.relayLog());
});
