// tests/interop/hcconnect_hyco_ws_listener: hcconnect as the sender with Microsoft's
// hyco-ws@1.0.5 RelayedServer (echo) as the listener, through hcrelay over TLS. An unmodified
// client under `hcconnect run --` dials the endpoint's DNS name (which resolves nowhere else);
// its TCP bytes travel as binary frames to hyco-ws and the echo comes back byte for byte, then
// the half-close (TCP FIN -> Close 1000 -> Close echo -> FIN) ends the connection cleanly.
// Owns its relay and processes.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { binDir, RelayFixture } from './lib/harness.mjs';

const relay = new RelayFixture();
const endpointHost = 'echo.corp.internal';
let port;
let configDir;

// A port free on every address a moment ago (hcconnect binds it on its own loopback address).
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, () => {
      const { port: p } = server.address();
      server.close(() => resolve(p));
    });
  });
}

function hcconnect(name, args) {
  return relay.spawn(name, path.join(binDir, 'hcconnect'), ['--config-dir', configDir, '--ca-file', relay.caFile, ...args]);
}

before(async () => {
  await relay.start();
  port = await freePort();
  configDir = path.join(relay.dir, 'hcconnect');
  const hc = await relay.createHybridConnection('hyco-echo', `${endpointHost}:${port}`);
  const listener = relay.spawnNode('hyco-ws listener', 'hyco_echo_listener.cjs', [
    hc.listenUrl, hc.tokenUri, hc.listen.keyName, hc.listen.key,
  ]);
  await listener.waitForLine((l) => l === 'ready');
  const add = hcconnect('hcconnect add', ['add', hc.sendConnectionString]);
  const exit = await add.waitForExit(30000);
  assert.equal(exit.code, 0, add.describe());
});
after(() => relay.stop());

// Sends `size` random bytes, half-closes, reads the echo to EOF; prints both digests.
const client = `
import hashlib, os, socket, sys
data = os.urandom(int(sys.argv[3]))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print("sent", len(data), hashlib.sha256(data).hexdigest())
print("got", len(got), hashlib.sha256(bytes(got)).hexdigest())
`;

for (const size of [1, 64 * 1024, 1024 * 1024]) {
  test(`a ${size}-byte stream comes back byte for byte through hyco-ws`, { timeout: 60000 }, async () => {
    const run = hcconnect('hcconnect run python3', [
      'run', '--', 'python3', '-c', client, endpointHost, String(port), String(size),
    ]);
    const exit = await run.waitForExit(45000);
    assert.equal(exit.code, 0, `${run.describe()}\nrelay log:\n${relay.relayLog().slice(-3000)}`);
    const sent = run.lines.find((l) => l.startsWith('sent '));
    const got = run.lines.find((l) => l.startsWith('got '));
    assert.ok(sent && got, run.describe());
    assert.equal(got.slice(4), sent.slice(5), run.describe());
  });
}
