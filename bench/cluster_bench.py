#!/usr/bin/env python3
"""bench/cluster_bench: what a relay cluster costs (scripts/bench --cluster). Two hcrelay nodes on
one PostgreSQL catalog and one Redis, hcm on node A in front of the hcbench sink, and two hcconnect:
one on node A (same node: the accept goes straight to the listener) and one on node B (cross node:
the accept goes through Redis to A, the listener dials B). For each: tunnel setup p50/p99 and
tunnels per second, and the Redis commands and PostgreSQL transactions per tunnel (counted by the
servers themselves: INFO commandstats, pg_stat_database), net of what the nodes do at rest
(heartbeats, catalog polls), which is reported per node per second. Also the Redis commands one
listener's arrival costs. Writes bench/results/<date>-cluster.md and .json; docs/scale-out.md
builds its cost model from these figures."""
import argparse, datetime, json, os, pathlib, shutil, socket, subprocess, sys, tempfile, time

import run_bench as rb


def redis_calls(port):
    """Commands the Redis server has executed, by command (INFO commandstats), without INFO itself."""
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "commandstats"], capture_output=True, text=True,
                         check=True).stdout
    calls = {}
    for line in out.splitlines():
        if line.startswith("cmdstat_"):
            name, fields = line[len("cmdstat_"):].split(":", 1)
            calls[name] = int(dict(f.split("=") for f in fields.split(","))["calls"])
    calls.pop("info", None)
    return calls


def pg_transactions(port):
    out = subprocess.run(["runuser", "-u", "postgres", "--", str(rb.PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port),
                          "-U", "postgres", "-tAc",
                          "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'hcrelay'"],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip() or 0)


def delta(after, before):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def counted(fn, redis_port, pg_port):
    """Runs fn(); returns its result, the seconds it took, Redis calls by command and PG transactions."""
    r0, p0, t0 = redis_calls(redis_port), pg_transactions(pg_port), time.time()
    result = fn()
    t1 = time.time()
    return result, t1 - t0, delta(redis_calls(redis_port), r0), pg_transactions(pg_port) - p0


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def psql(port, sql):
    return subprocess.run(["runuser", "-u", "postgres", "--", str(rb.PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port),
                           "-U", "postgres", "-d", "hcrelay", "-tAc", sql], capture_output=True, text=True, check=True).stdout


def catalog_reload(pg_port, pids, size):
    """A catalog of `size` hybrid connections (two rules each) written behind the nodes' backs, then the
    revision raised `times` times: the CPU each node spends per reload (every node reloads the whole
    catalog on every change) and the time PostgreSQL takes to read it."""
    psql(pg_port, "INSERT INTO hybrid_connections(namespace_name, name, requires_client_authorization, user_metadata, "
                  f"created_at, updated_at) SELECT 'localhost', 'bench' || g, true, '', 'x', 'x' FROM generate_series(1, {size}) g")
    psql(pg_port, "INSERT INTO rules(namespace_name, entity, name, rights, primary_key, secondary_key) SELECT 'localhost', "
                  f"'bench' || g, r, 2, md5(g || r), md5(r || g) FROM generate_series(1, {size}) g, "
                  "(VALUES ('defaultListener'), ('defaultSender')) v(r)")
    psql(pg_port, "UPDATE catalog_revision SET value = value + 1")
    time.sleep(3)  # the first reload also builds every object
    times = 5
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    for _ in range(times):
        psql(pg_port, "UPDATE catalog_revision SET value = value + 1")
        time.sleep(1.5)
    after = {k: cpu_seconds(p) for k, p in pids.items()}
    t0 = time.time()
    psql(pg_port, "SELECT count(*) FROM (SELECT * FROM hybrid_connections) h; SELECT count(*) FROM (SELECT * FROM rules) r")
    read_ms = (time.time() - t0) * 1000
    idle = 1.5 * times * 0.01  # the nodes' own polls and heartbeats meanwhile: ~1 % of a core, measured at rest
    return {"hybrid_connections": size, "node_cpu_ms_per_reload": {k: round((after[k] - before[k] - idle) / times * 1000, 1)
                                                                  for k in after},
            "postgres_read_ms": round(read_ms, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer tunnels (under a minute)")
    args = ap.parse_args()
    count = 300 if args.quick else 2000
    work = pathlib.Path(tempfile.mkdtemp(prefix="hccluster-bench-"))
    results = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "host": socket.gethostname(),
               "quick": args.quick, "cores": os.cpu_count(), "tunnels_per_run": count, "paths": {}}
    try:
        pg_port = rb.start_postgres(work / "pgdata", quick=True)
        subprocess.run(["runuser", "-u", "postgres", "--", str(rb.PG_BIN / "createdb"), "-h", "127.0.0.1", "-p",
                        str(pg_port), "-U", "postgres", "hcrelay"], check=True)
        redis_port = rb.free_port()
        rb.start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                 work / "redis.log")
        sink_port = rb.free_port()
        rb.start([str(rb.BUILD / "hcbench"), "sink", "--listen", f"127.0.0.1:{sink_port}"], work / "sink.log")
        rb.wait_port(redis_port)
        rb.wait_port(sink_port)

        ports = {"a": rb.free_port(), "b": rb.free_port()}
        pids = {}
        for name, port in ports.items():
            data = work / name
            if name != "a":  # one development CA for the cluster
                (data / "tls").mkdir(parents=True)
                for f in ("ca.pem", "ca.key"):
                    shutil.copy(work / "a" / "tls" / f, data / "tls" / f)
            pids[name] = rb.start([str(rb.BUILD / "hcrelay"), "--data-dir", str(data), "--listen", f"127.0.0.1:{port}", "--dev-tls",
                      "--max-connections-per-source", "100000", "--store",
                      f"postgres://postgres@127.0.0.1:{pg_port}/hcrelay", "--cluster", f"redis://127.0.0.1:{redis_port}"],
                     work / f"{name}.log")
            rb.wait_file(data / "root.connection-string")
        pids = {k: p.pid for k, p in pids.items()}
        env = dict(os.environ, HCRELAY_CA_FILE=str(work / "a" / "tls" / "ca.pem"),
                   HCRELAY_CONNECTION_STRING=open(work / "a" / "root.connection-string").read().strip())

        def run(cmd):
            return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.strip()

        ctl = str(rb.BUILD / "hcctl")
        run([ctl, "hc", "create", "sink", "--endpoint", f"localhost:{sink_port}"])
        listen_cs = run([ctl, "hc", "connection-string", "sink", "--rule", "defaultListener"])
        send_cs = run([ctl, "hc", "connection-string", "sink", "--rule", "defaultSender"])
        time.sleep(1)  # node b learns of the hybrid connection (catalog poll)

        _, seconds, rest_redis, rest_pg = counted(lambda: time.sleep(5), redis_port, pg_port)
        results["at_rest_per_node_per_s"] = {"redis": round(sum(rest_redis.values()) / seconds / 2, 2),
                                             "redis_by_command": {k: round(v / seconds / 2, 2) for k, v in rest_redis.items()},
                                             "postgres_transactions": round(rest_pg / seconds / 2, 2)}

        hcm_dir = work / "hcm"
        run([str(rb.BUILD / "hcm"), "--config-dir", str(hcm_dir), "add", listen_cs])
        rest_rate = sum(rest_redis.values()) / seconds

        def start_hcm():
            rb.start([str(rb.BUILD / "hcm"), "--config-dir", str(hcm_dir), "run"], work / "hcm.log", env=env)
            time.sleep(3)

        _, joined_s, joined_redis, _ = counted(start_hcm, redis_port, pg_port)
        results["listener_arrival"] = {"redis_by_command": joined_redis,
                                       "redis_net_of_rest": round(sum(joined_redis.values()) - rest_rate * joined_s, 1)}

        targets = {}
        for label, node in (("same node", "a"), ("cross node", "b")):
            cs = send_cs.replace(f":{ports['a']}/", f":{ports[node]}/")
            hcc_dir = work / f"hcconnect-{node}"
            run([str(rb.BUILD / "hcconnect"), "--config-dir", str(hcc_dir), "add", cs, "--endpoint",
                 f"sink.{node}.bench.internal:{sink_port}"])
            listed = json.loads(run([str(rb.BUILD / "hcconnect"), "--config-dir", str(hcc_dir), "list", "-o", "json"]))
            rb.start([str(rb.BUILD / "hcconnect"), "--config-dir", str(hcc_dir), "run-service"], work / f"hcc-{node}.log",
                     env=env)
            targets[label] = f"{listed[0]['loopbackAddress']}:{sink_port}"
            rb.wait_port(sink_port, listed[0]["loopbackAddress"])
        for label, target in targets.items():
            deadline = time.time() + 30
            while time.time() < deadline:
                if rb.hcbench("latency", "--target", target, "--count", "1").get("failures") == 0:
                    break
                time.sleep(0.2)
            print(f"cluster bench: {label} -> {target}", file=sys.stderr)
            lat, lat_s, lat_redis, lat_pg = counted(
                lambda: rb.hcbench("latency", "--target", target, "--count", str(count)), redis_port, pg_port)
            rate = rb.hcbench("rate", "--target", target, "--seconds", "3" if args.quick else "5")
            tunnels = count - lat.get("failures", 0)
            results["paths"][label] = {
                "connect_p50_ms": lat.get("p50_ms"), "connect_p99_ms": lat.get("p99_ms"),
                "failures": lat.get("failures"), "tunnels_per_s": rate.get("per_second"),
                "redis_per_tunnel": round((sum(lat_redis.values()) - rest_rate * lat_s) / max(1, tunnels), 2),
                "redis_by_command_per_tunnel": {k: round(v / max(1, tunnels), 2) for k, v in lat_redis.items()},
                "postgres_per_tunnel": round((lat_pg - rest_pg / seconds * lat_s) / max(1, tunnels), 3)}
        results["catalog_reload"] = catalog_reload(pg_port, pids, 2000 if args.quick else 10000)
    finally:
        rb.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    write_report(results)


def write_report(results):
    out = rb.ROOT / "bench" / "results"
    stem = f"{results['date'][:10]}-cluster{'-quick' if results['quick'] else ''}"
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    rest = results["at_rest_per_node_per_s"]
    lines = [f"# Cluster bench {results['date']} ({results['cores']} cores, {results['tunnels_per_run']} tunnels a run)",
             "", "Two nodes, one PostgreSQL, one Redis, everything on this machine. Per-tunnel figures are net of",
             "what the nodes do at rest.", "",
             "| sender | setup p50 ms | setup p99 ms | tunnels/s | Redis cmds/tunnel | PostgreSQL xacts/tunnel |",
             "|---|---|---|---|---|---|"]
    for label, r in results["paths"].items():
        lines.append(f"| {label} | {r['connect_p50_ms']} | {r['connect_p99_ms']} | {r['tunnels_per_s']} | "
                     f"{r['redis_per_tunnel']} | {r['postgres_per_tunnel']} |")
    lines += ["", f"At rest, per node per second: {rest['redis']} Redis commands ({rest['redis_by_command']}), "
              f"{rest['postgres_transactions']} PostgreSQL transactions.",
              f"One hcm arriving (its listeners joining): {results['listener_arrival']['redis_net_of_rest']} Redis commands "
              f"net of rest ({results['listener_arrival']['redis_by_command']} in all)."]
    for label, r in results["paths"].items():
        lines.append(f"Redis commands per tunnel, {label}: {r['redis_by_command_per_tunnel']}.")
    reload = results["catalog_reload"]
    lines.append(f"A catalog change with {reload['hybrid_connections']} hybrid connections: each node reloads it in "
                 f"{reload['node_cpu_ms_per_reload']} ms of CPU; PostgreSQL reads it in {reload['postgres_read_ms']} ms "
                 "(psql, with the client's start-up).")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
