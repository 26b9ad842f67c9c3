// tests/interop/lib/hyco_https_listener: a child process holding Microsoft's hyco-https@1.4.5
// RelayedServer (HTTP mode) with routes the HTTP-mode tests call. Paths below the hybrid
// connection's name:
//   /echo...    200, JSON {method, url, headers, length, sha256} of the request as it arrived
//   /bytes?n=N  200, N bytes of a known pattern (byte i = i % 251), written in 64 KiB pieces
//   /empty      204, no body
//   /silent     never answered
//   /exit       the process exits (its control channel drops mid-request)
//   /status?code=C&text=T   C with reason T and header X-Listener: yes
// Prints "ready" when the control channel is open and "request METHOD URL" per request.
// Usage: node hyco_https_listener.cjs LISTEN_URL TOKEN_URI KEY_NAME KEY
'use strict';
const crypto = require('crypto');
const https = require('hyco-https');

const [listenUrl, tokenUri, keyName, key] = process.argv.slice(2);

function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

function writeBytes(res, total) {
  const piece = 64 * 1024;
  const block = pattern(piece + 251);
  let sent = 0;
  const more = () => {
    while (sent < total) {
      const n = Math.min(piece, total - sent);
      const offset = sent % 251;
      sent += n;
      if (!res.write(block.subarray(offset, offset + n))) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  more();
}

const server = https.createRelayedServer(
  { server: listenUrl, token: () => https.createRelayToken(tokenUri, keyName, key) },
  (req, res) => {
    console.log(`request ${req.method} ${req.url}`);
    const url = new URL(req.url, 'http://listener');
    const route = url.pathname.split('/').slice(2).join('/');
    const hash = crypto.createHash('sha256');
    let length = 0;
    req.on('data', (d) => {
      length += d.length;
      hash.update(d);
    });
    req.on('end', () => {
      try {
        answer(req, res, url, route, length, hash);
      } catch (err) {
        res.statusCode = 500;
        res.end(`listener error: ${err.message}\n`);
      }
    });
  },
);

function answer(req, res, url, route, length, hash) {
  if (route.startsWith('echo')) {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, length, sha256: hash.digest('hex') });
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Echo-Name', req.headers['x-name'] || '');
    res.end(body);
  } else if (route === 'bytes') {
    res.setHeader('Content-Type', 'application/octet-stream');
    writeBytes(res, Number(url.searchParams.get('n')));
  } else if (route === 'empty') {
    res.statusCode = 204;
    res.end();
  } else if (route === 'silent') {
    // never answered
  } else if (route === 'exit') {
    process.exit(3);
  } else if (route === 'status') {
    res.statusCode = Number(url.searchParams.get('code'));
    res.statusMessage = url.searchParams.get('text') || '';
    res.setHeader('X-Listener', 'yes');
    res.end('status route\n');
  } else {
    res.statusCode = 404;
    res.end(`no route ${route}\n`);
  }
}
server.listen();
server.on('listening', () => console.log('ready'));
server.on('error', (err) => console.error(`control channel error: ${err && (err.message || err.type || err)}`));
