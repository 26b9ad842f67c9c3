// tests/interop/lib/hyco_echo_listener: a child process holding an hyco-ws@1.0.5 RelayedServer
// that echoes every message back with the same type (text stays text). Prints "ready" when the
// control channel is open and "connection" per accepted sender; runs until killed.
// Usage: node hyco_echo_listener.cjs LISTEN_URL TOKEN_URI KEY_NAME KEY
'use strict';
const WebSocket = require('hyco-ws');

const [listenUrl, tokenUri, keyName, key] = process.argv.slice(2);
const server = WebSocket.createRelayedServer(
  { server: listenUrl, token: () => WebSocket.createRelayToken(tokenUri, keyName, key) },
  (ws) => {
    console.log('connection');
    ws.on('message', (data, flags) => ws.send(data, { binary: !!(flags && flags.binary) }));
    ws.on('error', (err) => console.error(`accepted socket error: ${err && err.message}`));
  },
);
server.on('listening', () => console.log('ready'));
// hyco-ws emits 'error' on every failed control-channel attempt (then retries at once).
server.on('error', (err) => console.error(`control channel error: ${err && (err.message || err.type || err)}`));
