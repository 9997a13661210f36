#!/usr/bin/env bash
# The local disk pools: sparse files attached as loop devices, one whole "disk" per instance.
# Two pools, so that `make run` and `make test` never format each other's disks:
#   disk-NN.img  DBPROV_DISKS (default 10) for the tests; they find each disk by its file (TestDisks), never by
#                loop number, and the Docker driver formats only loop devices over files in this folder
#   run-NN.img   DBPROV_RUN_DISKS (default 3) for the appliance `make run` starts (host `local`)
#   fleet/       the pools of the fleet's nodes, hack/fleet.sh's alone (`fleet.sh disks NAME`)
#   disks.sh up         attach both pools (DBPROV_DISK_SIZE each, default 2G: sparse, so they take only
#                       what is written) and print the test pool
#   disks.sh list [run] print "device<TAB>size-bytes<TAB>backing-file" for each disk of the test (or run) pool
#   disks.sh down     detach the loop devices (files kept)
#   disks.sh purge    detach and delete the files
source "$(dirname "$0")/lib.sh"

COUNT="${DBPROV_DISKS:-10}"
RUN_COUNT="${DBPROV_RUN_DISKS:-3}"
SIZE="${DBPROV_DISK_SIZE:-2G}"
DIR="$STATE_DIR/disks"

attach() { # attach PREFIX COUNT
  for i in $(seq 1 "$2"); do attach_loop_file "$DIR/$1-$(printf '%02d' "$i").img" "$SIZE"; done
}

up() {
  need_root
  mkdir -p "$DIR"
  attach disk "$COUNT"
  attach run "$RUN_COUNT"
  list
}

list() {
  local prefix=disk
  [ "${1:-}" = run ] && prefix=run
  for f in "$DIR"/"$prefix"-*.img; do
    [ -f "$f" ] || continue
    d="$(loop_device_of "$f")"
    [ -n "$d" ] && printf '%s\t%s\t%s\n' "$d" "$(stat -c %s "$f")" "$f"
  done
}

down() {
  for f in "$DIR"/disk-*.img "$DIR"/run-*.img; do
    [ -f "$f" ] || continue
    d="$(loop_device_of "$f")"
    [ -n "$d" ] && losetup -d "$d"
  done
  log "loop devices detached"
}

case "${1:-up}" in
  up) up ;;
  list) list "${2:-}" ;;
  down) down ;;
  # Only this script's files: the fleet's node pools (fleet/) are hack/fleet.sh's.
  purge) down; rm -f "$DIR"/disk-*.img "$DIR"/run-*.img; rmdir "$DIR" 2>/dev/null || true; log "disk files removed" ;;
  *) die "usage: disks.sh up|list|down|purge" ;;
esac
