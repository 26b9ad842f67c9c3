// bench/http_mode_listener: an hyco-https@1.4.5 listener answering every request with the same
// body (given on the command line); prints "ready". For bench/http_mode_bench.mjs.
// Usage: node http_mode_listener.cjs LISTEN_URL TOKEN_URI KEY_NAME KEY BODY
'use strict';
const https = require('hyco-https');

const [listenUrl, tokenUri, keyName, key, body] = process.argv.slice(2);
const server = https.createRelayedServer(
  { server: listenUrl, token: () => https.createRelayToken(tokenUri, keyName, key) },
  (req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'text/plain');
      res.end(body);
    });
  },
);
server.listen();
server.on('listening', () => console.log('ready'));
