#!/usr/bin/env bash
# The local disk pool: sparse files attached as loop devices, one whole "disk" per instance.
#   disks.sh up       attach DBPROV_DISKS files of DBPROV_DISK_SIZE (default 10 × 2G: sparse, so
#                     they take only what is written) and print the pool
#   disks.sh list     print "device<TAB>size-bytes<TAB>backing-file" for each disk of the pool
#   disks.sh down     detach the loop devices (files kept)
#   disks.sh purge    detach and delete the files
source "$(dirname "$0")/lib.sh"

COUNT="${DBPROV_DISKS:-10}"
SIZE="${DBPROV_DISK_SIZE:-2G}"
DIR="$STATE_DIR/disks"

device_of() { losetup -j "$1" -O NAME -n 2>/dev/null | head -n 1 | tr -d ' '; }

up() {
  need_root
  mkdir -p "$DIR"
  for i in $(seq 1 "$COUNT"); do
    f="$DIR/disk-$(printf '%02d' "$i").img"
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
  list
}

list() {
  for f in "$DIR"/disk-*.img; do
    [ -f "$f" ] || continue
    d="$(device_of "$f")"
    [ -n "$d" ] && printf '%s\t%s\t%s\n' "$d" "$(stat -c %s "$f")" "$f"
  done
}

down() {
  for f in "$DIR"/disk-*.img; do
    [ -f "$f" ] || continue
    d="$(device_of "$f")"
    [ -n "$d" ] && losetup -d "$d"
  done
  log "loop devices detached"
}

case "${1:-up}" in
  up) up ;;
  list) list ;;
  down) down ;;
  purge) down; rm -rf "$DIR"; log "disk files removed" ;;
  *) die "usage: disks.sh up|list|down|purge" ;;
esac
