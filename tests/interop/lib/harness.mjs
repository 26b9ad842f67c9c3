// tests/interop/lib/harness: what every interop test file shares. Starts one hcrelay (port 0,
// --dev-tls, private temp dir) and waits for its root connection string; creates hybrid
// connections through the management REST API; spawns child processes (hyco-ws peers need
// NODE_EXTRA_CA_CERTS, which Node reads only at start-up, so they always run as children) and
// waits for their output lines. stop() ends every process it started the way
// tests/integration/harness.cpp does (SIGTERM, a bounded wait, SIGKILL only then), removes the
// temp dir and throws when a child needed SIGKILL or printed a sanitizer report.
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

// How long a child gets between SIGTERM and SIGKILL. hcm and hcconnect give open tunnels up to
// 5 s (net/limits.hpp agent_drain_timeout), hcrelay up to 10 s (relay_drain_timeout), hence more.
const childGraceMs = 10000;
const relayGraceMs = 15000;
// Once a process has exited, how long its pipes may take to deliver the last output (a
// grandchild that inherited them could hold them open forever).
const outputGraceMs = 5000;

// Resolves true when `promise` settles within `ms`, false otherwise.
function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, ms, false); });
  return Promise.race([promise.then(() => true), late]).finally(() => clearTimeout(timer));
}

// The part of `text` from the start of the first sanitizer report, or null. ASan, LSan and UBSan
// each print a line naming themselves ("ERROR: AddressSanitizer: ...", "ERROR: LeakSanitizer:
// ...", "SUMMARY: UndefinedBehaviorSanitizer: ...") after their report, even when the program
// goes on; UBSan's report ("runtime error: ...") precedes its SUMMARY line. The same check as
// child_process::fail_on_sanitizer_report in tests/integration/harness.cpp.
export function sanitizerReport(text) {
  let at = text.indexOf('Sanitizer:');
  if (at < 0) return null;
  const ub = text.indexOf('runtime error:');
  if (ub >= 0) at = Math.min(at, ub);
  const start = text.lastIndexOf('\n', at) + 1;
  return text.slice(start, start + 4000);
}

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
    this.exited = null; // {code, signal} once it has ended and its pipes are closed
    this.stopping = null; // stop()'s promise once it has been called
    this.proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The process itself has ended (its output may still be in the pipes: see `closed`).
    this.ended = new Promise((resolve) => this.proc.once('exit', resolve));
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

  // Resolves with {code, signal} when the process ends; after timeoutMs stops it (stop()) and
  // rejects.
  async waitForExit(timeoutMs = 30000) {
    if (await within(this.closed, timeoutMs)) return this.exited;
    const problem = await this.stop();
    throw new Error(`did not exit in ${timeoutMs} ms${problem ? `; ${problem}` : ''}. ${this.describe()}`);
  }

  // True while the process runs (false too when it never started).
  running() {
    return this.proc.pid !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  // SIGTERM, up to graceMs for the process to exit, then SIGKILL; then up to outputGraceMs for
  // the rest of its output. Resolves with what went wrong ("did not exit within ... of SIGTERM"),
  // or null. Idempotent: later calls get the first call's answer.
  stop(graceMs = childGraceMs) {
    this.stopping ??= (async () => {
      let problem = null;
      if (this.running()) {
        this.proc.kill('SIGTERM');
        if (!(await within(this.ended, graceMs))) {
          this.proc.kill('SIGKILL');
          problem = `did not exit within ${graceMs} ms of SIGTERM, so it was sent SIGKILL`;
          await within(this.ended, outputGraceMs);
        }
      }
      if (this.proc.pid !== undefined && !(await within(this.closed, outputGraceMs))) {
        problem ??= `its output pipes stayed open ${outputGraceMs} ms after it exited`;
      }
      return problem;
    })();
    return this.stopping;
  }

  // SIGKILL at once, for tests of a peer that vanishes; stop() is the orderly end.
  kill() {
    if (this.running()) this.proc.kill('SIGKILL');
  }

  // A sanitizer report in what the process wrote (stderr, then stdout), or null.
  sanitizerReport() {
    return sanitizerReport(`${this.stderr}\n${this.lines.join('\n')}`);
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

  // Stops every child (Child.stop: SIGTERM, bounded wait, SIGKILL; the relay last, once the
  // peers are gone), removes the temp dir, then reads every child's output, the ones that ended
  // on their own included. Throws, naming each, when the relay had already died on its own (a
  // crash the tests might not otherwise notice), when a child needed SIGKILL, or when a child
  // printed a sanitizer report (programs from a sanitizer build, HC_BIN_DIR, report leaks at
  // exit and undefined behaviour as it happens).
  async stop() {
    const problems = [];
    if (this.relay && !this.relay.running()) {
      await within(this.relay.closed, outputGraceMs);
      problems.push(`hcrelay ended before the tests did. ${this.relay.describe()}`);
    }
    const others = this.children.filter((c) => c !== this.relay);
    const stopped = await Promise.all(others.map((c) => c.stop()));
    if (this.relay) stopped.push(await this.relay.stop(relayGraceMs));
    const all = this.relay ? [...others, this.relay] : others;
    all.forEach((c, i) => {
      if (stopped[i]) problems.push(`${c.name} ${stopped[i]}. ${c.describe()}`);
      const report = c.sanitizerReport();
      if (report) problems.push(`sanitizer report in the output of ${c.name} (${c.proc.spawnfile}):\n${report}`);
    });
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    if (problems.length) throw new Error(problems.join('\n\n'));
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
