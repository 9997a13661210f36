#!/usr/bin/env bash
# Starts the appliance in the foreground (after `make setup build`): the server from the Release build,
# then registers this machine as host `local` (loop-disk pool, pool `general`) unless it already is.
# FLEET=N (make run FLEET=N) first brings up N fleet engines (hack/fleet.sh up N) and registers node-1 … node-N too:
# one zone, each host its own rack, each node's run pool, over mutual TLS. Ctrl-C stops the server.
# SILOS=N (make run SILOS=N, N > 1) starts N silos of one cluster instead (hack/silo.sh: membership in the meta database)
# with HAProxy on the URL in front of their HTTP ports; Ctrl-C stops them all. SILOS=1 is the single process as before.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

SERVER_DLL="$REPO_DIR/artifacts/bin/DbProvisioner.Server/release/DbProvisioner.Server.dll"
CONFIG="${DBPROV_CONFIG:-$HOME/.config/dbprov/config.json}"
URL="${DBPROV_URL:-http://127.0.0.1:8080}"
LOG_DIR="${DBPROV_LOG_DIR:-$STATE_DIR/logs}"
HOST_ID="${DBPROV_HOST_ID:-local}"
# The host's disks: the loop-disk pool by default; "none" registers it without disks (smoke tests that must not format them).
HOST_DISKS="${DBPROV_HOST_DISKS:-loop}"
LOG_FILE="$LOG_DIR/server.out"
FLEET="${FLEET:-0}"
SILOS="${SILOS:-1}"
DBPROV="$HACK_DIR/dbprov"

[ -f "$SERVER_DLL" ] || die "the server is not built ($SERVER_DLL): run 'make build'"
[[ "$FLEET" =~ ^[0-9]+$ ]] || die "FLEET must be a number of fleet engines (0 or more), not '$FLEET'"
[[ "$SILOS" =~ ^[1-9][0-9]?$ ]] || die "SILOS must be a number of silos (1 to 99), not '$SILOS'"
if [ "$FLEET" -gt 0 ]; then
  bash "$HACK_DIR/fleet.sh" up "$FLEET" || die "the fleet did not come up (hack/fleet.sh up $FLEET)"
fi
mkdir -p "$LOG_DIR"

if [ "$SILOS" -gt 1 ]; then
  stop() {
    trap - INT TERM EXIT
    bash "$HACK_DIR/silo.sh" down
  }
  trap stop INT TERM EXIT
  for k in $(seq 1 "$SILOS"); do
    DBPROV_URL="$URL" bash "$HACK_DIR/silo.sh" start "$k"
  done
  DBPROV_URL="$URL" bash "$HACK_DIR/silo.sh" proxy "$SILOS"
  LOG_FILE="${DBPROV_SILOS_DIR:-$STATE_DIR/silos}/K/out"
  # Nothing of ours to wait for (the silos run in their own sessions): the script waits here until Ctrl-C.
  sleep infinity &
  SERVER_PID=$!
else
# The server's content root is its folder: appsettings.json and the relative log folder live there.
log "starting the server on $URL (output: $LOG_FILE, rolling logs: $LOG_DIR)"
( cd "$(dirname "$SERVER_DLL")" && exec dotnet "$SERVER_DLL" --Server:Url="$URL" --Log:Directory="$LOG_DIR" ) >>"$LOG_FILE" 2>&1 &
SERVER_PID=$!

stop() {
  trap - INT TERM EXIT
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    log "stopping the server (pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap stop INT TERM EXIT
fi

for _ in $(seq 1 240); do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$LOG_FILE" >&2; die "the server exited during start-up (see $LOG_FILE)"; }
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$URL/healthz" >/dev/null 2>&1 || { tail -n 40 "$LOG_FILE" >&2; die "the server did not become healthy in 120 s (see $LOG_FILE)"; }
log "server healthy"

[ -f "$CONFIG" ] || die "no CLI config at $CONFIG: the server writes it on first run (Bootstrap:GenerateKeysOnStart); see $LOG_FILE"

if "$DBPROV" --config "$CONFIG" --url "$URL" host show "$HOST_ID" >/dev/null 2>&1; then
  log "host $HOST_ID is already registered"
else
  disks=()
  if [ "$HOST_DISKS" != none ]; then
    while IFS=$'\t' read -r device bytes _; do
      [ -n "$device" ] || continue
      disks+=(--disk "$device:$(( bytes / 1024 / 1024 / 1024 ))")
    done < <(bash "$HACK_DIR/disks.sh" list run)
    [ "${#disks[@]}" -gt 0 ] || log "warning: no loop disks (bash hack/disks.sh up); registering host $HOST_ID without disks"
  fi
  log "registering this machine as host $HOST_ID (pool general, $(( ${#disks[@]} / 2 )) disks, ports 4400-4499)"
  "$DBPROV" --config "$CONFIG" --url "$URL" host add "$HOST_ID" \
    --engine unix:///var/run/docker.sock --zone z1 --rack r1 --pool general \
    --ports 4400-4499 "${disks[@]}" >/dev/null \
    || die "registering host $HOST_ID failed (see the message above and $LOG_FILE)"
fi

# Fleet hosts: node-K's engine over mutual TLS (the server's Docker:Tls client certificate), its MySQL on its own address.
for k in $(seq 1 "$FLEET"); do
  node="node-$k"
  if "$DBPROV" --config "$CONFIG" --url "$URL" host show "$node" >/dev/null 2>&1; then
    log "host $node is already registered"
    continue
  fi
  IFS=$'\t' read -r _ state endpoint address < <(bash "$HACK_DIR/fleet.sh" list | grep -P "^$node\t") || true
  [ "${state:-}" = up ] || die "fleet engine $node is not up (bash hack/fleet.sh list)"
  disks=()
  while IFS=$'\t' read -r device bytes _; do
    [ -n "$device" ] || continue
    disks+=(--disk "$device:$(( bytes / 1024 / 1024 / 1024 ))")
  done < <(bash "$HACK_DIR/fleet.sh" disks "$node" run)
  log "registering fleet engine $node ($endpoint, rack r$(( k + 1 )), $(( ${#disks[@]} / 2 )) disks, MySQL on $address)"
  "$DBPROV" --config "$CONFIG" --url "$URL" host add "$node" \
    --engine "$endpoint" --zone z1 --rack "r$(( k + 1 ))" --pool general \
    --ports 4400-4499 --mysql-address "$address" "${disks[@]}" >/dev/null \
    || die "registering host $node failed (see the message above and $LOG_FILE)"
done

# The disks are formatted (and seeded) in the background; the first instance is quickest once one is Ready.
for _ in $(seq 1 120); do
  shown="$("$DBPROV" --config "$CONFIG" --url "$URL" host show "$HOST_ID" --output json 2>/dev/null || true)"
  [[ "$shown" =~ \"state\":\ *\"Ready\" ]] && break
  sleep 0.5
done

cat <<INFO

  DbProvisioner is running at $URL   (API reference: $URL/api/reference)
  CLI config (URL and one API key per role, mode 0600): $CONFIG
  Run the CLI with: $DBPROV …   (e.g. alias dbprov=$DBPROV)

  Hosts:
$("$DBPROV" --config "$CONFIG" --url "$URL" host list 2>&1 | sed 's/^/    /')

  Provision a first instance:
    $DBPROV instance create --pool general --cpus 1 --memory-mib 1024 --disk-gib 1
  Look around:
    $DBPROV host show $HOST_ID
    $DBPROV host inspect $HOST_ID
    $DBPROV instance list

  Silos: $SILOS$([ "$SILOS" -gt 1 ] && printf '  (bash hack/silo.sh list | stop K | start K)')
  Ctrl-C stops the server.
INFO

wait "$SERVER_PID"
