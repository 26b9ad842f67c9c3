// bench/http_mode_bench: HTTP mode (protocol doc §6) against the same request served straight by
// nginx, in one run on this machine: requests per second and latency p50/p99 for a 1 KB GET over
// keep-alive HTTPS connections, and CPU per 1,000 requests of every process on each path (the
// relay, the hyco-https listener; nginx). Writes bench/results/{date}-{host}-http-mode.{json,md}.
// Run by `scripts/bench --http-mode [--quick]`.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

import { RelayFixture, repoRoot, sasToken } from '../tests/interop/lib/harness.mjs';

const quick = process.argv.includes('--quick');
const seconds = quick ? 4 : 10;
const concurrency = 16;
const body = crypto.randomBytes(512).toString('hex'); // 1 KB

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

// `concurrency` keep-alive connections sending GETs back to back for `seconds`.
async function load(url, headers, ca, seconds) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const latencies = [];
  let failures = 0;
  const reasons = {};
  const until = Date.now() + seconds * 1000;
  const one = () =>
    new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const req = https.get(url, { agent, headers }, (res) => {
        let n = 0;
        res.on('data', (d) => (n += d.length));
        res.on('end', () => {
          if (res.statusCode !== 200 || n !== body.length) {
            failures++;
            reasons[`status ${res.statusCode}, ${n} bytes`] = (reasons[`status ${res.statusCode}, ${n} bytes`] || 0) + 1;
          }
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          resolve();
        });
      });
      req.on('error', (e) => {
        reasons[e.code || e.message] = (reasons[e.code || e.message] || 0) + 1;
        failures++;
        resolve();
      });
    });
  const worker = async () => {
    while (Date.now() < until) await one();
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (Date.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { requests: latencies.length, failures, failure_reasons: reasons, per_second: Math.round(latencies.length / elapsed), p50_ms: +at(0.5).toFixed(3), p99_ms: +at(0.99).toFixed(3) };
}

async function measure(url, headers, ca, pids) {
  await load(url, headers, ca, 1); // warm-up: connections open, code paths hot
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)]));
  const r = await load(url, headers, ca, seconds);
  r.cpu_ms_per_1000 = Object.fromEntries(
    Object.entries(pids).map(([k, p]) => [k, +(((cpuSeconds(p) - before[k]) * 1000 * 1000) / Math.max(1, r.requests)).toFixed(1)]),
  );
  return r;
}

function startNginx(dir) {
  const cert = path.join(dir, 'nginx.pem');
  const key = path.join(dir, 'nginx.key');
  const ssl = spawn('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    ssl.on('close', (code) => {
      if (code !== 0) return reject(new Error('openssl failed'));
      const port = 20000 + Math.floor(Math.random() * 20000);
      fs.chmodSync(dir, 0o755); // nginx's worker runs as nobody
      fs.mkdirSync(path.join(dir, 'www', 'web'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'www', 'web', 'kb'), body);
      const conf = path.join(dir, 'nginx.conf');
      fs.writeFileSync(conf, `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 100000;
  server { listen 127.0.0.1:${port} ssl; ssl_certificate ${cert}; ssl_certificate_key ${key}; ssl_protocols TLSv1.2 TLSv1.3; root ${dir}/www; } }
`);
      const nginx = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
      setTimeout(() => resolve({ nginx, port, ca: fs.readFileSync(cert) }), 500);
    });
  });
}

const relay = new RelayFixture();
let nginx;
try {
  await relay.start();
  const hc = await relay.createHybridConnection('web');
  const listener = relay.spawn('hyco-https listener', process.execPath, [
    path.join(repoRoot, 'bench', 'http_mode_listener.cjs'), hc.listenUrl, hc.tokenUri, hc.listen.keyName, hc.listen.key, body,
  ], { NODE_EXTRA_CA_CERTS: relay.caFile });
  await listener.waitForLine((l) => l === 'ready');
  const token = sasToken(`http://${relay.host}/web`, hc.send.keyName, hc.send.key);
  const viaRelay = await measure(`${hc.httpsUrl}/kb`, { ServiceBusAuthorization: token }, relay.ca,
    { hcrelay: relay.relay.proc.pid, 'hyco-https listener': listener.proc.pid });
  const n = await startNginx(relay.dir);
  nginx = n.nginx;
  const nginxWorker = Number(fs.readFileSync(path.join(relay.dir, 'nginx.pid'), 'utf8')); // master; worker below
  const workers = fs.readFileSync(`/proc/${nginxWorker}/task/${nginxWorker}/children`, 'utf8').trim().split(/\s+/).map(Number);
  const direct = await measure(`https://127.0.0.1:${n.port}/web/kb`, {}, n.ca, { nginx: workers[0] });
  const results = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), host: os.hostname(), cores: os.cpus().length, quick, seconds, concurrency,
    paths: { 'hcrelay HTTP mode (hyco-https listener)': viaRelay, 'nginx direct': direct },
    ratio_rps: +(viaRelay.per_second / direct.per_second).toFixed(3),
  };
  const stem = `${results.date.slice(0, 10)}-${results.host.split('.')[0]}-http-mode${quick ? '-quick' : ''}`;
  const out = path.join(repoRoot, 'bench', 'results');
  fs.writeFileSync(path.join(out, `${stem}.json`), JSON.stringify(results, null, 2) + '\n');
  const lines = [`# HTTP mode: 1 KB GET, ${concurrency} keep-alive HTTPS connections, ${seconds} s (${results.date}, ${results.cores} cores)`, '',
    '| path | requests/s | p50 ms | p99 ms | failures | CPU ms per 1,000 requests |', '|---|---|---|---|---|---|'];
  for (const [name, r] of Object.entries(results.paths))
    lines.push(`| ${name} | ${r.per_second} | ${r.p50_ms} | ${r.p99_ms} | ${r.failures} | ${Object.entries(r.cpu_ms_per_1000).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
  lines.push('', `Ratio (relay / nginx, requests per second): ${results.ratio_rps}`, '');
  fs.writeFileSync(path.join(out, `${stem}.md`), lines.join('\n'));
  console.log(lines.join('\n'));
} finally {
  if (nginx) nginx.kill('SIGTERM');
  await relay.stop();
}
