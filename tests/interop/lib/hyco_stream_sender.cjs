// tests/interop/lib/hyco_stream_sender: a child process that connects as a sender with
// hyco-ws@1.0.5's relayedConnect and treats the WebSocket as a byte stream (as an App Service app's
// TCP connection is carried): sends SIZE random bytes as binary messages of up to 16 KiB, reads
// binary messages until as many bytes came back, then closes (1000). Prints one JSON line
// {sent, received, sentSha256, receivedSha256, closeCode}. Exit 0 after the close handshake; 1 on
// a socket error; 2 on timeout. Usage: node hyco_stream_sender.cjs CONNECT_URL TOKEN_URI KEY_NAME
// KEY SIZE [TIMEOUT_MS]
'use strict';
const crypto = require('crypto');
const WebSocket = require('hyco-ws');

const [connectUrl, tokenUri, keyName, key, size, timeoutMs] = process.argv.slice(2);
const data = crypto.randomBytes(Number(size));
const received = [];
let receivedBytes = 0;
const timer = setTimeout(() => {
  console.error(`timed out with ${receivedBytes} of ${data.length} bytes back`);
  process.exit(2);
}, Number(timeoutMs || 30000));

const ws = WebSocket.relayedConnect(connectUrl, WebSocket.createRelayToken(tokenUri, keyName, key));
ws.on('open', () => {
  for (let at = 0; at < data.length; at += 16384) ws.send(data.subarray(at, at + 16384), { binary: true });
});
ws.on('message', (chunk) => {
  const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
  received.push(bytes);
  receivedBytes += bytes.length;
  if (receivedBytes >= data.length) ws.close(1000, 'done');
});
ws.on('close', (code) => {
  clearTimeout(timer);
  const back = Buffer.concat(received);
  const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
  console.log(JSON.stringify({ sent: data.length, received: back.length, sentSha256: sha(data),
                               receivedSha256: sha(back), closeCode: code }));
  process.exitCode = 0;  // not exit(): stdout is a pipe
});
ws.on('error', (err) => {
  clearTimeout(timer);
  console.error(`socket error: ${err.message}`);
  process.exitCode = 1;
});
