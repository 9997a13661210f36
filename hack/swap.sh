#!/usr/bin/env bash
# The machine's swap file, so that an instance's swap allowance (DESIGN.md: swap) is real here:
#   swap.sh up      create $STATE_DIR/swapfile (DBPROV_SWAP_SIZE, default 2G) and turn it on; no-op when on
#   swap.sh status  print the swap areas of the machine (/proc/swaps)
#   swap.sh down    turn the swap file off and delete it
# Only adds swap: a swap area the machine already had is left alone.
source "$(dirname "$0")/lib.sh"

SIZE="${DBPROV_SWAP_SIZE:-2G}"
FILE="$STATE_DIR/swapfile"

# Whether the swap file is an active swap area. Reads /proc/swaps in the shell (no `swapon | grep -q`, see lib.sh `contains`).
active() {
  local name _rest
  while read -r name _rest; do
    [ "$name" = "$FILE" ] && return 0
  done < /proc/swaps
  return 1
}

bytes() { numfmt --from=iec "$SIZE" 2>/dev/null || die "DBPROV_SWAP_SIZE='$SIZE' is not a size like 2G or 512M"; }

# make_file fallocate|dd: a fresh swap file of the wanted size, owner-only (swapon warns about, and a reader could see, anything wider).
make_file() {
  local size; size="$(bytes)"
  rm -f "$FILE"
  if [ "$1" = fallocate ]; then
    fallocate -l "$size" "$FILE" || return 1
  else
    dd if=/dev/zero of="$FILE" bs=1M count=$((size / 1048576)) status=none
  fi
  chmod 0600 "$FILE"
  mkswap "$FILE" >/dev/null
}

up() {
  need_root
  if active; then
    log "swap: $FILE is already on"
    return
  fi
  mkdir -p "$STATE_DIR"
  if [ -f "$FILE" ] && [ "$(stat -c %s "$FILE")" = "$(bytes)" ]; then
    chmod 0600 "$FILE"
    mkswap "$FILE" >/dev/null
  else
    make_file fallocate || make_file dd
  fi
  # Some file systems refuse a fallocated (unwritten) file as swap; writing it out with dd always works.
  if ! swapon "$FILE" 2>/dev/null; then
    log "swap: swapon refused the fallocated file; writing $SIZE with dd"
    make_file dd
    swapon "$FILE" || die "swapon $FILE failed: this machine cannot enable swap (instances asking for swap will not be placed)"
  fi
  log "swap: $FILE ($SIZE) is on"
}

down() {
  need_root
  if active; then
    swapoff "$FILE"
  fi
  rm -f "$FILE"
  log "swap: $FILE removed"
}

case "${1:-up}" in
  up) up ;;
  status) cat /proc/swaps ;;
  down) down ;;
  *) die "usage: swap.sh up|status|down" ;;
esac
