#!/usr/bin/env bash
# The local disk pools: sparse files attached as loop devices, one whole "disk" per instance.
# Two pools, so that `make run` and `make test` never format each other's disks:
#   disk-NN.img  DBPROV_DISKS (default 10) for the tests; they find each disk by its file (TestDisks), never by
#                loop number, and the Docker driver formats only loop devices over files in this folder
#   run-NN.img   DBPROV_RUN_DISKS (default 3) for the appliance `make run` starts (host `local`)
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

device_of() { local out; out="$(losetup -j "$1" -O NAME -n 2>/dev/null || true)"; out="${out%%$'\n'*}"; printf '%s' "${out// /}"; }

attach() { # attach PREFIX COUNT
  for i in $(seq 1 "$2"); do
    f="$DIR/$1-$(printf '%02d' "$i").img"
    [ -f "$f" ] || truncate -s "$SIZE" "$f"
    if [ -z "$(device_of "$f")" ]; then
      # losetup -f needs a free /dev/loopN node; make more when the machine has few.
      if ! losetup -f >/dev/null 2>&1; then
        n=0; while [ -e "/dev/loop$n" ]; do n=$((n + 1)); done
        mknod -m 0660 "/dev/loop$n" b 7 "$n"
      fi
      losetup -f "$f"
    fi
  done
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
    d="$(device_of "$f")"
    [ -n "$d" ] && printf '%s\t%s\t%s\n' "$d" "$(stat -c %s "$f")" "$f"
  done
}

down() {
  for f in "$DIR"/disk-*.img "$DIR"/run-*.img; do
    [ -f "$f" ] || continue
    d="$(device_of "$f")"
    [ -n "$d" ] && losetup -d "$d"
  done
  log "loop devices detached"
}

case "${1:-up}" in
  up) up ;;
  list) list "${2:-}" ;;
  down) down ;;
  purge) down; rm -rf "$DIR"; log "disk files removed" ;;
  *) die "usage: disks.sh up|list|down|purge" ;;
esac
