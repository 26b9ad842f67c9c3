#!/usr/bin/env python3
"""bench/run_bench: runs every path and scenario of scripts/bench side by side on this machine and
writes bench/results/<date>-<host>.md and .json. Each figure is taken `repeat` times (min/median/max);
ratios compare medians taken in the same run. Every process it starts is on loopback and is stopped
at the end (also on failure). Paths: direct TCP (the limit), hcrelay with TLS legs, hcrelay with
plaintext legs, `ssh -R`, and a chain of three socat forwarders."""
import argparse, datetime, json, os, pathlib, resource, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("HC_BUILD_DIR", ROOT / "build"))
PROCS = []
HOLD_SETTLE_S = 32  # one memory_trim_interval (src/net/limits.hpp) and a little


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, log, env=None, **kw):
    out = open(log, "ab")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True, **kw)
    PROCS.append(p)
    return p


def stop_all():
    for p in reversed(PROCS):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 5
    for p in PROCS:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
    PROCS.clear()


def wait_port(port, host="127.0.0.1", seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {seconds}s")


def wait_file(path, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{path} did not appear")


TICK = os.sysconf("SC_CLK_TCK")


def proc_stats():
    """pid -> (ppid, [utime, stime, cutime, cstime]) of every process."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), [int(x) for x in fields[11:15]])
    return stats


def with_descendants(pid, stats=None):
    """`pid` and every process under it (sshd serves a session in a child; socat forks per connection)."""
    stats = stats if stats is not None else proc_stats()
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in stats:
            continue
        found.append(p)
        todo.extend(c for c, (ppid, _) in stats.items() if ppid == p)
    return found


def cpu_seconds(pid):
    """CPU time (user + system) of `pid` and its descendants: its own, its reaped children's, and
    that of descendants still running."""
    stats = proc_stats()
    total = 0
    for p in with_descendants(pid, stats):
        u, s, cu, cs = stats[p][1]
        total += u + s + (cu + cs if p == pid else 0)
    return total / TICK


def cpu_of(pids):
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def hcbench(*args, timeout=600):
    r = subprocess.run([str(BUILD / "hcbench"), *args], capture_output=True, text=True, timeout=timeout)
    line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "{}"
    return json.loads(line)


def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Paths:
    """Starts the sink once and every path in front of it; `targets` maps path name -> host:port."""

    def __init__(self, work, quick):
        self.work = pathlib.Path(work)
        self.targets = {}  # path -> host:port of the hcbench sink through that path
        self.redis = {}    # path -> (host, port) of redis-server through that path
        self.postgres = {}  # path -> (host, port) of PostgreSQL through that path
        self.pids = {}
        self.sink_port = free_port()
        start([str(BUILD / "hcbench"), "sink", "--listen", f"127.0.0.1:{self.sink_port}"], self.work / "sink.log")
        self.redis_port = free_port()
        start(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
              self.work / "redis.log")
        self.pg_port = start_postgres(self.work / "pgdata", quick)
        wait_port(self.sink_port)
        wait_port(self.redis_port)
        self.targets["direct"] = f"127.0.0.1:{self.sink_port}"
        self.redis["direct"] = ("127.0.0.1", self.redis_port)
        self.postgres["direct"] = ("127.0.0.1", self.pg_port)

    def hcrelay(self, name, plaintext, http2=True):
        d = self.work / name
        d.mkdir()
        port = free_port()
        mode = ["--insecure-plaintext"] if plaintext else ["--dev-tls"]
        # Every leg of the ~10,000 held tunnels comes from 127.0.0.1 (hcconnect's and hcm's): two
        # connections per tunnel from one source, over the relay's default per-source cap.
        caps = ["--max-connections-per-source", "100000"]
        relay = start([str(BUILD / "hcrelay"), "--data-dir", str(d / "relay"), "--listen", f"127.0.0.1:{port}", *mode,
                       *caps], d / "relay.log")
        wait_file(d / "relay" / "root.connection-string")
        env = dict(os.environ)
        flags = ["--insecure-plaintext"] if plaintext else []
        if not plaintext:
            env["HCRELAY_CA_FILE"] = str(d / "relay" / "tls" / "ca.pem")
        env["HCRELAY_CONNECTION_STRING"] = open(d / "relay" / "root.connection-string").read().strip()
        ctl = [str(BUILD / "hcctl"), *flags]
        hcm_dir, hcc_dir = d / "hcm", d / "hcconnect"

        def run(args):
            return subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout.strip()

        for hc, port_ in (("sink", self.sink_port), ("redis", self.redis_port), ("pg", self.pg_port)):
            run([*ctl, "hc", "create", hc, "--endpoint", f"localhost:{port_}"])
            run([str(BUILD / "hcm"), "--config-dir", str(hcm_dir), *flags, "add",
                 run([*ctl, "hc", "connection-string", hc, "--rule", "defaultListener"])])
            run([str(BUILD / "hcconnect"), "--config-dir", str(hcc_dir), *flags, "add",
                 run([*ctl, "hc", "connection-string", hc, "--rule", "defaultSender"]), "--endpoint",
                 f"{hc}.{name.replace(' ', '-')}.bench.internal:{port_}"])
        # With TLS the agents carry every tunnel leg as a stream of their HTTP/2 connections to the
        # relay; --http2-connections 0 measures the one-TLS-connection-per-leg path (Azure's).
        per_leg = [] if http2 else ["--http2-connections", "0"]
        hcm = start([str(BUILD / "hcm"), "--config-dir", str(hcm_dir), *flags, "run", *per_leg], d / "hcm.log", env=env)
        listed = json.loads(run([str(BUILD / "hcconnect"), "--config-dir", str(hcc_dir), "list", "-o", "json"]))
        address = {e["name"]: e["loopbackAddress"] for e in listed}
        hcc = start([str(BUILD / "hcconnect"), "--config-dir", str(hcc_dir), *flags, "run-service", *per_leg],
                    d / "hcconnect.log",
                    env=env)
        wait_port(self.sink_port, address["sink"])
        # ready when a tunnel carries one echo
        deadline = time.time() + 30
        while time.time() < deadline:
            if hcbench("latency", "--target", f"{address['sink']}:{self.sink_port}", "--count", "1").get("failures") == 0:
                break
            time.sleep(0.2)
        self.targets[name] = f"{address['sink']}:{self.sink_port}"
        self.redis[name] = (address["redis"], self.redis_port)
        self.postgres[name] = (address["pg"], self.pg_port)
        self.pids[name] = {"hcrelay": relay.pid, "hcm": hcm.pid, "hcconnect": hcc.pid}

    def ssh(self):
        d = self.work / "ssh"
        d.mkdir()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "user")], check=True)
        shutil.copy(d / "user.pub", d / "authorized_keys")
        port, fwd, fwd_redis, fwd_pg = free_port(), free_port(), free_port(), free_port()
        config = d / "sshd_config"
        config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\nPidFile {d / 'sshd.pid'}\n"
                          f"AuthorizedKeysFile {d / 'authorized_keys'}\nPermitRootLogin yes\nPasswordAuthentication no\n"
                          "UsePAM no\nAllowTcpForwarding yes\nGatewayPorts no\nStrictModes no\n")
        os.makedirs("/run/sshd", exist_ok=True)
        sshd = start(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], d / "sshd.log")
        wait_port(port)
        ssh = start(["ssh", "-N", "-i", str(d / "user"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "ExitOnForwardFailure=yes", "-p", str(port), "-R", f"127.0.0.1:{fwd}:127.0.0.1:{self.sink_port}",
               "-R", f"127.0.0.1:{fwd_redis}:127.0.0.1:{self.redis_port}",
               "-R", f"127.0.0.1:{fwd_pg}:127.0.0.1:{self.pg_port}",
               f"{os.environ.get('USER', 'root')}@127.0.0.1"], d / "ssh.log")
        wait_port(fwd)
        self.targets["ssh -R"] = f"127.0.0.1:{fwd}"
        self.pids["ssh -R"] = {"sshd": sshd.pid, "ssh": ssh.pid}
        self.redis["ssh -R"] = ("127.0.0.1", fwd_redis)
        self.postgres["ssh -R"] = ("127.0.0.1", fwd_pg)

    def socat(self):
        def chain(backend, label):
            nxt = backend
            for i in range(3):
                p = free_port()
                proc = start(["socat", f"TCP-LISTEN:{p},bind=127.0.0.1,reuseaddr,fork,nodelay", f"TCP:127.0.0.1:{nxt},nodelay"],
                      self.work / f"socat-{label}{i}.log")
                self.pids.setdefault("socat x3", {})[f"socat {label} {i + 1}"] = proc.pid
                wait_port(p)
                nxt = p
            return nxt
        self.targets["socat x3"] = f"127.0.0.1:{chain(self.sink_port, 'sink')}"
        self.redis["socat x3"] = ("127.0.0.1", chain(self.redis_port, "redis"))
        self.postgres["socat x3"] = ("127.0.0.1", chain(self.pg_port, "pg"))


def newest_postgres_bin():
    """Where Debian's postgresql package put the server: the newest /usr/lib/postgresql/N/bin."""
    found = [p for p in pathlib.Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    if not found:
        sys.exit("PostgreSQL's server programs are not under /usr/lib/postgresql/*/bin: run scripts/setup --test")
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1)



def start_postgres(data, quick):
    """A throw-away PostgreSQL cluster (run as the postgres user, TCP only) with a pgbench database."""
    pg_bin = newest_postgres_bin()
    data.mkdir()
    os.chmod(data.parent, 0o755)
    subprocess.run(["chown", "postgres:postgres", str(data)], check=True)
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    port = free_port()
    start([*as_pg, str(pg_bin / "postgres"), "-D", str(data), "-p", str(port), "-k", "", "-c",
           "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "fsync=off"], data.parent / "postgres.log")
    wait_port(port, seconds=60)
    subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-i", "-q", "-s", "1" if quick else "5",
                    "postgres"], check=True, capture_output=True)
    return port


def pgbench(host, port, seconds):
    """Read-only transactions per second (pgbench -S) with 16 clients over 2 threads."""
    r = subprocess.run(["pgbench", "-h", host, "-p", str(port), "-U", "postgres", "-S", "-c", "16", "-j", "2", "-T",
                        str(seconds), "-n", "postgres"], capture_output=True, text=True, timeout=seconds + 60)
    for line in r.stdout.splitlines():
        if line.startswith("tps =") :
            return float(line.split()[2])
    return None


def redis_benchmark(host, port, requests):
    """GET and SET requests per second with 50 clients (redis-benchmark -q output)."""
    r = subprocess.run(["redis-benchmark", "-h", host, "-p", str(port), "-c", "50", "-n", str(requests), "-t", "set,get",
                        "-q"], capture_output=True, text=True, timeout=300)
    out = {}
    for line in r.stdout.replace("\r", "\n").splitlines():
        for op in ("SET", "GET"):
            if line.startswith(op + ":") and "requests per second" in line:
                out[op] = float(line.split(":")[1].split()[0])
    return out


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "runs": len(values)}


def perf_profile(pids, seconds, out, workload):
    """Samples every thread of `pids` (name -> pid) with perf for `seconds` while `workload()` runs.
    Returns {process: {"share": % of all samples, "functions": [(% of the process's samples, symbol)]}}."""
    record = subprocess.Popen(["perf", "record", "-q", "-F", "1999", "-o", str(out), "-p",
                               ",".join(str(p) for pid in pids.values() for p in with_descendants(pid)), "--",
                               "sleep", str(seconds)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    workload()
    record.wait(seconds + 60)

    def report(*args):
        return subprocess.run(["perf", "report", "-i", str(out), "--stdio", "--no-children", *args],
                              capture_output=True, text=True, timeout=300).stdout.splitlines()

    # Threads carry their program's name (comm) in every one of our processes and the peers'.
    shares = {}
    for line in report("--sort", "comm"):
        parts = line.split()
        if len(parts) == 2 and parts[0].endswith("%"):
            shares[parts[1]] = float(parts[0][:-1])
    profile = {}
    for name in pids:
        comm = name[:15]
        functions = []
        for line in report("--comm", comm, "--sort", "sym", "--percentage", "relative", "--percent-limit", "1"):
            parts = line.split()
            if len(parts) >= 3 and parts[0].endswith("%") and parts[1] in ("[.]", "[k]"):
                functions.append((float(parts[0][:-1]), ("[k] " if parts[1] == "[k]" else "") + " ".join(parts[2:])))
        profile[name] = {"share": shares.get(comm, 0.0), "functions": functions}
    return profile


def profile(work, quick):
    """scripts/bench --profile: where the CPU of each process of the TLS path (and of ssh -R) goes,
    by function, during redis-benchmark GET/SET and during one bulk upload."""
    paths = Paths(work, quick)
    paths.hcrelay("hcrelay TLS", plaintext=False)
    paths.ssh()
    results = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "host": socket.gethostname(),
               "cores": os.cpu_count(), "profiles": {}}
    for name in ("hcrelay TLS", "ssh -R"):
        for label, workload in (
                ("redis-benchmark SET/GET, 50 clients", lambda: redis_benchmark(*paths.redis[name], 100000)),
                ("one bulk upload", lambda: hcbench("throughput", "--target", paths.targets[name], "--bytes",
                                                    str(2 << 30), "--direction", "up"))):
            rows = perf_profile(paths.pids[name], 8, pathlib.Path(work) / "perf.data", workload)
            results["profiles"][f"{name}: {label}"] = rows
    out = ROOT / "bench" / "results"
    stem = f"{results['date'][:10]}-{results['host'].split('.')[0]}-profile"
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"# hcrelay profile {results['date']} on {results['host']} ({results['cores']} cores)", "",
             "perf record -F 1999 of every thread of each path's processes for 8 s of the load. Per process: its share "
             "of all samples of the path, then its own samples by function (self time; [k]: kernel; under 1% left "
             "out). On this VM kernel time shows as [k] pvm_irq_enable (no PMU: the sample lands where interrupts "
             "come back on).", ""]
    for title, procs in results["profiles"].items():
        lines += [f"## {title}", ""]
        for proc, p in procs.items():
            lines += [f"**{proc}**: {p['share']:.1f}% of the path's samples", "", "| share of the process | function |",
                      "|---|---|"]
            lines += [f"| {pct:.1f}% | {sym[:100]} |" for pct, sym in p["functions"][:20]]
            lines.append("")
    (out / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes, one run each (under 2 minutes)")
    ap.add_argument("--profile", action="store_true",
                    help="perf profile (by process and function) of the TLS path and ssh -R under load, instead of the figures")
    args = ap.parse_args()
    if args.profile:
        work = tempfile.mkdtemp(prefix="hcprofile-")
        try:
            profile(work, quick=True)
        finally:
            stop_all()
            shutil.rmtree(work, ignore_errors=True)
        return
    quick = args.quick
    repeat = 1 if quick else 3
    size = str(256 << 20) if quick else str(2 << 30)
    seq = "300" if quick else "2000"
    # The relay holds both legs of every tunnel: two descriptors each, under its hard limit.
    fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hold_n = 1000 if quick else min(10000, (fd_limit - 200) // 2)
    results = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "host": socket.gethostname(),
               "quick": quick, "cores": os.cpu_count(), "open_file_limit": fd_limit, "paths": {}}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # runs the cleanup below
    work = tempfile.mkdtemp(prefix="hcbench-")
    try:
        paths = Paths(work, quick)
        paths.hcrelay("hcrelay TLS", plaintext=False)
        paths.hcrelay("hcrelay TLS per-leg", plaintext=False, http2=False)
        paths.hcrelay("hcrelay plaintext", plaintext=True)
        paths.ssh()
        paths.socat()
        for name, target in paths.targets.items():
            print(f"bench: {name} -> {target}", file=sys.stderr)
            r = {}
            procs = paths.pids.get(name, {})
            if name.startswith("hcrelay"):  # first, so RSS growth is not hidden by buffers freed earlier
                before = {k: rss_kib(p) for k, p in paths.pids[name].items()}
                holder = subprocess.Popen([str(BUILD / "hcbench"), "hold", "--target", target, "--connections", str(hold_n),
                                           "--parallel", "64"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                held = json.loads(holder.stdout.readline())
                at_open = {k: rss_kib(p) for k, p in paths.pids[name].items()}
                # Held, after every process has handed what the opening burst freed back to the
                # system (net/memory_trim, every 30 s): what the tunnels themselves cost.
                time.sleep(HOLD_SETTLE_S)
                settled = {k: rss_kib(p) for k, p in paths.pids[name].items()}
                holder.stdin.close()
                holder.wait(30)
                n = max(1, held["open"])
                r["hold"] = {"open": held["open"], "failures": held["failures"],
                             "rss_kib_per_tunnel": {k: round((settled[k] - before[k]) / n, 2) for k in settled},
                             "rss_kib_per_tunnel_at_open": {k: round((at_open[k] - before[k]) / n, 2) for k in at_open}}
            cpu_before = cpu_of(procs)
            r["up_gbit"] = stats([hcbench("throughput", "--target", target, "--bytes", size, "--direction", "up")["gbit_per_s"]
                                  for _ in range(repeat)])
            gib = int(size) * repeat / (1 << 30)
            r["cpu_s_per_gib"] = {k: round((v - cpu_before[k]) / gib, 3) for k, v in cpu_of(procs).items()}
            r["down_gbit"] = stats([hcbench("throughput", "--target", target, "--bytes", size, "--direction", "down")[
                "gbit_per_s"] for _ in range(repeat)])
            r["up8_gbit"] = stats([hcbench("throughput", "--target", target, "--bytes", size, "--streams", "8")["gbit_per_s"]
                                   for _ in range(repeat)])
            # One run of `seq` sequential connections (ssh -R takes ~45 ms each: repeating it would
            # cost minutes); p50/p99 over those.
            lat = [hcbench("latency", "--target", target, "--count", seq)]
            r["connect_p50_ms"] = stats([x["p50_ms"] for x in lat])
            r["connect_p99_ms"] = stats([x["p99_ms"] for x in lat])
            # The same with 5 ms of quiet between connections: the path itself, without the
            # agents' background work (replacing the pre-opened TLS connections each tunnel used).
            spaced = [hcbench("latency", "--target", target, "--count", "200" if quick else "300", "--gap-ms", "5")]
            r["connect_spaced_p50_ms"] = stats([x["p50_ms"] for x in spaced])
            r["connect_spaced_p99_ms"] = stats([x["p99_ms"] for x in spaced])
            r["conn_per_s"] = stats([hcbench("rate", "--target", target, "--seconds", "2" if quick else "5")["per_second"]
                                     for _ in range(repeat)])
            cpu_before = cpu_of(procs)
            redis_requests = 20000 if quick else 30000
            redis_runs = [redis_benchmark(*paths.redis[name], redis_requests) for _ in range(repeat)]
            thousands = 2 * redis_requests * repeat / 1000  # SET and GET
            r["cpu_ms_per_1000_requests"] = {k: round((v - cpu_before[k]) * 1000 / thousands, 1)
                                             for k, v in cpu_of(procs).items()}
            r["redis_set_rps"] = stats([x.get("SET") for x in redis_runs])
            r["redis_get_rps"] = stats([x.get("GET") for x in redis_runs])
            r["pgbench_tps"] = stats([pgbench(*paths.postgres[name], 3 if quick else 10) for _ in range(repeat)])
            results["paths"][name] = r
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)
    results["micro"] = micro()
    write_report(results)


def micro():
    """The Google Benchmark micro-benchmarks (bench/micro*.cpp): CPU time per call."""
    r = subprocess.run([str(BUILD / "hcmicro"), "--benchmark_format=json", "--benchmark_min_time=0.2"],
                       capture_output=True, text=True, timeout=300)
    out = {}
    for b in json.loads(r.stdout).get("benchmarks", []):
        out[b["name"]] = {"cpu_time": round(b["cpu_time"], 3), "unit": b["time_unit"], "label": b.get("label", "")}
    return out


def med(results, path, key):
    v = results["paths"].get(path, {}).get(key)
    return v["median"] if v else None


def write_report(results):
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{results['date'][:10]}-{results['host'].split('.')[0]}" + ("-quick" if results["quick"] else "")
    ratios = {}
    pairs = [("tls_vs_ssh_up", "hcrelay TLS", "ssh -R", "up_gbit"), ("plain_vs_socat_up", "hcrelay plaintext", "socat x3", "up_gbit"),
             ("tls_vs_ssh_conn_rate", "hcrelay TLS", "ssh -R", "conn_per_s"),
             ("tls_vs_ssh_redis_get", "hcrelay TLS", "ssh -R", "redis_get_rps"),
             ("tls_vs_ssh_redis_set", "hcrelay TLS", "ssh -R", "redis_set_rps"),
             ("tls_vs_ssh_pgbench", "hcrelay TLS", "ssh -R", "pgbench_tps")]
    for label, a, b, key in pairs:
        x, y = med(results, a, key), med(results, b, key)
        ratios[label] = round(x / y, 3) if x and y else None
    results["ratios"] = ratios
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"# hcrelay benchmark {results['date']} on {results['host']} ({results['cores']} cores)", "",
             "median (min-max) over runs; every process on this machine.", "",
             "| path | 1 stream up Gbit/s | 1 stream down Gbit/s | 8 streams Gbit/s | connect p50 ms | connect p99 ms | new conn/s | redis SET/s | redis GET/s | pgbench -S tps |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def cell(v, fmt="{:.2f}"):
        return "-" if not v else f"{fmt.format(v['median'])} ({fmt.format(v['min'])}-{fmt.format(v['max'])})"

    for name, r in results["paths"].items():
        lines.append(f"| {name} | {cell(r['up_gbit'])} | {cell(r['down_gbit'])} | {cell(r['up8_gbit'])} | "
                     f"{cell(r['connect_p50_ms'], '{:.3f}')} | {cell(r['connect_p99_ms'], '{:.3f}')} | {cell(r['conn_per_s'], '{:.0f}')} | "
                     f"{cell(r.get('redis_set_rps'), '{:.0f}')} | {cell(r.get('redis_get_rps'), '{:.0f}')} | "
                     f"{cell(r.get('pgbench_tps'), '{:.0f}')} |")
    lines += ["", "New connection with 5 ms between connections (p50 / p99 ms): " +
              ", ".join(f"{n} {cell(r.get('connect_spaced_p50_ms'), '{:.3f}')} / {cell(r.get('connect_spaced_p99_ms'), '{:.3f}')}"
                        for n, r in results["paths"].items())]
    lines += ["", f"Held tunnels (RSS growth per tunnel, KiB, opened 64 at a time, measured {HOLD_SETTLE_S} s later; "
              f"open-file limit {results.get('open_file_limit')}):", ""]
    for name, r in results["paths"].items():
        if "hold" in r:
            h = r["hold"]
            lines.append(f"- {name}: {h['open']} open, {h['failures']} failed; " +
                         ", ".join(f"{k} {v}" for k, v in h["rss_kib_per_tunnel"].items()) +
                         f" (sum {round(sum(h['rss_kib_per_tunnel'].values()), 1)}); right after opening " +
                         ", ".join(f"{k} {v}" for k, v in h.get("rss_kib_per_tunnel_at_open", {}).items()))
    lines += ["", "CPU per process (user + system, with children): seconds per GiB of the one-stream upload; "
              "ms per 1,000 redis-benchmark requests (SET and GET):", ""]
    for name, r in results["paths"].items():
        if r.get("cpu_s_per_gib"):
            lines.append(f"- {name}: per GiB " + ", ".join(f"{k} {v} s" for k, v in r["cpu_s_per_gib"].items()) +
                         f" (sum {round(sum(r['cpu_s_per_gib'].values()), 2)} s); per 1,000 requests " +
                         ", ".join(f"{k} {v} ms" for k, v in r["cpu_ms_per_1000_requests"].items()) +
                         f" (sum {round(sum(r['cpu_ms_per_1000_requests'].values()), 1)} ms)")
    lines += ["", "Ratios (same run, medians): " + ", ".join(f"{k} {v}" for k, v in ratios.items()), ""]
    if results.get("micro"):
        lines += ["Micro-benchmarks (CPU time per call):", ""]
        lines += [f"- {k}: {v['cpu_time']} {v['unit']}" + (f" ({v['label']})" if v["label"] else "")
                  for k, v in results["micro"].items()]
        lines.append("")
    (out / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
