#!/usr/bin/env bash
# tests/package/package_test.sh BUILD_DIR: the Debian packages as an operator meets them. Builds
# them (cpack), checks their contents, maintainer scripts and unit files (systemd-analyze verify),
# installs them on this machine, runs each service the way its unit does (the unit's User,
# AmbientCapabilities, UMask and ExecStart, through setpriv: systemd is not PID 1 here), carries a
# real request app -> hcconnect -> hcrelay -> hcm -> service through them, upgrades one in place,
# then purges them and checks that nothing is left but the system users Debian's policy keeps.
# Registered with RUN_SERIAL: while it runs, /etc/hcrelay/hcrelay.conf exists, which every
# hcrelay on this host would read.
set -euo pipefail
build="$(cd "$1" && pwd)"
packages=(hcconnect hcm hcctl hcrelay)
services=(hcrelay hcm hcconnect)
work="$(mktemp -d /tmp/hcpkg.XXXXXX)"
pids=()
installed_by_us=0

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.log; do [[ -f "$log" ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }; done
  exit 1
}
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((installed_by_us)); then dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
    fail "package $p is installed on this machine already; this test installs and purges its own (remove it first)"
  fi
done

# A unit's setting (the last one given).
unit_value() { sed -n "s/^$2=//p" "/usr/lib/systemd/system/$1.service" | tail -n 1; }

# Runs service $1 in the background as its unit would (User, AmbientCapabilities, UMask,
# NoNewPrivileges, ExecStart, WorkingDirectory /), with the extra VAR=VALUE words given; its
# stdout and stderr in $work/$1.log; its pid in $! and in pids.
run_as_unit() {
  local unit="$1"
  shift
  local user caps umask_value
  user="$(unit_value "$unit" User)"
  caps="$(unit_value "$unit" AmbientCapabilities | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')"
  umask_value="$(unit_value "$unit" UMask)"
  [[ "$(unit_value "$unit" NoNewPrivileges)" == yes ]] || fail "$unit: NoNewPrivileges is not yes"
  local setpriv_args=(--reuid="$user" --regid="$user" --init-groups --no-new-privs)
  if [[ -n "$caps" ]]; then
    setpriv_args+=(--inh-caps="$caps" --ambient-caps="$caps" --bounding-set="-all,$caps")
  else
    setpriv_args+=(--inh-caps=-all --bounding-set=-all)
  fi
  # shellcheck disable=SC2046 # ExecStart is words, as systemd splits it here (no quoting in ours)
  (cd / && umask "$umask_value" && exec env -i PATH=/usr/bin:/bin "$@" setpriv "${setpriv_args[@]}" -- \
    $(unit_value "$unit" ExecStart)) >"$work/$unit.log" 2>&1 &
  pids+=("$!")
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds="$1" what="$2"
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail "$what: not within $seconds s"
}

free_port() {  # free_port FROM TO: a TCP port nobody listens on
  for ((p = $1; p <= $2; p++)); do
    [[ -z "$(ss -Htln "sport = :$p")" ]] && { echo "$p"; return 0; }
  done
  fail "no free port in $1..$2"
}

step "build the packages (cpack)"
(cd "$build" && cpack -G DEB -B "$work/debs" >"$work/cpack.log" 2>&1) || fail "cpack failed"
deb() { ls "$work/debs/$1"_*_*.deb; }

step "contents: files, modes, owners"
expect_contents() {  # PACKAGE "MODE OWNER PATH" lines, files only
  local got
  got="$(dpkg-deb -c "$(deb "$1")" | awk '$1 !~ /^d/ {print $1, $2, $6}' | sort)"
  [[ "$got" == "$(sort <<<"$2")" ]] || fail "$1 holds:
$got
expected:
$2"
}
expect_contents hcrelay "-rw-r--r-- root/root ./etc/hcrelay/hcrelay.conf
-rwxr-xr-x root/root ./usr/bin/hcrelay
-rw-r--r-- root/root ./usr/lib/systemd/system/hcrelay.service"
expect_contents hcctl "-rwxr-xr-x root/root ./usr/bin/hcctl"
expect_contents hcm "-rwxr-xr-x root/root ./usr/bin/hcm
-rw-r--r-- root/root ./usr/lib/systemd/system/hcm.service"
expect_contents hcconnect "-rwxr-xr-x root/root ./usr/bin/hcconnect
-rw-r--r-- root/root ./usr/lib/hcconnect/libhcintercept.so
-rw-r--r-- root/root ./usr/lib/systemd/system/hcconnect.service"
for s in "${services[@]}"; do
  dpkg-deb -f "$(deb "$s")" Depends | grep -qw adduser || fail "$s does not depend on adduser"
  for script in postinst prerm postrm; do
    dpkg-deb -I "$(deb "$s")" "$script" | head -n 1 | grep -qx '#!/bin/sh' || fail "$s has no $script"
  done
done
[[ "$(dpkg-deb -I "$(deb hcrelay)" conffiles)" == /etc/hcrelay/hcrelay.conf ]] || fail "hcrelay.conf is not a conffile"
[[ -z "$(dpkg-deb -I "$(deb hcctl)" postinst 2>/dev/null)" ]] || fail "hcctl has maintainer scripts"

step "install"
installed_by_us=1
dpkg -i "$work"/debs/*.deb >"$work/dpkg-install.log" 2>&1 || fail "dpkg -i failed"
for p in "${packages[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p")" == "install ok installed" ]] || fail "$p not installed"
done
/usr/bin/hcrelay --version | grep -q '^hcrelay 0\.' || fail "hcrelay --version"

step "units: systemd-analyze verify and the hardening every one must have"
verify_out="$(systemd-analyze verify /usr/lib/systemd/system/{hcrelay,hcm,hcconnect}.service 2>&1)" ||
  fail "systemd-analyze verify: $verify_out"
[[ -z "$verify_out" ]] || fail "systemd-analyze verify warns: $verify_out"
for s in "${services[@]}"; do
  [[ "$(unit_value "$s" User)" == "$s" ]] || fail "$s.service does not run as user $s"
  for setting in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes Restart=on-failure \
    "StateDirectory=$s" "ConfigurationDirectory=$s"; do
    grep -qx "$setting" "/usr/lib/systemd/system/$s.service" || fail "$s.service lacks $setting"
  done
done
[[ "$(unit_value hcrelay AmbientCapabilities)" == CAP_NET_BIND_SERVICE ]] || fail "hcrelay: no CAP_NET_BIND_SERVICE"
for s in hcm hcconnect; do
  [[ -z "$(unit_value "$s" AmbientCapabilities)" ]] || fail "$s.service has ambient capabilities"
done
[[ "$(unit_value hcrelay ExecReload)" == '/bin/kill -HUP $MAINPID' ]] || fail "hcrelay.service has no ExecReload"

step "users and directories"
for s in "${services[@]}"; do
  IFS=: read -r _ _ uid _ _ home shell <<<"$(getent passwd "$s")" || fail "no user $s"
  ((uid < 1000)) || fail "user $s is not a system user (uid $uid)"
  [[ "$home" == "/var/lib/$s" && "$shell" == /usr/sbin/nologin ]] || fail "user $s: home $home, shell $shell"
  [[ "$(stat -c '%U %G %a' "/var/lib/$s")" == "$s $s 700" ]] || fail "/var/lib/$s: $(stat -c '%U %G %a' "/var/lib/$s")"
done
[[ "$(stat -c '%U %G %a' /etc/hcrelay)" == "root hcrelay 755" ]] || fail "/etc/hcrelay: $(stat -c '%U %G %a' /etc/hcrelay)"
for s in hcm hcconnect; do
  [[ "$(stat -c '%U %G %a' "/etc/$s")" == "$s $s 700" ]] || fail "/etc/$s: $(stat -c '%U %G %a' "/etc/$s")"
done

step "hcrelay as user hcrelay on a port below 1024: only with the unit's capability"
relay_port="$(free_port 700 1023)"
(cd / && exec env -i PATH=/usr/bin:/bin HCRELAY_LISTEN="127.0.0.1:$relay_port" timeout 20 \
  setpriv --reuid=hcrelay --regid=hcrelay --init-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- \
  /usr/bin/hcrelay --config /etc/hcrelay/hcrelay.conf) >"$work/relay-without-capability.log" 2>&1 &&
  fail "hcrelay bound port $relay_port without CAP_NET_BIND_SERVICE"
grep -q "Permission denied" "$work/relay-without-capability.log" || fail "no 'Permission denied' without the capability"
run_as_unit hcrelay HCRELAY_LISTEN="127.0.0.1:$relay_port"
relay_pid=$!
wait_for 30 "hcrelay wrote root.connection-string" test -s /var/lib/hcrelay/root.connection-string
[[ "$(ps -o user= -p "$relay_pid")" == hcrelay ]] || fail "hcrelay runs as $(ps -o user= -p "$relay_pid")"
[[ "$(stat -c '%U %a' /var/lib/hcrelay/root.connection-string)" == "hcrelay 600" ]] ||
  fail "root.connection-string: $(stat -c '%U %a' /var/lib/hcrelay/root.connection-string)"

step "hcctl (root, the connection string hcrelay wrote) creates a hybrid connection"
mkdir -p "$work/www"
echo "through the packages" >"$work/www/hello.txt"
service_port="$(free_port 20000 30000)"
python3 -m http.server "$service_port" --bind 127.0.0.1 --directory "$work/www" >"$work/http.log" 2>&1 &
pids+=("$!")
export HCRELAY_CONNECTION_STRING="$(cat /var/lib/hcrelay/root.connection-string)"
export HCRELAY_CA_FILE=/var/lib/hcrelay/tls/ca.pem
hcctl hc create db --endpoint "localhost:$service_port" >"$work/hcctl.log" 2>&1 || fail "hcctl hc create"
listener_string="$(hcctl hc connection-string db --rule defaultListener)"
sender_string="$(hcctl hc connection-string db --rule defaultSender)"

step "hcm: root adds the connection, the service (user hcm) carries it"
install -m 0644 /var/lib/hcrelay/tls/ca.pem /etc/hcm/relay-ca.pem
hcm add "$listener_string" >"$work/hcm-add.log" 2>&1 || fail "hcm add: $(cat "$work/hcm-add.log")"
[[ "$(stat -c '%U %a' /etc/hcm/connections.json)" == "hcm 600" ]] ||
  fail "/etc/hcm/connections.json: $(stat -c '%U %a' /etc/hcm/connections.json)"
run_as_unit hcm HCRELAY_CA_FILE=/etc/hcm/relay-ca.pem
hcm_pid=$!
wait_for 30 "hcm shows db Connected" sh -c 'hcm show localhost db -o json | grep -q "\"Status\":\"Connected\""'
[[ "$(ps -o user= -p "$hcm_pid")" == hcm ]] || fail "hcm runs as $(ps -o user= -p "$hcm_pid")"
for f in status.json instance-id; do
  [[ "$(stat -c '%U %a' "/var/lib/hcm/$f")" == "hcm 600" ]] || fail "/var/lib/hcm/$f: $(stat -c '%U %a' "/var/lib/hcm/$f")"
done
[[ ! -e /etc/hcm/status.json && ! -e /etc/hcm/instance-id ]] || fail "hcm wrote its state to /etc/hcm"

step "hcconnect: root adds the connection, the daemon (user hcconnect) serves it, an app reaches the service"
install -m 0644 /var/lib/hcrelay/tls/ca.pem /etc/hcconnect/relay-ca.pem
hcconnect add "$sender_string" --endpoint "db.corp.internal:$service_port" >"$work/hcconnect-add.log" 2>&1 ||
  fail "hcconnect add: $(cat "$work/hcconnect-add.log")"
[[ "$(stat -c '%U %a' /etc/hcconnect/endpoints.json)" == "hcconnect 600" ]] ||
  fail "/etc/hcconnect/endpoints.json: $(stat -c '%U %a' /etc/hcconnect/endpoints.json)"
run_as_unit hcconnect HCRELAY_CA_FILE=/etc/hcconnect/relay-ca.pem
hcconnect_pid=$!
wait_for 30 "hcconnect wrote its pid file" test -s /var/lib/hcconnect/hcconnect.pid
[[ "$(ps -o user= -p "$hcconnect_pid")" == hcconnect ]] || fail "hcconnect runs as $(ps -o user= -p "$hcconnect_pid")"
got="$(hcconnect --log-level info run -- curl -sS --max-time 20 "http://db.corp.internal:$service_port/hello.txt" \
  2>"$work/app.log")" || fail "the app's request failed: $(cat "$work/app.log")"
[[ "$got" == "through the packages" ]] || fail "the app got '$got'"
! grep -q in-process "$work/app.log" || fail "hcconnect run did not find the daemon: $(cat "$work/app.log")"

step "upgrade in place keeps the configuration"
dpkg -i "$(deb hcm)" >"$work/dpkg-upgrade.log" 2>&1 || fail "dpkg -i (upgrade) failed"
[[ "$(stat -c '%U %a' /etc/hcm/connections.json)" == "hcm 600" ]] || fail "connections.json lost in the upgrade"
hcm list | grep -q db || fail "hcm list after the upgrade: $(hcm list 2>&1)"

step "stop the services (SIGTERM), then purge"
for pid in "$relay_pid" "$hcm_pid" "$hcconnect_pid"; do kill -TERM "$pid"; done
for pid in "$relay_pid" "$hcm_pid" "$hcconnect_pid"; do
  wait "$pid" || fail "a service exited with status $? on SIGTERM"
done
pids=()
dpkg --purge "${packages[@]}" >"$work/dpkg-purge.log" 2>&1 || fail "dpkg --purge failed"
installed_by_us=0
for s in "${services[@]}"; do
  [[ ! -e "/etc/$s" && ! -e "/var/lib/$s" && ! -e "/usr/lib/systemd/system/$s.service" ]] ||
    fail "left behind: $(ls -d /etc/"$s" /var/lib/"$s" /usr/lib/systemd/system/"$s".service 2>/dev/null)"
  getent passwd "$s" >/dev/null || fail "user $s removed (Debian's policy keeps system users)"
done
[[ ! -e /usr/lib/hcconnect && ! -e /usr/bin/hcrelay && ! -e /usr/bin/hcctl ]] || fail "program files left behind"
owned="$(find /etc /var /usr /run /tmp /opt /srv -xdev -path "$work" -prune -o \
  \( -user hcrelay -o -user hcm -o -user hcconnect \) -print 2>/dev/null)"
[[ -z "$owned" ]] || fail "files of the service users left behind: $owned"
echo "package test: passed"
