#!/usr/bin/env python3
"""bench/soak: the soak of scripts/soak. 1,000 concurrent checksummed bidirectional streams
(bench/hcsoak.cpp: app -> hcconnect -> hcrelay (TLS) -> hcm -> echo sink) for MINUTES minutes,
with two hcm on the hybrid connection, one of them killed (-9) and restarted every minute, and one
relay restart (SIGTERM, same data dir and port) in the middle. Writes
bench/results/soak-<date>-<N>min.md and .json: bytes moved, streams completed, streams failed (each
one matched to a fault), truncated and corrupted streams/bytes (must be 0), and RSS and open fds of
every process after a warm-up and near the end, and open fds idle before and after the load (no
growth beyond 5%). Exit status 1 when any of that fails. Every process it starts is on loopback and
stopped at the end (also on failure)."""
import argparse, datetime, json, os, pathlib, signal, socket, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("HC_BUILD_DIR", ROOT / "build"))
PROCS = []
GROWTH_LIMIT = 0.05
WARMUP = 25.0  # seconds after a process starts before its figures count
MIN_SPAN = 10.0  # growth is checked over at least this long
SAMPLE_EVERY = 5.0
FAULT_WINDOW = (-1.0, 40.0)  # a failure this close to a fault (seconds before, after) is the fault's


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, log, env=None):
    p = subprocess.Popen(cmd, stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    PROCS.append(p)
    return p


def stop(p, grace=10):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(grace)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def stop_all():
    for p in reversed(PROCS):
        stop(p, 5)
    PROCS.clear()


def wait_for(check, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} after {seconds} s")


def port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), 0.5).close()
        return True
    except OSError:
        return False


AGENT_HTTP2_CONNECTIONS = 2  # hcm and hcconnect's --http2-connections default


def pooled_fds(name, args):
    """Descriptors a process may hold idle beyond its count before the load: the HTTP/2
    connections the agents keep pooled (a second one opens under load and stays), and their far
    ends in the relay (two hcm and hcconnect)."""
    if args.no_http2:
        return 0
    if name == "hcrelay":
        return 3 * AGENT_HTTP2_CONNECTIONS
    return AGENT_HTTP2_CONNECTIONS if name.startswith(("hcm", "hcconnect")) else 0


def proc_figures(pid):
    """RSS in KiB and open fds of a live process (None when it is gone)."""
    try:
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:"))
        return {"pid": pid, "rss_kib": rss, "fds": len(os.listdir(f"/proc/{pid}/fd"))}
    except (OSError, StopIteration):
        return None


class System:
    def __init__(self, work, http2=True):
        self.work = pathlib.Path(work)
        self.http2 = http2
        self.relay_port, self.sink_port = free_port(), free_port()
        self.relay_dir = self.work / "relay"
        self.env = dict(os.environ)
        self.procs = {}
        self.faults = []  # (seconds since the load started, what)

    def log(self, name):
        return self.work / f"{name}.log"

    def start_relay(self):
        self.procs["hcrelay"] = start([str(BUILD / "hcrelay"), "--data-dir", str(self.relay_dir), "--listen",
                                       f"127.0.0.1:{self.relay_port}", "--dev-tls"] + ([] if self.http2 else ["--no-http2"]),
                                      self.log("hcrelay"))
        wait_for(lambda: port_open(self.relay_port), 20, "hcrelay does not listen")

    def start_hcm(self, i):
        self.procs[f"hcm{i}"] = start([str(BUILD / "hcm"), "--config-dir", str(self.work / f"hcm{i}"), "run",
                                       "--ui-port", "0"], self.log(f"hcm{i}"), env=self.env)

    def start_hcconnect(self):
        self.procs["hcconnect"] = start([str(BUILD / "hcconnect"), "--config-dir", str(self.work / "hcconnect"),
                                         "run-service"], self.log("hcconnect"), env=self.env)
        wait_for(lambda: port_open(self.sink_port, self.address), 20, "hcconnect does not listen")

    def setup(self):
        self.procs["sink"] = start([str(BUILD / "hcsoak"), "sink", "--listen", f"127.0.0.1:{self.sink_port}", "--stats",
                                    str(self.work / "sink.json")], self.log("sink"))
        wait_for(lambda: port_open(self.sink_port), 10, "hcsoak sink does not listen")
        self.start_relay()
        wait_for(lambda: (self.relay_dir / "root.connection-string").exists(), 20, "no root.connection-string")
        self.env["HCRELAY_CA_FILE"] = str(self.relay_dir / "tls" / "ca.pem")
        self.env["HCRELAY_CONNECTION_STRING"] = (self.relay_dir / "root.connection-string").read_text().strip()

        def run(*cmd):
            return subprocess.run([str(c) for c in cmd], env=self.env, check=True, capture_output=True,
                                  text=True).stdout.strip()

        # hcm dials localhost:PORT; the app reaches the endpoint by a name only hcconnect knows.
        run(BUILD / "hcctl", "hc", "create", "soak", "--endpoint", f"localhost:{self.sink_port}")
        listen_cs = run(BUILD / "hcctl", "hc", "connection-string", "soak", "--rule", "defaultListener")
        send_cs = run(BUILD / "hcctl", "hc", "connection-string", "soak", "--rule", "defaultSender")
        for i in range(2):
            run(BUILD / "hcm", "--config-dir", self.work / f"hcm{i}", "add", listen_cs)
            self.start_hcm(i)
        run(BUILD / "hcconnect", "--config-dir", self.work / "hcconnect", "add", send_cs, "--endpoint",
            f"soak.bench.internal:{self.sink_port}")
        listed = json.loads(run(BUILD / "hcconnect", "--config-dir", self.work / "hcconnect", "list", "-o", "json"))
        self.address = listed[0]["loopbackAddress"]
        self.start_hcconnect()
        wait_for(self.both_hcm_listening, 30, "the two hcm are not both connected")

    def both_hcm_listening(self):
        r = subprocess.run([str(BUILD / "hcctl"), "-o", "json", "hc", "show", "soak"], env=self.env, capture_output=True,
                           text=True)
        try:
            return json.loads(r.stdout).get("listenerCount") == 2
        except ValueError:
            return False

    def figures(self):
        return {name: proc_figures(p.pid) for name, p in self.procs.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("minutes", nargs="?", type=float, default=10)
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--kbps", type=float, default=24, help="each stream's sending pace, KiB/s")
    ap.add_argument("--max-kib", type=int, default=384, help="stream sizes are uniform in 1 B .. this")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    ap.add_argument("--no-http2", action="store_true",
                    help="the relay offers HTTP/1.1 only (as Azure Relay): one TLS connection per tunnel leg")
    args = ap.parse_args()
    duration = args.minutes * 60
    hcm_kills = [20 + 60 * i for i in range(max(1, int(args.minutes)))]
    relay_restart = duration / 2 + 10
    seed = int.from_bytes(os.urandom(4), "little")
    date = datetime.datetime.now(datetime.timezone.utc)
    results = {"date": date.strftime("%Y-%m-%dT%H:%M:%SZ"), "host": socket.gethostname(), "cores": os.cpu_count(),
               "minutes": args.minutes, "streams": args.streams, "kbps_per_stream": args.kbps, "max_kib": args.max_kib,
               "seed": seed, "http2": not args.no_http2}
    work = tempfile.mkdtemp(prefix="hcsoak-")
    print(f"soak: {args.streams} streams for {args.minutes:g} min, seed {seed}, work dir {work}", file=sys.stderr)
    try:
        system = System(work, http2=not args.no_http2)
        system.setup()
        idle_start = system.figures()  # all connected, no traffic yet
        report_path = pathlib.Path(work) / "load.json"
        load = start([str(BUILD / "hcsoak"), "load", "--target", f"{system.address}:{system.sink_port}", "--streams",
                      str(args.streams), "--seconds", str(duration), "--min-bytes", "1", "--max-bytes",
                      str(args.max_kib * 1024), "--kbps", str(args.kbps), "--seed", str(seed), "--stall-seconds", "60", "--ramp-seconds", "5",
                      "--report", str(report_path)], system.log("load"))
        system.procs["load"] = load
        t0 = time.time()
        events = sorted([(t, "hcm") for t in hcm_kills if t < duration - 10] + [(relay_restart, "relay")])
        samples = {}  # process name -> [(seconds, figures)], every SAMPLE_EVERY s
        kills, next_sample = 0, 0.0
        while time.time() - t0 < duration - 2:
            now = round(time.time() - t0, 2)
            if events and now >= events[0][0]:
                _, what = events.pop(0)
                if what == "hcm":
                    name = f"hcm{kills % 2}"
                    kills += 1
                    os.kill(system.procs[name].pid, signal.SIGKILL)
                    system.procs[name].wait()
                    system.faults.append((now, f"kill -9 {name}"))
                    print(f"soak: {now:7.1f} s kill -9 {name}, restart", file=sys.stderr)
                    time.sleep(1)
                    system.start_hcm(int(name[-1]))
                else:
                    stop(system.procs["hcrelay"], 10)
                    system.faults.append((now, "relay restart (SIGTERM)"))
                    print(f"soak: {now:7.1f} s relay restart", file=sys.stderr)
                    system.start_relay()
            if now >= next_sample:
                for name, f in system.figures().items():
                    if f:
                        samples.setdefault(name, []).append((now, f))
                next_sample = now + SAMPLE_EVERY
            time.sleep(0.2)
        for name, f in system.figures().items():
            if f:
                samples.setdefault(name, []).append((round(time.time() - t0, 2), f))
        load.wait(duration + 120)
        time.sleep(3)  # the last streams' ends reach every process
        idle_end = system.figures()
        load_report = json.loads(report_path.read_text())
        sink = json.loads((pathlib.Path(work) / "sink.json").read_text())
        results["load"] = {k: v for k, v in load_report.items() if k != "failure_times"}
        results["sink"] = sink
        results["faults"] = [{"at_s": t, "what": w} for t, w in system.faults]
        unexplained = [t for t in load_report["failure_times"]
                       if not any(f + FAULT_WINDOW[0] <= t <= f + FAULT_WINDOW[1] for f, _ in system.faults)]
        results["failures_unexplained"] = len(unexplained)
        results["failures_unexplained_times"] = unexplained[:50]
        # Growth: each process's last incarnation, from WARMUP s after it was first seen (the run's
        # start or its restart) to the end, when that leaves at least MIN_SPAN s between the two.
        results["processes"] = {}
        growth_ok = True
        for name, series in samples.items():
            pid = series[-1][1]["pid"]
            mine = [(t, f) for t, f in series if f["pid"] == pid]
            born = mine[0][0]
            # The reconnect storm of the relay restart sets the allocators' high-water mark: when the
            # run is long enough, figures count from WARMUP s after it.
            storm_over = relay_restart + WARMUP if relay_restart + WARMUP + MIN_SPAN <= duration - 2 else 0
            # An hcm carries the streams of its twin once that one is killed, so its RSS follows the
            # fault schedule: its window starts WARMUP s after the last fault that leaves a window.
            if name.startswith("hcm"):
                shifts = [f for f, _ in system.faults if f + WARMUP + MIN_SPAN <= duration - 2]
                storm_over = max([storm_over, *(f + WARMUP for f in shifts)])
            settled = [(t, f) for t, f in mine if t >= max(born + WARMUP, storm_over)]
            if not storm_over and born < relay_restart:  # a short run: the window closes before the storm
                settled = [(t, f) for t, f in settled if t < relay_restart]
            entry = {"restarted": len(mine) != len(series), "first_seen_s": born}
            # Open fds follow the live streams, so they are compared idle: before the load began
            # and once it drained (a restarted process is the same program with the same config).
            a0, b0 = idle_start.get(name), idle_end.get(name)
            if a0 and b0 and name != "load":
                entry.update(idle_fds_start=a0["fds"], idle_fds_end=b0["fds"],
                             idle_fd_growth=round(b0["fds"] / a0["fds"] - 1, 4))
                if entry["idle_fd_growth"] > GROWTH_LIMIT and b0["fds"] - a0["fds"] > pooled_fds(name, args):
                    growth_ok = False
            if not settled or settled[-1][0] - settled[0][0] < MIN_SPAN:
                entry.update(start=mine[0][1], end=mine[-1][1], checked=False,
                             note=f"lived under {WARMUP + MIN_SPAN:.0f} s after its last (re)start")
            else:
                (ta, a), (tb, b) = settled[0], settled[-1]
                entry.update(start=a, end=b, start_s=ta, end_s=tb,
                             rss_growth=round(b["rss_kib"] / a["rss_kib"] - 1, 4),
                             fd_growth=round(b["fds"] / a["fds"] - 1, 4), checked=name != "load")
                if not entry["checked"]:
                    entry["note"] = "the load tool"
                elif entry["rss_growth"] > GROWTH_LIMIT:
                    growth_ok = False
            results["processes"][name] = entry
        lr = load_report
        results["verdict"] = {
            "no_truncation": lr["truncated"] == 0 and sink["truncated"] == 0,
            "no_corruption": lr["corrupt_bytes"] == 0 and sink["corrupt_bytes"] == 0,
            "no_stall": lr["stalled"] == 0,
            "failures_only_at_faults": not unexplained,
            "no_growth": growth_ok,
        }
        results["ok"] = all(results["verdict"].values())
    finally:
        stop_all()
        if not args.keep and results.get("ok"):
            subprocess.run(["rm", "-rf", work])
        else:
            print(f"soak: logs kept in {work}", file=sys.stderr)
    write_report(results)
    return 0 if results["ok"] else 1


def write_report(r):
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"soak-{r['date'][:10]}-{r['minutes']:g}min" + ("" if r["http2"] else "-http1")
    (out / f"{stem}.json").write_text(json.dumps(r, indent=2) + "\n")
    lr, sk = r["load"], r["sink"]
    mb = lambda b: f"{b / 1e6:,.1f} MB"
    lines = [f"# hcrelay soak {r['date']} on {r['host']} ({r['cores']} cores): {'PASS' if r['ok'] else 'FAIL'}", "",
             f"{r['streams']} concurrent checksummed bidirectional streams (app -> hcconnect -> hcrelay TLS -> hcm x2 -> "
             f"echo sink; legs {'HTTP/2 streams' if r['http2'] else 'HTTP/1.1, one TLS connection each (--no-http2)'}) for {r['minutes']:g} min, each paced at {r['kbps_per_stream']:g} KiB/s, sizes 1 B..{r['max_kib']} KiB, "
             f"seed {r['seed']}.", "",
             "| figure | value |", "|---|---|",
             f"| bytes moved (app -> endpoint + endpoint -> app) | {mb(lr['bytes_sent'] + lr['bytes_received'])} |",
             f"| streams started | {lr['started']:,} |",
             f"| streams completed intact | {lr['complete']:,} |",
             f"| streams failed at setup (path down) | {lr['failed_setup']:,} |",
             f"| streams cut with an error mid-stream | {lr['failed_cut']:,} |",
             f"| failures not within {FAULT_WINDOW[1]:g} s of a fault | {r['failures_unexplained']} |",
             f"| truncated (clean EOF early) at app / at endpoint | {lr['truncated']} / {sk['truncated']} |",
             f"| corrupted bytes at app / at endpoint | {lr['corrupt_bytes']} / {sk['corrupt_bytes']} |",
             f"| stalled streams | {lr['stalled']} |", "",
             "Faults: " + "; ".join(f"{f['at_s']:.0f} s {f['what']}" for f in r["faults"]), "",
             "RSS under load: after a warm-up (and after the relay restart's reconnect storm when the run is long "
             "enough) and near the end; checked (<= 5%) for each process's last incarnation. Open fds follow the live "
             "streams, so they are also compared idle, before the load and after it drained (checked, <= 5% beyond the "
             "HTTP/2 connections the agents keep pooled: 2 per agent, their far ends in the relay).", "",
             "| process | RSS start KiB | RSS end KiB | growth | fds start | fds end | growth | idle fds before / after |",
             "|---|---|---|---|---|---|---|---|"]
    for name, e in r["processes"].items():
        a, b = e["start"] or {}, e["end"] or {}
        g = lambda k: f"{e[k] * 100:+.1f}%" if k in e else "-"
        span = f" ({e['start_s']:.0f}-{e['end_s']:.0f} s)" if "start_s" in e else ""
        note = "" if e.get("checked") else f" (not checked: {e.get('note')})"
        lines.append(f"| {name}{span}{note} | {a.get('rss_kib', '-')} | {b.get('rss_kib', '-')} | {g('rss_growth')} | "
                     f"{a.get('fds', '-')} | {b.get('fds', '-')} | {g('fd_growth')} | "
                     f"{e.get('idle_fds_start', '-')} / {e.get('idle_fds_end', '-')} {g('idle_fd_growth')} |")
    lines += ["", "Verdict: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in r["verdict"].items()), ""]
    (out / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
