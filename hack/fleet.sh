#!/usr/bin/env bash
# A fleet of real Docker engines on this machine: node-K is a dockerd in its own network namespace (a veth pair,
# host side 10.251.K.1/30, namespace side 10.251.K.2), with its own data root, exec root, pid file, cgroup parent and
# loop-disk pool, listening only on tcp://10.251.K.2:2376 with mutual TLS. Instances use host networking, so MySQL
# answers on 10.251.K.2. The nodes share this machine's physical cores, memory and swap.
#   fleet.sh up N         make node-1 … node-N and the registry (idempotent; quick when all is up); other nodes stay as they are
#   fleet.sh down         remove every node (engine, containers, namespace, disks, state) and the registry with its data
#   fleet.sh stop NAME    stop one engine the way `systemctl stop docker` does (its containers stop with it)
#   fleet.sh start NAME   start it again (containers with a restart policy come back)
#   fleet.sh list         NAME<TAB>up|down<TAB>engine endpoint<TAB>MySQL address, one line per node
#   fleet.sh disks NAME [run]  the node's test (or run) pool, as `disks.sh list` prints it
#   fleet.sh env NAME     DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for the docker CLI (eval "$(fleet.sh env node-1)")
#   fleet.sh certs        only the CA and the appliance's client certificate
# Certificates: the CA in $STATE_DIR/secrets/ca (ca.pem, ca-key.pem), the appliance's client certificate in
# $STATE_DIR/secrets/docker-client (ca.pem, cert.pem, key.pem), each engine's in $STATE_DIR/fleet/NAME/tls; keys 0600.
# Images: a registry (Debian's docker-registry) on 10.251.0.1:5000 with a certificate from the CA, reachable from the
# namespaces and this machine only; `up` pushes dbprov/mysql to it and each node pulls it from there.
source "$(dirname "$0")/lib.sh"

FLEET_DIR="$STATE_DIR/fleet"
# Inside the appliance's disk-pool folder, so that the driver's guard formats them (DockerRuntimeOptions.DiskPoolFolder).
FLEET_DISK_DIR="$STATE_DIR/disks/fleet"
CA_DIR="$STATE_DIR/secrets/ca"
CLIENT_DIR="$STATE_DIR/secrets/docker-client"
REGISTRY_DIR="$FLEET_DIR/registry"
REGISTRY_ADDR=10.251.0.1
REGISTRY="$REGISTRY_ADDR:5000"
REGISTRY_CERTS_D="/etc/docker/certs.d/$REGISTRY"
ENGINE_PORT=2376
IMAGE="$(cat "$REPO_DIR/images/mysql/TAG")"
DISKS="${DBPROV_FLEET_DISKS:-2}"
RUN_DISKS="${DBPROV_FLEET_RUN_DISKS:-2}"
DISK_SIZE="${DBPROV_DISK_SIZE:-2G}"
CERT_DAYS=825
RENEW_SECONDS=$((30 * 24 * 3600))

usage() { die "usage: fleet.sh up N | down | stop NAME | start NAME | list | disks NAME [run] | env NAME | certs"; }

# node-K → K (1-200), or die.
node_index() {
  [[ "$1" =~ ^node-([1-9][0-9]{0,2})$ ]] && [ "${BASH_REMATCH[1]}" -le 200 ] || die "not a fleet node name: '$1' (node-1 … node-200)"
  printf '%s' "${BASH_REMATCH[1]}"
}
node_addr() { printf '10.251.%s.2' "$1"; }
host_link() { printf 'dbf-node-%s' "$1"; }
node_dir() { printf '%s/node-%s' "$FLEET_DIR" "$1"; }
netns_path() { printf '/var/run/netns/node-%s' "$1"; }

# The indices of the nodes that have state, in order.
known_nodes() {
  local d
  for d in "$FLEET_DIR"/node-*; do
    [ -d "$d" ] || continue
    [[ "${d##*/}" =~ ^node-([0-9]+)$ ]] && printf '%s\n' "${BASH_REMATCH[1]}"
  done | sort -n
}

# ---------------------------------------------------------------- certificates

ensure_ca() {
  mkdir -p "$CA_DIR" && chmod 0700 "$STATE_DIR/secrets" "$CA_DIR"
  if [ -s "$CA_DIR/ca-key.pem" ] && [ -s "$CA_DIR/ca.pem" ] \
      && openssl x509 -checkend "$RENEW_SECONDS" -noout -in "$CA_DIR/ca.pem" >/dev/null 2>&1; then
    return 0
  fi
  log "making the appliance's CA ($CA_DIR)"
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CA_DIR/ca-key.pem" 2>/dev/null)
  openssl req -new -x509 -key "$CA_DIR/ca-key.pem" -sha256 -days 3650 -subj "/CN=DbProvisioner appliance CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$CA_DIR/ca.pem"
  chmod 0600 "$CA_DIR/ca-key.pem" && chmod 0644 "$CA_DIR/ca.pem"
}

# issue_cert DIR CN server|client [IP]: DIR/{ca,cert,key}.pem signed by the CA, unless a valid one is there.
issue_cert() {
  local dir="$1" cn="$2" kind="$3" ip="${4:-}" work san
  mkdir -p "$dir" && chmod 0700 "$dir"
  # Kept when signed by this CA, for this address, and not about to expire.
  if [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && cmp -s "$CA_DIR/ca.pem" "$dir/ca.pem" \
      && san="$(openssl x509 -noout -checkend "$RENEW_SECONDS" -ext subjectAltName -in "$dir/cert.pem" 2>/dev/null)" \
      && { [ -z "$ip" ] || contains "$san" "IP Address:$ip"; } \
      && openssl verify -CAfile "$CA_DIR/ca.pem" "$dir/cert.pem" >/dev/null 2>&1; then
    return 0
  fi
  log "issuing a $kind certificate for $cn ($dir)"
  work="$(mktemp -d)"
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/key.pem" 2>/dev/null)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ "$kind" = server ]; then echo "extendedKeyUsage=serverAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    [ -z "$ip" ] || echo "subjectAltName=IP:$ip"
  } >"$work/ext"
  openssl req -new -key "$dir/key.pem" -subj "/CN=$cn" -out "$work/csr"
  openssl x509 -req -in "$work/csr" -CA "$CA_DIR/ca.pem" -CAkey "$CA_DIR/ca-key.pem" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$CERT_DAYS" -sha256 -extfile "$work/ext" -out "$dir/cert.pem" 2>/dev/null
  rm -rf "$work"
  cp "$CA_DIR/ca.pem" "$dir/ca.pem"
  chmod 0600 "$dir/key.pem" && chmod 0644 "$dir/cert.pem" "$dir/ca.pem"
}

ensure_certs() {
  ensure_ca
  issue_cert "$CLIENT_DIR" "dbprov-appliance" client
}

# ---------------------------------------------------------------- processes

# The pid in FILE when that process is alive and runs COMMAND, else nothing.
live_pid() {
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$2" ] && printf '%s' "$pid"
  return 0
}

# Pids of processes whose command line matches the extended regex PATTERN: daemons whose pid file was removed
# with the state folder still run, and must not be started twice.
stray_pids() { pgrep -f -- "$1" || true; }

# Sends TERM to PID and waits up to SECONDS for it to end; KILL after that.
end_process() {
  local pid="$1" seconds="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < seconds * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  log "pid $pid did not end within ${seconds} s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- registry

registry_answers() { curl -fsS -o /dev/null --max-time 5 --cacert "$CA_DIR/ca.pem" "https://$REGISTRY/v2/" 2>/dev/null; }

ensure_registry() {
  command -v docker-registry >/dev/null || die "docker-registry is not installed: run hack/install-deps.sh"
  contains "$(ip -o addr show dev lo)" " $REGISTRY_ADDR/32 " || ip addr add "$REGISTRY_ADDR/32" dev lo
  issue_cert "$REGISTRY_DIR/tls" "dbprov-registry" server "$REGISTRY_ADDR"
  # Every engine on this machine (this one and the nodes) trusts the registry through the CA; read at each pull and push.
  mkdir -p "$REGISTRY_CERTS_D"
  cmp -s "$CA_DIR/ca.pem" "$REGISTRY_CERTS_D/ca.crt" || cp "$CA_DIR/ca.pem" "$REGISTRY_CERTS_D/ca.crt"
  mkdir -p "$REGISTRY_DIR/data"
  cat >"$REGISTRY_DIR/config.yml.new" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
  tls:
    certificate: $REGISTRY_DIR/tls/cert.pem
    key: $REGISTRY_DIR/tls/key.pem
YAML
  local pid changed=0
  cmp -s "$REGISTRY_DIR/config.yml.new" "$REGISTRY_DIR/config.yml" || changed=1
  mv "$REGISTRY_DIR/config.yml.new" "$REGISTRY_DIR/config.yml"
  pid="$(live_pid "$REGISTRY_DIR/registry.pid" docker-registry)"
  [ "$REGISTRY_DIR/tls/cert.pem" -nt "$REGISTRY_DIR/registry.pid" ] && changed=1
  if [ -n "$pid" ] && [ "$changed" = 0 ] && registry_answers; then
    log "registry answers on $REGISTRY"
  else
    [ -z "$pid" ] || end_process "$pid" 10
    for pid in $(stray_pids "^docker-registry serve $REGISTRY_DIR/config.yml"); do end_process "$pid" 10; done
    log "starting the registry on $REGISTRY (log: $REGISTRY_DIR/registry.log)"
    start_detached "$REGISTRY_DIR/registry.log" docker-registry serve "$REGISTRY_DIR/config.yml"
    echo "$!" >"$REGISTRY_DIR/registry.pid"
    local i
    for ((i = 0; i < 60; i++)); do registry_answers && break; sleep 0.5; done
    registry_answers || { tail -n 20 "$REGISTRY_DIR/registry.log" >&2; die "the registry did not answer on $REGISTRY within 30 s"; }
  fi
  push_image
}

# The image's id (its config digest, the same on every engine that pulled it), or nothing.
image_id() { "$@" image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true; }

push_image() {
  local manifest id="$LOCAL_IMAGE_ID"
  manifest="$(curl -fsS --max-time 10 --cacert "$CA_DIR/ca.pem" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "https://$REGISTRY/v2/${IMAGE%:*}/manifests/${IMAGE##*:}" 2>/dev/null || true)"
  if contains "$manifest" "$id"; then log "registry holds $IMAGE"; return 0; fi
  log "pushing $IMAGE to $REGISTRY"
  docker tag "$IMAGE" "$REGISTRY/$IMAGE"
  docker push "$REGISTRY/$IMAGE" >>"$REGISTRY_DIR/push.log" 2>&1 || { tail -n 20 "$REGISTRY_DIR/push.log" >&2; die "pushing $IMAGE failed"; }
  docker rmi "$REGISTRY/$IMAGE" >/dev/null
}

stop_registry() {
  local pid
  pid="$(live_pid "$REGISTRY_DIR/registry.pid" docker-registry)"
  [ -z "$pid" ] || end_process "$pid" 10
  for pid in $(stray_pids "^docker-registry serve $REGISTRY_DIR/config.yml"); do end_process "$pid" 10; done
  ! contains "$(ip -o addr show dev lo)" " $REGISTRY_ADDR/32 " || ip addr del "$REGISTRY_ADDR/32" dev lo
  rm -rf "$REGISTRY_CERTS_D"
}

# ---------------------------------------------------------------- nodes

# The docker CLI on node K, with the appliance's client certificate.
node_docker() {
  local k="$1"; shift
  docker --tlsverify --tlscacert "$CLIENT_DIR/ca.pem" --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" \
    -H "tcp://$(node_addr "$k"):$ENGINE_PORT" "$@"
}
node_answers() { timeout 10 docker --tlsverify --tlscacert "$CLIENT_DIR/ca.pem" --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" \
  -H "tcp://$(node_addr "$1"):$ENGINE_PORT" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }

ensure_network() {
  local k="$1" link; link="$(host_link "$k")"
  [ -e "$(netns_path "$k")" ] || ip netns add "node-$k"
  ip link show "$link" >/dev/null 2>&1 || ip link add "$link" type veth peer name eth0 netns "node-$k"
  ip addr replace "10.251.$k.1/30" dev "$link"
  ip link set "$link" up
  local in_ns=(nsenter "--net=$(netns_path "$k")")
  "${in_ns[@]}" ip link set lo up
  "${in_ns[@]}" ip addr replace "$(node_addr "$k")/30" dev eth0
  "${in_ns[@]}" ip link set eth0 up
  # Only the fleet's addresses (the registry, later the other nodes): no default route, so no way out of the machine.
  "${in_ns[@]}" ip route replace 10.251.0.0/16 via "10.251.$k.1" dev eth0
}

ensure_disks() {
  local k="$1" i dir="$FLEET_DISK_DIR/node-$1"
  mkdir -p "$dir"
  for ((i = 1; i <= DISKS; i++)); do attach_loop_file "$dir/disk-$(printf '%02d' "$i").img" "$DISK_SIZE"; done
  for ((i = 1; i <= RUN_DISKS; i++)); do attach_loop_file "$dir/run-$(printf '%02d' "$i").img" "$DISK_SIZE"; done
}

start_engine() {
  local k="$1" dir; dir="$(node_dir "$k")"
  mkdir -p "$dir/docker" "$dir/exec"
  # Its own (empty) config file: /etc/docker/daemon.json belongs to this machine's engine.
  [ -f "$dir/daemon.json" ] || echo '{}' >"$dir/daemon.json"
  rm -f "$dir/dockerd.pid"
  stop_engine "$k" # one whose pid file went with its state folder
  log "starting the engine of node-$k on tcp://$(node_addr "$k"):$ENGINE_PORT (log: $dir/dockerd.log)"
  # nsenter, not `ip netns exec`: that remounts /sys and dockerd then fails with "Devices cgroup isn't mounted".
  start_detached "$dir/dockerd.log" nsenter "--net=$(netns_path "$k")" dockerd \
    --config-file "$dir/daemon.json" --data-root "$dir/docker" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    --cgroup-parent "/dbprov-fleet-node-$k" --bridge none --iptables=false --ip-forward=false --ip-masq=false \
    -H "tcp://$(node_addr "$k"):$ENGINE_PORT" --tlsverify \
    --tlscacert "$dir/tls/ca.pem" --tlscert "$dir/tls/cert.pem" --tlskey "$dir/tls/key.pem"
  local i
  for ((i = 0; i < 120; i++)); do node_answers "$k" && return 0; sleep 0.5; done
  tail -n 30 "$dir/dockerd.log" >&2 || true
  die "the engine of node-$k did not answer within 60 s"
}

stop_engine() {
  local k="$1" dir pid; dir="$(node_dir "$k")"
  for pid in $(stray_pids "^dockerd .*--data-root $dir/docker "); do
    [ "$pid" = "$(live_pid "$dir/dockerd.pid" dockerd)" ] || { log "stopping a stray engine of node-$k (pid $pid)"; end_process "$pid" 90; }
  done
  pid="$(live_pid "$dir/dockerd.pid" dockerd)"
  [ -n "$pid" ] || return 0
  log "stopping the engine of node-$k (pid $pid)"
  # The engine stops its containers (30 s each at most, the driver's stop timeout) and its containerd.
  end_process "$pid" 90
}

ensure_engine() {
  local k="$1" dir pid; dir="$(node_dir "$k")"
  pid="$(live_pid "$dir/dockerd.pid" dockerd)"
  if [ -n "$pid" ] && [ "$dir/tls/cert.pem" -nt "$dir/dockerd.pid" ]; then stop_engine "$k"; pid=""; fi
  if [ -n "$pid" ] && node_answers "$k"; then return 0; fi
  [ -z "$pid" ] || stop_engine "$k"
  start_engine "$k"
}

ensure_node_image() {
  local k="$1"
  [ "$(image_id node_docker "$k")" = "$LOCAL_IMAGE_ID" ] && return 0
  log "node-$k pulls $IMAGE from $REGISTRY"
  node_docker "$k" pull -q "$REGISTRY/$IMAGE" >/dev/null
  node_docker "$k" tag "$REGISTRY/$IMAGE" "$IMAGE"
  node_docker "$k" rmi "$REGISTRY/$IMAGE" >/dev/null
}

ensure_node() {
  local k="$1"
  mkdir -p "$(node_dir "$k")"
  ensure_network "$k"
  issue_cert "$(node_dir "$k")/tls" "node-$k" server "$(node_addr "$k")"
  ensure_disks "$k"
  ensure_engine "$k"
  ensure_node_image "$k"
}

# Unmounts whatever is still mounted under FOLDER (overlay layers, volumes), deepest first.
unmount_under() {
  local target targets=()
  while read -r target; do
    [[ "$target" == "$1"/* ]] && targets+=("$target")
  done < <(findmnt -rn -o TARGET)
  for target in $(printf '%s\n' "${targets[@]}" | sort -r); do umount -l "$target" 2>/dev/null || true; done
}

remove_node() {
  local k="$1" f d
  stop_engine "$k"
  unmount_under "$(node_dir "$k")"
  for f in "$FLEET_DISK_DIR/node-$k"/*.img; do
    [ -f "$f" ] || continue
    d="$(loop_device_of "$f")"
    [ -z "$d" ] || losetup -d "$d"
  done
  [ ! -e "$(netns_path "$k")" ] || ip netns del "node-$k"
  ! ip link show "$(host_link "$k")" >/dev/null 2>&1 || ip link del "$(host_link "$k")"
  for d in /sys/fs/cgroup/*/"dbprov-fleet-node-$k"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
  rm -rf "$(node_dir "$k")" "$FLEET_DISK_DIR/node-$k"
}

# ---------------------------------------------------------------- commands

up() {
  need_root
  local n="${1:-}" k
  [[ "$n" =~ ^[1-9][0-9]{0,2}$ ]] && [ "$n" -le 200 ] || die "fleet.sh up N: N from 1 to 200, not '$n'"
  engine_answers || die "this machine's docker engine does not answer: run hack/start-docker.sh"
  LOCAL_IMAGE_ID="$(image_id docker)"
  [ -n "$LOCAL_IMAGE_ID" ] || die "image $IMAGE is missing on this engine: run hack/build-images.sh"
  ensure_certs
  ensure_registry
  for ((k = 1; k <= n; k++)); do ensure_node "$k"; done
  log "fleet: $n nodes up ($(known_nodes | wc -l) known)"
}

down() {
  need_root
  local k link
  for k in $(known_nodes); do remove_node "$k"; done
  # A namespace or link whose state folder was removed by hand.
  while read -r link; do
    [[ "$link" =~ ^dbf-node-([0-9]+)$ ]] && remove_node "${BASH_REMATCH[1]}"
  done < <(ip -o link show | sed -n 's/^[0-9]*: \(dbf-node-[0-9]*\)@.*/\1/p')
  # Engines whose state folder and link were removed by hand still run: found by their data root.
  local pid
  for pid in $(stray_pids "^dockerd .*--data-root $FLEET_DIR/node-[0-9]+/docker "); do end_process "$pid" 90; done
  stop_registry
  unmount_under "$FLEET_DIR"
  rm -rf "$FLEET_DIR" "$FLEET_DISK_DIR"
  log "fleet removed"
}

list() {
  local k state
  for k in $(known_nodes); do
    state=down
    [ -n "$(live_pid "$(node_dir "$k")/dockerd.pid" dockerd)" ] && node_answers "$k" && state=up
    printf 'node-%s\t%s\ttcp://%s:%s\t%s\n' "$k" "$state" "$(node_addr "$k")" "$ENGINE_PORT" "$(node_addr "$k")"
  done
}

disks() {
  local k f d prefix=disk
  k="$(node_index "$1")"
  [ "${2:-}" = run ] && prefix=run
  for f in "$FLEET_DISK_DIR/node-$k/$prefix"-*.img; do
    [ -f "$f" ] || continue
    d="$(loop_device_of "$f")"
    [ -z "$d" ] || printf '%s\t%s\t%s\n' "$d" "$(stat -c %s "$f")" "$f"
  done
}

known_or_die() { [ -d "$(node_dir "$1")" ] || die "node-$1 is not part of the fleet (fleet.sh up N makes it)"; }

case "${1:-}" in
  up) up "${2:-}" ;;
  down) down ;;
  stop) [ -n "${2:-}" ] || usage; need_root; k="$(node_index "$2")"; known_or_die "$k"; stop_engine "$k"; log "node-$k stopped" ;;
  start) [ -n "${2:-}" ] || usage; need_root; k="$(node_index "$2")"; known_or_die "$k"
    LOCAL_IMAGE_ID="$(image_id docker)"; ensure_certs; ensure_node "$k"; log "node-$k up" ;;
  list) list ;;
  disks) [ -n "${2:-}" ] || usage; disks "$2" "${3:-}" ;;
  env) [ -n "${2:-}" ] || usage; k="$(node_index "$2")"
    printf 'export DOCKER_HOST=tcp://%s:%s DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=%s\n' "$(node_addr "$k")" "$ENGINE_PORT" "$CLIENT_DIR" ;;
  certs) need_root; ensure_certs; log "CA: $CA_DIR; the appliance's client certificate: $CLIENT_DIR" ;;
  *) usage ;;
esac
