// tests/interop/lib/hyco_sender: a child process that connects as a sender with
// hyco-ws@1.0.5's relayedConnect, sends the messages in MESSAGE_FILE ([{type, base64}]), prints
// each reply as a JSON line {type, base64}, then closes (1000) and prints {event:"close",...}.
// Exit 0 after the close handshake; 1 on a socket error (printed to stderr); 2 on timeout.
// Exits by running out of work (never process.exit on success) so piped stdout is complete.
// Usage: node hyco_sender.cjs CONNECT_URL TOKEN_URI KEY_NAME KEY MESSAGE_FILE [TIMEOUT_MS]
'use strict';
const fs = require('fs');
const WebSocket = require('hyco-ws');

const [connectUrl, tokenUri, keyName, key, messageFile, timeoutMs] = process.argv.slice(2);
const messages = JSON.parse(fs.readFileSync(messageFile, 'utf8'));
const timer = setTimeout(() => {
  console.error(`timed out with ${replies} of ${messages.length} replies`);
  process.exit(2);
}, Number(timeoutMs || 30000));

let replies = 0;
const ws = WebSocket.relayedConnect(connectUrl, WebSocket.createRelayToken(tokenUri, keyName, key));
ws.on('open', () => {
  for (const m of messages) {
    const bytes = Buffer.from(m.base64, 'base64');
    if (m.type === 'text') ws.send(bytes.toString('utf8'), { binary: false });
    else ws.send(bytes, { binary: true });
  }
  if (messages.length === 0) ws.close(1000, 'done');
});
ws.on('message', (data, flags) => {
  const binary = !!(flags && flags.binary);
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  console.log(JSON.stringify({ type: binary ? 'binary' : 'text', base64: bytes.toString('base64') }));
  if (++replies === messages.length) ws.close(1000, 'done');
});
ws.on('close', (code, reason) => {
  console.log(JSON.stringify({ event: 'close', code, reason: String(reason || '') }));
  clearTimeout(timer);
  // exitCode, not exit(): stdout is a pipe, written asynchronously; exit() would cut it short.
  process.exitCode = replies === messages.length ? 0 : 1;
});
ws.on('error', (err) => {
  console.error(`sender error: ${err && err.message}`);
  clearTimeout(timer);
  process.exitCode = 1;
  ws.terminate();
});
