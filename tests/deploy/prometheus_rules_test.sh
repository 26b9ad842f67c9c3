#!/usr/bin/env bash
# tests/deploy/prometheus_rules_test.sh: checks what operators are given for Prometheus and
# Grafana (deploy/prometheus, deploy/grafana) without a running relay. promtool (Debian's
# prometheus package, installed by scripts/setup --test) checks the alerting rules and runs their
# unit tests; the dashboard must be valid JSON whose every panel target has a PromQL `expr` that
# parses. Last it prints, one `metric: NAME` line each, sorted, every metric the rules and the
# dashboard use (histogram suffixes stripped), for the C++ test that checks them against a live
# scrape. Read-only: works in a temporary directory it removes. Exit 0 only when all checks pass.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
alerts="deploy/prometheus/alerts.yml"
alert_tests="deploy/prometheus/alerts_test.yml"
dashboard="deploy/grafana/hcrelay-dashboard.json"
promtool_timeout=60
work="$(mktemp -d /tmp/hcpromtest.XXXXXX)"
trap 'rm -rf "$work"' EXIT

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cd "$root"
command -v promtool >/dev/null ||
  fail "promtool is not installed: run scripts/setup --test (Debian's prometheus package provides /usr/bin/promtool)"
command -v python3 >/dev/null || fail "python3 is not installed: the dashboard checks need it"
step "promtool: $(promtool --version 2>&1 | head -n 1)"

step "promtool check rules $alerts"
timeout "$promtool_timeout" promtool check rules "$alerts" ||
  fail "$alerts does not load in Prometheus (promtool's message above names the rule)"

step "promtool test rules $alert_tests"
timeout "$promtool_timeout" promtool test rules "$alert_tests" ||
  fail "an alert in $alerts does not fire as $alert_tests expects (promtool's diff above: exp is the test, got the rule)"

step "python3 -m json.tool $dashboard"
python3 -m json.tool "$dashboard" >/dev/null || fail "$dashboard is not valid JSON (python's message above)"

# Every panel (those inside collapsed rows too) with targets, every target with an expr. The
# exprs go to a rules file, Grafana's variables replaced, so that promtool parses them; the
# alerts' exprs (an `expr:` line, or the block under `expr: |`) are taken for the metric list.
step "dashboard panels: every target has an expr that parses as PromQL"
python3 - "$dashboard" "$alerts" "$work" <<'PY' || fail "$dashboard: a panel without targets or a target without an expr (named above)"
import json, re, sys

dashboard_path, alerts_path, work = sys.argv[1:4]
dashboard = json.load(open(dashboard_path))

def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))

exprs, missing, panel_count = [], [], 0
for p in all_panels(dashboard.get("panels", [])):
    if p.get("type") == "row":
        continue
    panel_count += 1
    targets = p.get("targets") or []
    if not targets:
        missing.append(f'panel "{p.get("title")}" has no targets')
    for t in targets:
        expr = t.get("expr", "").strip()
        if expr:
            exprs.append(expr)
        else:
            missing.append(f'panel "{p.get("title")}" target {t.get("refId")} has no expr')
for m in missing:
    print(f"  {m}", file=sys.stderr)
if missing or not exprs:
    sys.exit(1)
print(f"  {panel_count} panels, {len(exprs)} targets, each with an expr")

grafana_variables = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
def as_promql(expr):
    for name, value in grafana_variables.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)  # $namespace, ${hybrid_connection}
with open(f"{work}/dashboard_rules.yml", "w") as out:
    out.write("groups:\n  - name: dashboard_exprs\n    rules:\n")
    for i, expr in enumerate(exprs):
        out.write(f"      - record: dashboard:expr_{i}\n        expr: {json.dumps(as_promql(expr))}\n")

alert_exprs, lines = [], open(alerts_path).read().splitlines()
for i, line in enumerate(lines):
    m = re.match(r"^(\s*)expr:\s*(.*)$", line)
    if not m:
        continue
    indent, rest = len(m.group(1)), m.group(2).strip()
    if rest[:1] in ("|", ">"):
        block = []
        for following in lines[i + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            block.append(following.strip())
        alert_exprs.append(" ".join(block))
    else:
        alert_exprs.append(rest)

metric = re.compile(r"\b(?:hcrelay|hcm|hcconnect|process)_[a-z0-9_]+")
names = {re.sub(r"_(bucket|sum|count)$", "", n) for e in alert_exprs + exprs for n in metric.findall(e)}
with open(f"{work}/metrics", "w") as out:
    out.write("".join(f"metric: {n}\n" for n in sorted(names)))
print(f"  {len(alert_exprs)} alert exprs and {len(exprs)} dashboard exprs name {len(names)} metrics")
PY
timeout "$promtool_timeout" promtool check rules "$work/dashboard_rules.yml" >/dev/null ||
  fail "a dashboard expr is not valid PromQL (promtool's message above: dashboard:expr_N is the Nth target)"
echo "  the dashboard's exprs parse (promtool check rules)"

step "metrics the rules and the dashboard use"
cat "$work/metrics"
echo "PASS: $alerts loads and its unit tests pass; $dashboard is valid and every target has a parsing expr"
