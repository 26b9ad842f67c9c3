// tests/interop/lib/harness: what every interop test file shares. Starts one hcrelay (port 0,
// --dev-tls, private temp dir) and waits for its root connection string; creates hybrid
// connections through the management REST API; spawns child processes (hyco-ws peers need
// NODE_EXTRA_CA_CERTS, which Node reads only at start-up, so they always run as children) and
// waits for their output lines. stop() kills every process it started and removes the temp dir.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const binDir = process.env.HC_BIN_DIR || path.join(repoRoot, 'build');
export const nodePath = process.env.NODE_PATH || path.join(repoRoot, 'tests/node/node_modules');
export const hcpeerPath = path.join(binDir, 'tests', 'hcpeer');
export const libDir = here;

// A SAS token the way the SDKs make it: HMAC-SHA256 keyed with the key text, sr URL-encoded.
export function sasToken(resourceUri, keyName, key, ttlSeconds = 3600) {
  const se = Math.floor(Date.now() / 1000) + ttlSeconds;
  const sr = encodeURIComponent(resourceUri);
  const sig = crypto.createHmac('sha256', key).update(`${sr}\n${se}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=${encodeURIComponent(keyName)}`;
}

export function parseConnectionString(text) {
  const fields = {};
  for (const pair of text.trim().split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields[pair.slice(0, eq).toLowerCase()] = pair.slice(eq + 1);
  }
  const m = /^sb:\/\/([^/:]+)(?::(\d+))?\/?$/.exec(fields.endpoint || '');
  if (!m) throw new Error(`not a connection string: ${text}`);
  return {
    host: m[1],
    port: Number(m[2] || 443),
    keyName: fields.sharedaccesskeyname,
    key: fields.sharedaccesskey,
    entityPath: fields.entitypath,
  };
}

// A line-buffered child process: `lines` grows as stdout arrives; stderr is kept for messages.
class Child {
  constructor(name, command, args, env) {
    this.name = name;
    this.lines = [];
    this.stderr = '';
    this.waiters = [];
    this.exited = null; // {code, signal} once it has ended
    this.proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk) => {
      partial += chunk;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        this.lines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
      this.wake();
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.closed = new Promise((resolve) => {
      this.proc.on('close', (code, signal) => {
        if (partial) this.lines.push(partial);
        this.exited = { code, signal };
        this.wake();
        resolve(this.exited);
      });
    });
    this.proc.on('error', (err) => {
      this.stderr += `spawn failed: ${err.message}\n`;
    });
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  describe() {
    return `${this.name}: exit=${JSON.stringify(this.exited)} stdout=${JSON.stringify(this.lines)} stderr=${this.stderr}`;
  }

  // Resolves with the first stdout line that satisfies `pred`; rejects on exit or timeout.
  waitForLine(pred, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.find(pred);
        if (line !== undefined) return done(() => resolve(line));
        if (this.exited) return done(() => reject(new Error(`exited before the expected line. ${this.describe()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for a line. ${this.describe()}`))), timeoutMs);
      const done = (fn) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        fn();
      };
      this.waiters.push(check);
      check();
    });
  }

  // Resolves with {code, signal} when the process ends; rejects (and kills it) after timeoutMs.
  async waitForExit(timeoutMs = 30000) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`did not exit in ${timeoutMs} ms. ${this.describe()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill() {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}

export class RelayFixture {
  constructor() {
    this.children = [];
  }

  // Starts hcrelay (with `extraArgs` after the fixture's own) and resolves once
  // root.connection-string is readable.
  async start(timeoutMs = 20000, extraArgs = []) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcrelay-interop-'));
    this.dataDir = path.join(this.dir, 'data');
    this.caFile = path.join(this.dataDir, 'tls', 'ca.pem');
    this.relay = this.spawn('hcrelay', path.join(binDir, 'hcrelay'), [
      '--data-dir', this.dataDir, '--listen', '127.0.0.1:0', '--dev-tls', '--log-level', 'debug', ...extraArgs,
    ]);
    const csFile = path.join(this.dataDir, 'root.connection-string');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.relay.exited) throw new Error(`hcrelay exited at start-up. ${this.relay.describe()}`);
      if (fs.existsSync(csFile)) {
        try {
          this.root = parseConnectionString(fs.readFileSync(csFile, 'utf8'));
          if (this.root.key && fs.existsSync(this.caFile)) break;
        } catch {
          // written but not complete yet: look again
        }
      }
      if (Date.now() > deadline) throw new Error(`hcrelay wrote no connection string in ${timeoutMs} ms. ${this.relay.describe()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    this.host = this.root.host;
    this.port = this.root.port;
    this.ca = fs.readFileSync(this.caFile);
    return this;
  }

  // One management call with a Manage token for the namespace; resolves {status, body}.
  api(method, apiPath, body) {
    const token = sasToken(`http://${this.host}/`, this.root.keyName, this.root.key);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.host,
          port: this.port,
          method,
          path: apiPath,
          ca: this.ca,
          timeout: 10000,
          headers: { Authorization: token, 'Content-Type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            let json = null;
            try {
              json = JSON.parse(text);
            } catch {
              // not JSON: the caller sees the raw text
            }
            resolve({ status: res.statusCode, text, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath} timed out`)));
      req.on('error', reject);
      if (body !== undefined) req.write(JSON.stringify(body));
      req.end();
    });
  }

  // Creates hybrid connection `name`; resolves the Listen and Send rules' connection strings.
  async createHybridConnection(name, endpoint = 'localhost:9') {
    const base = `/api/v1/namespaces/${this.host}/hybridConnections/${name}`;
    const put = await this.api('PUT', base, { endpoint });
    if (put.status !== 200 && put.status !== 201) throw new Error(`PUT ${base}: ${put.status} ${put.text}`);
    const keys = {};
    for (const rule of ['defaultListener', 'defaultSender']) {
      const r = await this.api('POST', `${base}/authorizationRules/${rule}/listKeys`);
      if (r.status !== 200) throw new Error(`listKeys ${rule}: ${r.status} ${r.text}`);
      keys[rule] = r.json;
    }
    return {
      name,
      listen: parseConnectionString(keys.defaultListener.primaryConnectionString),
      send: parseConnectionString(keys.defaultSender.primaryConnectionString),
      listenConnectionString: keys.defaultListener.primaryConnectionString,
      sendConnectionString: keys.defaultSender.primaryConnectionString,
      // hyco-ws hard-codes :443 in its URI helpers, so the URLs are written out here.
      listenUrl: `wss://${this.host}:${this.port}/$hc/${name}?sb-hc-action=listen`,
      connectUrl: `wss://${this.host}:${this.port}/$hc/${name}?sb-hc-action=connect`,
      // createRelayToken keeps the port in sr; the relay ignores ports in token scope.
      tokenUri: `http://${this.host}:${this.port}/${name}`,
      // HTTP mode: requests go to the hybrid connection's path on the namespace host.
      httpsUrl: `https://${this.host}:${this.port}/${name}`,
    };
  }

  spawn(name, command, args, extraEnv = {}) {
    const env = { ...process.env, NODE_PATH: nodePath, ...extraEnv };
    const child = new Child(name, command, args, env);
    this.children.push(child);
    return child;
  }

  // A Node child that trusts the relay's development CA.
  spawnNode(name, script, args) {
    return this.spawn(name, process.execPath, [path.join(libDir, script), ...args], {
      NODE_EXTRA_CA_CERTS: this.caFile,
    });
  }

  spawnHcpeer(name, args) {
    return this.spawn(name, hcpeerPath, args);
  }

  // Kills every child (the relay last) and removes the temp dir. Throws when the relay had
  // already died on its own (a crash the tests might not otherwise notice).
  async stop() {
    const others = this.children.filter((c) => c !== this.relay);
    for (const c of others) c.kill();
    await Promise.all(others.map((c) => c.closed));
    const died = this.relay && this.relay.exited ? this.relay.describe() : null;
    if (this.relay) {
      this.relay.kill();
      await this.relay.closed;
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    if (died) throw new Error(`hcrelay ended before the tests did. ${died}`);
  }

  // The relay's log so far (for assertion messages).
  relayLog() {
    return this.relay ? this.relay.stderr : '';
  }
}

// The messages every echo test sends: text (ASCII, non-ASCII, empty) and binary (every byte
// value, a 300 KiB random block spanning many TLS records, empty).
export function echoMessages() {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  return [
    { type: 'text', data: Buffer.from('hello through hcrelay') },
    { type: 'text', data: Buffer.from('héllo wörld ✓ 🚀 — ünïcødé') },
    { type: 'binary', data: all },
    { type: 'binary', data: crypto.randomBytes(300 * 1024) },
    { type: 'text', data: Buffer.alloc(0) },
    { type: 'binary', data: Buffer.alloc(0) },
  ];
}

// Writes messages to a JSON file a sender child reads: [{type, base64}].
export function writeMessageFile(dir, messages) {
  const file = path.join(dir, `messages-${crypto.randomUUID()}.json`);
  fs.writeFileSync(file, JSON.stringify(messages.map((m) => ({ type: m.type, base64: m.data.toString('base64') }))));
  return file;
}

// Checks a sender child's JSON lines against what it sent: same count, order, type and bytes.
export function assertEchoed(assert, messages, lines, context) {
  const replies = lines.map((l) => JSON.parse(l)).filter((r) => !r.event);
  assert.equal(replies.length, messages.length, `reply count. ${context()}`);
  messages.forEach((m, i) => {
    const got = Buffer.from(replies[i].base64, 'base64');
    assert.equal(replies[i].type, m.type, `message ${i}: type. ${context()}`);
    assert.ok(got.equals(m.data), `message ${i} (${m.type}, ${m.data.length} bytes): got ${got.length} different bytes`);
  });
}
