// tests/interop/http_mode_hostile: HTTP mode against listeners that break the rules, written
// with the `ws` library by hand (hyco-https never does these): a response naming an id the
// listener was never sent, a listener answering another listener's request, a control-channel
// response body over 64 KiB, a Content-Length that lies, and a request's rendezvous address
// dialed twice. Each case ends with the listener (or its honest peer) still serving requests.
// Also by hand: one listener serving a WebSocket sender and HTTP requests at once (hyco-https
// cannot accept WebSockets).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import https from 'node:https';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';

import { RelayFixture, nodePath, sasToken } from './lib/harness.mjs';

const require = createRequire(`${nodePath}/`);
const WebSocket = require('ws');

const relay = new RelayFixture();
let hc;
const sockets = [];

before(async () => {
  await relay.start(20000, ['--http-answer-timeout', '5']);
  hc = await relay.createHybridConnection('raw');
});
after(async () => {
  for (const s of sockets) s.terminate();
  await relay.stop();
});

// A listener speaking the control channel by hand: messages arrive in `queue` (text parsed).
async function rawListener() {
  const token = sasToken(`http://${relay.host}/${hc.name}`, hc.listen.keyName, hc.listen.key);
  const ws = new WebSocket(hc.listenUrl, { headers: { ServiceBusAuthorization: token }, ca: relay.ca, perMessageDeflate: false });
  sockets.push(ws);
  const l = { ws, queue: [], waiters: [] };
  ws.on('message', (data) => {
    l.queue.push(typeof data === 'string' ? JSON.parse(data) : data);
    for (const w of l.waiters.splice(0)) w();
  });
  l.next = (ms = 10000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (l.queue.length) return resolve(l.queue.shift());
        l.waiters.push(check);
      };
      setTimeout(() => reject(new Error('no message from the relay')), ms);
      check();
    });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return l;
}

const send = (ws, value) => new Promise((resolve, reject) => ws.send(value, (e) => (e ? reject(e) : resolve())));
const respond = (ws, requestId, extra = {}) =>
  send(ws, JSON.stringify({ response: { requestId, statusCode: 200, responseHeaders: {}, body: true, ...extra } }));

function call(method, suffix, body) {
  const token = sasToken(`http://${relay.host}/${hc.name}`, hc.send.keyName, hc.send.key);
  const url = new URL(`${hc.httpsUrl}${suffix}`);
  const headers = { ServiceBusAuthorization: token };
  if (body) headers['Content-Length'] = body.length;
  return new Promise((resolve, reject) => {
    const req = https.request({ host: url.hostname, port: url.port, path: url.pathname, method, headers, ca: relay.ca, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a response with an id the listener was never sent is ignored, its body too', { timeout: 30000 }, async () => {
  const l = await rawListener();
  const pending = call('GET', '/one');
  const { request } = await l.next();
  assert.equal(request.method, 'GET');
  await respond(l.ws, 'forged-id');
  await send(l.ws, Buffer.from('evil body'));
  await respond(l.ws, request.id, { statusCode: '200' }); // a string status, as the protocol's sample
  await send(l.ws, Buffer.from('good body'));
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'good body');
  assert.match(relay.relayLog(), /answered request forged-id, which is not one of its requests in flight/);
  l.ws.terminate();
});

// Resolves with the first of `listeners` that has a message queued.
async function firstWithMessage(listeners, ms = 10000) {
  const until = Date.now() + ms;
  for (;;) {
    const ready = listeners.find((l) => l.queue.length);
    if (ready) return ready;
    if (Date.now() > until) throw new Error('no listener got the request');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("a listener cannot answer another listener's request", { timeout: 30000 }, async () => {
  const a = await rawListener();
  const b = await rawListener();
  const pending = call('GET', '/two');
  const chosen = await firstWithMessage([a, b]);
  const other = chosen === a ? b : a;
  const { request } = await chosen.next();
  await respond(other.ws, request.id, { statusCode: 299 });
  await send(other.ws, Buffer.from('from the wrong listener'));
  await new Promise((r) => setTimeout(r, 200)); // the relay has read the forged answer by now
  await respond(chosen.ws, request.id);
  await send(chosen.ws, Buffer.from('from the right one'));
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'from the right one');
  a.ws.terminate();
  b.ws.terminate();
});

test('a control-channel response body over 64 KiB: 502 for the caller, the listener keeps serving', { timeout: 30000 }, async () => {
  const l = await rawListener();
  const first = call('GET', '/big');
  const { request } = await l.next();
  await respond(l.ws, request.id);
  await send(l.ws, Buffer.alloc(64 * 1024 + 1, 1));
  const r = await first;
  assert.equal(r.status, 502, r.body);
  assert.match(r.body, /response body on the control channel is over 64 KiB/);
  // The channel is still open and in step: a lying Content-Length is replaced by the real one.
  const second = call('GET', '/after');
  const next = await l.next();
  await respond(l.ws, next.request.id, {
    responseHeaders: { 'Content-Length': '3', 'Transfer-Encoding': 'gzip', 'X-Ctl': 'a\u0001b', 'X-Fine': 'a\tb' },
  });
  await send(l.ws, Buffer.from('longer than three bytes'));
  const ok = await second;
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'longer than three bytes');
  assert.equal(ok.headers['transfer-encoding'], undefined);
  assert.equal(ok.headers['content-length'], String('longer than three bytes'.length));
  assert.equal(ok.headers['x-ctl'], undefined, 'a header value with a control character reached the caller');
  assert.equal(ok.headers['x-fine'], 'a\tb');
  l.ws.terminate();
});

test("a request's rendezvous address works once", { timeout: 30000 }, async () => {
  const l = await rawListener();
  const body = crypto.randomBytes(100 * 1024); // over 64 KiB: address and id only
  const pending = call('POST', '/upload', body);
  const announce = (await l.next()).request;
  assert.equal(announce.method, undefined, 'a large request must come as address and id only');
  assert.match(announce.address, /sb-hc-action=request/);
  const leg = new WebSocket(announce.address, { ca: relay.ca, perMessageDeflate: false });
  sockets.push(leg);
  const messages = [];
  leg.on('message', (d) => messages.push(d));
  await new Promise((resolve, reject) => {
    leg.once('open', resolve);
    leg.once('error', reject);
  });
  while (messages.length < 2) await new Promise((r) => setTimeout(r, 10));
  const full = JSON.parse(messages[0]).request;
  assert.equal(full.id, announce.id);
  assert.equal(full.method, 'POST');
  assert.equal(full.body, true);
  assert.ok(Buffer.from(messages[1]).equals(body), 'the request body on the rendezvous differs');
  await respond(leg, full.id);
  await send(leg, Buffer.from('stored'));
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'stored');
  const again = await new Promise((resolve) => {
    const second = new WebSocket(announce.address, { ca: relay.ca, perMessageDeflate: false });
    sockets.push(second);
    second.on('unexpected-response', (_req, res) => resolve(res.statusCode));
    second.on('open', () => resolve('open'));
    second.on('error', () => {});
  });
  assert.equal(again, 403);
  l.ws.terminate();
});

test('one listener serves a WebSocket sender and HTTP requests at once', { timeout: 30000 }, async () => {
  const l = await rawListener();
  const sendToken = sasToken(`http://${relay.host}/${hc.name}`, hc.send.keyName, hc.send.key);
  const sender = new WebSocket(hc.connectUrl, { headers: { ServiceBusAuthorization: sendToken }, ca: relay.ca, perMessageDeflate: false });
  sockets.push(sender);
  const senderOpen = new Promise((resolve, reject) => {
    sender.once('open', resolve);
    sender.once('error', reject);
  });
  const { accept } = await l.next();
  const leg = new WebSocket(accept.address, { ca: relay.ca, perMessageDeflate: false });
  sockets.push(leg);
  leg.on('message', (d) => leg.send(d)); // the tunnel echoes
  await senderOpen;
  // While the tunnel is open, a request comes over the same control channel.
  const pending = call('GET', '/while-tunnel');
  const { request } = await l.next();
  const echoed = new Promise((resolve) => sender.once('message', resolve));
  sender.send('through the tunnel');
  await respond(l.ws, request.id);
  await send(l.ws, Buffer.from('through HTTP mode'));
  assert.equal(String(await echoed), 'through the tunnel');
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'through HTTP mode');
  sender.close();
  l.ws.terminate();
});

test('a listener dialing the address of a request that has ended is not taken for a guesser', { timeout: 60000 }, async () => {
  const l = await rawListener();
  const pending = call('POST', '/late', crypto.randomBytes(100 * 1024));
  const announce = (await l.next()).request;
  const r = await pending; // nobody fetched it: 504 after the answer timeout
  assert.equal(r.status, 504, r.body);
  const statuses = [];
  for (let i = 0; i < 120; i++) {
    statuses.push(await new Promise((resolve) => {
      const leg = new WebSocket(announce.address, { ca: relay.ca, perMessageDeflate: false });
      sockets.push(leg);
      leg.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      leg.on('open', () => resolve('open'));
      leg.on('error', () => {});
    }));
  }
  assert.deepEqual([...new Set(statuses)], [403]);
  // The source's allowance is intact: the same address still sends and listens.
  const again = call('GET', '/after-late');
  const next = await l.next();
  await respond(l.ws, next.request.id);
  await send(l.ws, Buffer.from('still served'));
  assert.equal((await again).body, 'still served');
  l.ws.terminate();
});

test('a request moved on from a listener that could not take it is not failed by that listener', { timeout: 60000 }, async () => {
  const stuck = await rawListener();
  stuck.ws._socket.pause(); // reads nothing: its control channel fills, then the relay drops it
  const honest = await rawListener();
  const answered = new Set();
  honest.ws.on('message', (data) => {
    if (typeof data !== 'string') return;
    const { request } = JSON.parse(data);
    if (!request) return;
    answered.add(request.requestTarget);
    // The response and its body back to back: nothing of another answer may come between them.
    honest.ws.send(JSON.stringify({ response: { requestId: request.id, statusCode: 200, body: true } }));
    honest.ws.send(Buffer.from(request.requestTarget));
  });
  honest.next = null; // its queue is not used here
  const body = Buffer.alloc(60 * 1024, 1); // small: on the control channel
  const results = await Promise.all(Array.from({ length: 250 }, (_, i) => call("POST", `/move-${i}`, body)));
  const failedButAnswered = results
    .map((r, i) => ({ r, target: `/raw/move-${i}` }))
    .filter(({ r, target }) => r.status !== 200 && answered.has(target));
  assert.deepEqual(failedButAnswered.map(({ r, target }) => `${target}: ${r.status} ${r.body}`), []);
  assert.ok(answered.size > 0, 'the honest listener answered nothing: the test did not test failover');
  const counts = {};
  for (const r of results) counts[r.status] = (counts[r.status] || 0) + 1;
  assert.match(relay.relayLog(), /could not take it; trying another/, `${JSON.stringify(counts)} ` + 'no request moved on: the test did not test failover');
  honest.ws.terminate();
  stuck.ws.terminate();
});

test('a caller trickling its body gets 408 once the answer timeout has passed; the listener is told', { timeout: 60000 }, async () => {
  const l = await rawListener();
  const token = sasToken(`http://${relay.host}/${hc.name}`, hc.send.keyName, hc.send.key);
  const url = new URL(`${hc.httpsUrl}/trickle`);
  let timer;
  const answered = new Promise((resolve, reject) => {
    const req = https.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', ca: relay.ca, agent: false,
      headers: { ServiceBusAuthorization: token, 'Transfer-Encoding': 'chunked' } }, (res) => {
      clearInterval(timer);
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (e) => { clearInterval(timer); reject(e); });
    req.write('x');
    timer = setInterval(() => req.write('x'), 1000); // 1 byte per second, forever
  });
  const announce = (await l.next()).request;
  const leg = new WebSocket(announce.address, { ca: relay.ca, perMessageDeflate: false });
  sockets.push(leg);
  const legClosed = new Promise((resolve) => leg.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const started = Date.now();
  const r = await answered;
  assert.equal(r.status, 408, r.body);
  assert.match(r.body, /slower than 1024 bytes per second/);
  assert.ok(Date.now() - started >= 4500, 'refused before the answer timeout had passed');
  const closed = await legClosed;
  assert.equal(closed.code, 1001);
  assert.match(closed.reason, /too slowly/);
  l.ws.terminate();
});
