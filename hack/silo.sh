#!/usr/bin/env bash
# Silos of one cluster on this machine (membership and reminders in the meta database), behind HAProxy on one URL.
#   silo.sh start K      start silo K (HTTP 8180+K, silo port 11110+K, gateway 29999+K) and wait for its /healthz
#   silo.sh stop K       SIGKILL silo K, as a crash (fault tests; the others notice and take over its grains)
#   silo.sh list         K, pid, state, ports, the silo's own /healthz status
#   silo.sh proxy N      (re)start HAProxy on $URL in front of silos 1..N
#   silo.sh down         stop every silo (SIGTERM) and HAProxy
#   silo.sh proxy-config BIND ADDRESS...   print the HAProxy configuration (tests run HAProxy on it themselves)
# State (pid, output, log folder per silo; haproxy.cfg and pid) under $DBPROV_SILOS_DIR, default /var/lib/dbprov/silos.
# Only processes whose pid file is here are signalled, and only when their command line is still ours.
source "$(dirname "$0")/lib.sh"

SILOS_DIR="${DBPROV_SILOS_DIR:-$STATE_DIR/silos}"
SERVER_DLL="${DBPROV_SERVER_DLL:-$REPO_DIR/artifacts/bin/DbProvisioner.Server/release/DbProvisioner.Server.dll}"
URL="${DBPROV_URL:-http://127.0.0.1:8080}"
# Extra server arguments for every silo, e.g. "--MetaDb:Database=dbprov_try" (split on spaces). Kept per silo at its
# first start, so that `start K` after `stop K` rejoins the same cluster on the same database without repeating them.
EXTRA_ARGS="${DBPROV_SILO_ARGS:-}"

http_port() { echo $(( 8180 + $1 )); }
silo_port() { echo $(( 11110 + $1 )); }
gateway_port() { echo $(( 29999 + $1 )); }

check_k() { [[ "${1:-}" =~ ^[1-9][0-9]?$ ]] || die "a silo number from 1 to 99, not '${1:-}'"; }

# The pid in FILE if that process still runs our server (or haproxy), else nothing.
live_pid() {
  local file="$1" what="$2" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 0
  contains "$(tr '\0' ' ' < "/proc/$pid/cmdline")" "$what" && printf '%s' "$pid"
  return 0
}

silo_pid() { live_pid "$SILOS_DIR/$1/pid" "DbProvisioner.Server.dll"; }

start_silo() {
  local k="$1" dir="$SILOS_DIR/$1" pid http
  check_k "$k"
  [ -f "$SERVER_DLL" ] || die "the server is not built ($SERVER_DLL): run 'make build'"
  pid="$(silo_pid "$k")"
  [ -z "$pid" ] || { log "silo $k already runs (pid $pid)"; return 0; }
  mkdir -p "$dir/logs"
  http="$(http_port "$k")"
  if [ -n "$EXTRA_ARGS" ] || [ ! -f "$dir/args" ]; then
    printf '%s\n%s\n' "$URL" "$EXTRA_ARGS" > "$dir/args"
  else
    { read -r URL; read -r EXTRA_ARGS || true; } < "$dir/args"
  fi
  # The background subshell execs setsid (no fork: it is no group leader), nohup and dotnet, so $! is the server's pid.
  # shellcheck disable=SC2086
  cd "$(dirname "$SERVER_DLL")"
  start_detached "$dir/out" dotnet "$SERVER_DLL" \
      --Server:Url="http://127.0.0.1:$http" --Server:PublicUrl="$URL" \
      --Silo:Name="silo-$k" --Silo:SiloPort="$(silo_port "$k")" --Silo:GatewayPort="$(gateway_port "$k")" \
      --Cluster:Membership=AdoNet --Log:Directory="$dir/logs" $EXTRA_ARGS
  pid=$!
  cd - >/dev/null
  echo "$pid" > "$dir/pid"
  log "silo $k started (pid $pid, http://127.0.0.1:$http); waiting for /healthz"
  for _ in $(seq 1 240); do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$dir/out" >&2; die "silo $k exited during start-up (see $dir/out)"; }
    curl -fsS "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && { log "silo $k healthy"; return 0; }
    sleep 0.5
  done
  die "silo $k did not become healthy in 120 s (see $dir/out)"
}

stop_silo() {
  local k="$1" pid
  check_k "$k"
  pid="$(silo_pid "$k")"
  [ -n "$pid" ] || { log "silo $k is not running"; return 0; }
  kill -KILL "$pid"
  log "silo $k killed (SIGKILL, pid $pid)"
}

list_silos() {
  local dir k pid http health
  printf 'silo\tpid\tstate\thttp\tsilo-port\tgateway\thealthz\n'
  for dir in "$SILOS_DIR"/[0-9]*; do
    [ -d "$dir" ] || continue
    k="${dir##*/}"; pid="$(silo_pid "$k")"; http="$(http_port "$k")"
    health="-"
    [ -n "$pid" ] && health="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$http/healthz" || true)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "${pid:--}" "$([ -n "$pid" ] && echo up || echo down)" "$http" "$(silo_port "$k")" "$(gateway_port "$k")" "$health"
  done
}

# HAProxy: health checks on /healthz; retries of idempotent requests only (GET, HEAD, OPTIONS, or any request carrying
# an Idempotency-Key, which the API answers the same way twice). A POST without one is never resent: it could place twice.
# write_proxy_config BIND ADDRESS... (host:port of each silo's HTTP).
write_proxy_config() {
  local bind="$1" k=0 address; shift
  cat <<CFG
global
    maxconn 2000
    pidfile $SILOS_DIR/haproxy.pid

defaults
    mode http
    timeout connect 2s
    timeout client 90s
    # Above the API's longest long poll (waitSeconds up to 60).
    timeout server 90s
    timeout http-request 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 502 503 504

frontend dbprov
    bind $bind
    acl idempotent method GET HEAD OPTIONS
    acl idempotency_key req.hdr(Idempotency-Key) -m found
    http-request disable-l7-retry unless idempotent or idempotency_key
    default_backend silos

backend silos
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
CFG
  for address in "$@"; do
    k=$((k + 1))
    printf '    server silo-%s %s check\n' "$k" "$address"
  done
}

start_proxy() {
  local n="$1" pid
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "a number of silos, not '$n'"
  command -v haproxy >/dev/null || die "haproxy is not installed (bash hack/install-deps.sh)"
  mkdir -p "$SILOS_DIR"
  local backends=() k
  for k in $(seq 1 "$n"); do backends+=("127.0.0.1:$(http_port "$k")"); done
  write_proxy_config "${URL#http://}" "${backends[@]}" > "$SILOS_DIR/haproxy.cfg"
  haproxy -c -q -f "$SILOS_DIR/haproxy.cfg" || die "bad HAProxy configuration ($SILOS_DIR/haproxy.cfg)"
  pid="$(live_pid "$SILOS_DIR/haproxy.pid" haproxy)"
  if [ -n "$pid" ]; then
    # -sf: the new process takes the socket, the old one finishes its connections.
    haproxy -D -f "$SILOS_DIR/haproxy.cfg" -sf "$pid"
  else
    haproxy -D -f "$SILOS_DIR/haproxy.cfg"
  fi
  log "HAProxy on $URL in front of silos 1-$n (config $SILOS_DIR/haproxy.cfg)"
}

down() {
  local dir k pid
  for dir in "$SILOS_DIR"/[0-9]*; do
    [ -d "$dir" ] || continue
    k="${dir##*/}"; pid="$(silo_pid "$k")"
    [ -n "$pid" ] && { kill -TERM "$pid"; log "silo $k stopped (SIGTERM, pid $pid)"; }
  done
  pid="$(live_pid "$SILOS_DIR/haproxy.pid" haproxy)"
  [ -n "$pid" ] && { kill -TERM "$pid"; log "HAProxy stopped (pid $pid)"; }
  return 0
}

case "${1:-}" in
  start) start_silo "${2:-}" ;;
  stop) stop_silo "${2:-}" ;;
  list) list_silos ;;
  proxy) start_proxy "${2:-}" ;;
  down) down ;;
  # For tests that start their own silos: the same HAProxy configuration for BIND and the silos' HTTP addresses.
  proxy-config) shift; [ "$#" -ge 2 ] || die "usage: silo.sh proxy-config BIND ADDRESS..."; write_proxy_config "$@" ;;
  *) die "usage: silo.sh start K | stop K | list | proxy N | down | proxy-config BIND ADDRESS..." ;;
esac
