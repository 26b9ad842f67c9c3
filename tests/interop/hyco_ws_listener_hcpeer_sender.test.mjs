// tests/interop/hyco_ws_listener_hcpeer_sender: an hyco-ws@1.0.5 RelayedServer (echo) against
// our C++ sender, `hcpeer send` (net/ dial_websocket + ws_connection), through hcrelay over TLS.
// Text stays text and binary stays binary, byte-for-byte; a bad key fails with the relay's 401.
// Owns its relay and processes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';

import { RelayFixture } from './lib/harness.mjs';

const relay = new RelayFixture();
let hc;

before(async () => {
  await relay.start();
  hc = await relay.createHybridConnection('hyco-listener');
  const listener = relay.spawnNode('hyco-ws listener', 'hyco_echo_listener.cjs', [
    hc.listenUrl, hc.tokenUri, hc.listen.keyName, hc.listen.key,
  ]);
  await listener.waitForLine((l) => l === 'ready');
});
after(() => relay.stop());

// Runs `hcpeer send` and resolves its stdout lines after checking it exited 0.
async function hcpeerSend(args) {
  const peer = relay.spawnHcpeer('hcpeer send', [
    'send', '--connection-string', hc.sendConnectionString, '--ca-file', relay.caFile, '--timeout', '30', ...args,
  ]);
  const exit = await peer.waitForExit(45000);
  assert.equal(exit.code, 0, `${peer.describe()}\nrelay log:\n${relay.relayLog()}`);
  return peer.lines;
}

test('text messages come back as text, byte-for-byte', { timeout: 60000 }, async () => {
  const text = 'héllo wörld ✓ 🚀 from C++';
  const lines = await hcpeerSend(['--message', text, '--count', '3']);
  assert.deepEqual(lines, [`text:${text}`, `text:${text}`, `text:${text}`]);
});

test('binary messages come back as binary: every byte value, then 32 KiB random', { timeout: 60000 }, async () => {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  let lines = await hcpeerSend(['--hex', '--message', all.toString('hex'), '--count', '2']);
  assert.deepEqual(lines, [`binary:${all.toString('hex')}`, `binary:${all.toString('hex')}`]);

  const big = crypto.randomBytes(32 * 1024).toString('hex');
  lines = await hcpeerSend(['--hex', '--message', big, '--count', '2']);
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l === `binary:${big}`), 'the 32 KiB messages differ');
});

test('--binary sends text bytes in a binary frame and they stay binary', { timeout: 60000 }, async () => {
  const lines = await hcpeerSend(['--binary', '--message', 'plain ascii']);
  assert.deepEqual(lines, [`binary:${Buffer.from('plain ascii').toString('hex')}`]);
});

test('a wrong key is refused with 401 and hcpeer says so', { timeout: 60000 }, async () => {
  const bad = hc.sendConnectionString.replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${crypto.randomBytes(32).toString('base64')}`);
  const peer = relay.spawnHcpeer('hcpeer send (bad key)', [
    'send', '--connection-string', bad, '--ca-file', relay.caFile, '--timeout', '20', '--message', 'x',
  ]);
  const exit = await peer.waitForExit(30000);
  assert.equal(exit.code, 2, peer.describe());
  assert.match(peer.stderr, /connect failed: 401 /, peer.describe());
});
