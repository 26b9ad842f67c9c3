// tests/interop/hyco_https_request: HTTP mode (protocol doc §6) through hcrelay with Microsoft's
// hyco-https@1.4.5 as the listener and Node's https and curl as callers: small requests on the
// control channel, large and chunked ones over the request rendezvous, a 100 MB streamed
// response, HEAD, 204, headers with non-ASCII bytes, tokens in header and query, 401, 413, a
// listener that never answers (504; --http-answer-timeout shortens Azure's 60 s), 50 concurrent
// requests, and a listener that goes away mid-request (502, then 404: no listener).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { RelayFixture, binDir, sasToken } from './lib/harness.mjs';

const relay = new RelayFixture();
let hc;
let listener;
const maxBody = 20 * 1000 * 1000;

// The answer timeout also bounds each write to a caller (one that takes nothing loses its
// connection): 8 s, not 3, so that the 100 MB test's caller, busy checking bytes on a loaded
// machine (ASan, both suites at once), is not cut as a stalled one.
before(async () => {
  await relay.start(20000, ['--http-answer-timeout', '8', '--http-max-request-body', String(maxBody),
    '--max-requests-per-connection', '5']);
  hc = await relay.createHybridConnection('web');
  listener = relay.spawnNode('hyco-https listener', 'hyco_https_listener.cjs', [
    hc.listenUrl, hc.tokenUri, hc.listen.keyName, hc.listen.key,
  ]);
  await listener.waitForLine((l) => l === 'ready');
});
after(() => relay.stop());

const sendToken = () => sasToken(`http://${relay.host}/${hc.name}`, hc.send.keyName, hc.send.key);
const context = () => `${listener.describe()}\nrelay log (tail):\n${relay.relayLog().slice(-6000)}`;

// One request; resolves {status, message, headers, body}. `body`: a Buffer (Content-Length) or
// an array of Buffers written one by one (chunked). `sink(chunk)` replaces collecting the body.
function call(method, suffix, { headers = {}, body, token = sendToken(), sink, expectContinue = false } = {}) {
  const url = new URL(`${hc.httpsUrl}${suffix}`);
  const allHeaders = { ...headers };
  if (token) allHeaders.ServiceBusAuthorization = token;
  if (Buffer.isBuffer(body)) allHeaders['Content-Length'] = body.length;
  if (expectContinue) allHeaders.Expect = '100-continue';
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: allHeaders, ca: relay.ca, agent: false, timeout: 60000 },
      (res) => {
        const chunks = [];
        res.on('data', (d) => (sink ? sink(d) : chunks.push(d)));
        res.on('end', () => resolve({ status: res.statusCode, message: res.statusMessage, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${suffix} timed out`)));
    req.on('error', reject);
    const writeBody = () => {
      if (Buffer.isBuffer(body)) req.end(body);
      else if (Array.isArray(body)) {
        for (const piece of body) req.write(piece);
        req.end();
      } else req.end();
    };
    if (expectContinue) req.on('continue', writeBody);
    else writeBody();
  });
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

test('a GET reaches the listener with its path and query, without the token, with Via', { timeout: 30000 }, async () => {
  const r = await call('GET', '/echo/x?a=1&b=two%20words', { headers: { 'X-Custom': 'kept', Via: '1.0 upstream' } });
  assert.equal(r.status, 200, `${r.body}\n${context()}`);
  const seen = JSON.parse(r.body);
  assert.equal(seen.method, 'GET');
  assert.equal(seen.url, '/web/echo/x?a=1&b=two%20words');
  assert.equal(seen.headers['x-custom'], 'kept');
  assert.equal(seen.headers.servicebusauthorization, undefined, 'the token reached the listener');
  assert.equal(seen.headers.via, `1.0 upstream, 1.1 ${relay.host}`);
  assert.equal(seen.headers.host, undefined);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.match(r.headers.via, new RegExp(`1\\.1 ${relay.host.replace(/\./g, '\\.')}$`));
});

test('the token in the sb-hc-token query works and is not passed on', { timeout: 30000 }, async () => {
  const r = await call('GET', `/echo?sb-hc-token=${encodeURIComponent(sendToken())}&keep=1`, { token: null });
  assert.equal(r.status, 200, `${r.body}`);
  assert.equal(JSON.parse(r.body).url, '/web/echo?keep=1');
});

test('a wrong key or no token gets 401, and the listener sees nothing', { timeout: 30000 }, async () => {
  const wrong = sasToken(`http://${relay.host}/${hc.name}`, hc.send.keyName, Buffer.alloc(32, 7).toString('base64'));
  const r = await call('GET', '/echo/refused-1', { token: wrong });
  assert.equal(r.status, 401, `${r.body}`);
  assert.match(r.body.toString(), /TrackingId:/);
  const none = await call('GET', '/echo/refused-2', { token: null });
  assert.equal(none.status, 401, `${none.body}`);
  await reachedListener('refused-');
});

// Fails when a request whose path holds `marker` reached the listener (its stdout may lag the
// answer: give it a moment).
async function reachedListener(marker) {
  await new Promise((r) => setTimeout(r, 300));
  const seen = listener.lines.filter((l) => l.includes(marker));
  assert.deepEqual(seen, [], 'a refused request reached the listener');
}


test('a small POST goes on the control channel, a 10 MB one over the rendezvous, byte for byte', { timeout: 60000 }, async () => {
  for (const size of [1, 1000, 64 * 1024, 64 * 1024 + 1, 10 * 1000 * 1000]) {
    const body = crypto.randomBytes(size);
    const r = await call('POST', '/echo', { body, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 200, `size ${size}: ${r.body}\n${context()}`);
    const seen = JSON.parse(r.body);
    assert.equal(seen.length, size, `size ${size}`);
    assert.equal(seen.sha256, sha256(body), `size ${size}`);
    assert.equal(seen.headers['content-type'], 'application/octet-stream');
  }
});

test('a chunked request body arrives whole', { timeout: 30000 }, async () => {
  const pieces = [Buffer.from('first '), crypto.randomBytes(100000), Buffer.from(' last')];
  const r = await call('PUT', '/echo', { body: pieces });
  assert.equal(r.status, 200, `${r.body}\n${context()}`);
  const seen = JSON.parse(r.body);
  assert.equal(seen.method, 'PUT');
  assert.equal(seen.sha256, sha256(Buffer.concat(pieces)));
});

test('a 100 MB response streams to the caller chunked, every byte in place', { timeout: 120000 }, async () => {
  const total = 100 * 1000 * 1000;
  let got = 0;
  let wrong = -1;
  const r = await call('GET', `/bytes?n=${total}`, {
    sink: (d) => {
      for (let i = 0; i < d.length && wrong < 0; i++) if (d[i] !== (got + i) % 251) wrong = got + i;
      got += d.length;
    },
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.equal(got, total);
  assert.equal(wrong, -1, `byte ${wrong} differs`);
});

test('HEAD gets the head only; 204 has no body; a listener status and reason pass through', { timeout: 30000 }, async () => {
  const head = await call('HEAD', '/echo');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  const empty = await call('GET', '/empty');
  assert.equal(empty.status, 204);
  assert.equal(empty.body.length, 0);
  const teapot = await call('GET', '/status?code=418&text=Short%20and%20stout');
  assert.equal(teapot.status, 418);
  assert.equal(teapot.message, 'Short and stout');
  assert.equal(teapot.headers['x-listener'], 'yes');
  assert.equal(teapot.body.toString(), 'status route\n');
});

test('header values with non-ASCII bytes reach the listener as text and come back byte for byte', { timeout: 30000 }, async () => {
  // Node writes header strings as Latin-1: these are UTF-8 bytes on the wire.
  const wire = (text) => Buffer.from(text, 'utf8').toString('latin1');
  const r = await call('GET', '/echo', { headers: { 'X-Name': wire('Zoë'), 'X-Mark': wire('✓ 🚀') } });
  assert.equal(r.status, 200, `${r.body}`);
  const seen = JSON.parse(r.body).headers;
  assert.equal(seen['x-name'], 'Zoë');
  assert.equal(seen['x-mark'], '✓ 🚀');
  // The listener sets X-Echo-Name to what it saw; the caller gets the bytes it sent.
  assert.equal(Buffer.from(r.headers['x-echo-name'], 'latin1').toString('utf8'), 'Zoë');
  // A lone Latin-1 byte (not UTF-8) arrives as its character.
  const latin = await call('GET', '/echo', { headers: { 'X-Name': 'caf\u00e9' } });
  assert.equal(JSON.parse(latin.body).headers['x-name'], 'café');
});

const run = (command, args, env = {}) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30000, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command}: ${err.message} ${stderr} ${stdout}`)) : resolve(stdout));
  });

test('curl with a token from `hcctl hc token`: a chunked upload through the relay', { timeout: 60000 }, async () => {
  const token = (await run(path.join(binDir, 'hcctl'), ['hc', 'token', hc.name, '--ttl', '600'], {
    HCRELAY_CONNECTION_STRING: fs.readFileSync(path.join(relay.dataDir, 'root.connection-string'), 'utf8').trim(),
    HCRELAY_CA_FILE: relay.caFile,
  })).trim();
  assert.match(token, /^SharedAccessSignature sr=.*&skn=defaultSender$/);
  const file = path.join(relay.dir, 'upload.bin');
  const data = crypto.randomBytes(300000);
  fs.writeFileSync(file, data);
  const out = await new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--fail-with-body', '--cacert', relay.caFile, '-H', `ServiceBusAuthorization: ${token}`,
      '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, `${hc.httpsUrl}/echo/curl`],
    { timeout: 30000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr} ${stdout}`)) : resolve(stdout)));
  });
  const seen = JSON.parse(out);
  assert.equal(seen.method, 'POST');
  assert.equal(seen.sha256, sha256(data));
});

// curl takes the relay's h2 by ALPN: requests ride HTTP/2 streams into the same relaying. An
// Expect: 100-continue upload gets its final answer (the relay's 100 is HTTP/1.1's, left out).
test('curl over HTTP/2: small and large uploads with Expect: 100-continue reach the listener byte for byte', { timeout: 60000 }, async () => {
  for (const size of [2000, 300000]) {
    const file = path.join(relay.dir, `h2-upload-${size}.bin`);
    const data = crypto.randomBytes(size);
    fs.writeFileSync(file, data);
    const out = await run('curl', ['-sS', '--http2', '--fail-with-body', '--cacert', relay.caFile,
      '-H', `ServiceBusAuthorization: ${sendToken()}`, '-H', 'Expect: 100-continue', '--data-binary', `@${file}`,
      '-w', '\n%{http_version} %{http_code}', `${hc.httpsUrl}/echo/h2`]);
    const [body, trailer] = [out.slice(0, out.lastIndexOf('\n')), out.slice(out.lastIndexOf('\n') + 1)];
    assert.equal(trailer, '2 200', `size ${size}`);
    const seen = JSON.parse(body);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.sha256, sha256(data), `size ${size}`);
  }
});

test('a body over --http-max-request-body gets 413 before it is sent', { timeout: 30000 }, async () => {
  const r = await call('POST', '/echo/too-large', { body: Buffer.alloc(maxBody + 1), expectContinue: true });
  assert.equal(r.status, 413, `${r.body}`);
  assert.match(r.body.toString(), /larger than this relay passes on/);
  await reachedListener('too-large');
});

test('50 concurrent requests over one listener each get their own answer', { timeout: 60000 }, async () => {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call('GET', `/echo/${i}`)));
  results.forEach((r, i) => {
    assert.equal(r.status, 200, `request ${i}: ${r.body}`);
    assert.equal(JSON.parse(r.body).url, `/web/echo/${i}`);
  });
});

test('keep-alive: requests share a connection, the last one it may carry says Connection: close', { timeout: 30000 }, async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: relay.ca });
  const seen = [];
  for (let i = 1; i <= 7; i++) {
    const r = await new Promise((resolve, reject) => {
      const req = https.get(`${hc.httpsUrl}/echo/keep-${i}`, { agent, headers: { ServiceBusAuthorization: sendToken() } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, reused: req.reusedSocket }));
      });
      req.on('error', reject);
    });
    seen.push(r);
  }
  agent.destroy();
  assert.deepEqual(seen.map((r) => r.status), [200, 200, 200, 200, 200, 200, 200]);
  assert.deepEqual(seen.map((r) => r.connection), [undefined, undefined, undefined, undefined, 'close', undefined, undefined]);
  assert.deepEqual(seen.map((r) => r.reused), [false, true, true, true, true, false, true]);
});

test('a listener that never answers: 504 after --http-answer-timeout', { timeout: 30000 }, async () => {
  const started = Date.now();
  const r = await call('GET', '/silent');
  assert.equal(r.status, 504, `${r.body}`);
  assert.match(r.body.toString(), /did not answer the request within 8 seconds/);
  assert.ok(Date.now() - started >= 7900, 'answered before the deadline');
});

test('a listener that goes away mid-request: 502; then no listener: 404', { timeout: 30000 }, async () => {
  const r = await call('GET', '/exit');
  assert.equal(r.status, 502, `${r.body}`);
  assert.match(r.body.toString(), /listener disconnected before it answered/);
  await listener.waitForExit(10000);
  const none = await call('GET', '/echo');
  assert.equal(none.status, 404, `${none.body}`);
  assert.match(none.body.toString(), /no listeners connected/);
});
