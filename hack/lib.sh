#!/usr/bin/env bash
# Shared helpers for the hack/ scripts. Sourced, never run.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$HACK_DIR/.." && pwd)"
STATE_DIR="${DBPROV_STATE_DIR:-/var/lib/dbprov}"

export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"

log() { printf '\033[1;34m[hack]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[hack]\033[0m %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (it installs packages, loop devices and dockerd)"; }

# N random letters and digits. No `tr < /dev/urandom | head`: under pipefail `tr` dies of SIGPIPE
# when `head` has enough and the script exits 141; a bounded read has no early-closing reader.
random_alnum() {
  local n="${1:-32}" out=""
  while [ "${#out}" -lt "$n" ]; do
    out+="$(LC_ALL=C tr -dc 'A-Za-z0-9' < <(head -c 512 /dev/urandom))"
  done
  printf '%s' "${out:0:$n}"
}

# Whether TEXT contains WORD, without `cmd | grep -q` (grep -q exits at the first match, the writer
# then dies of SIGPIPE and pipefail turns a match into a failure).
contains() { [[ "$1" == *"$2"* ]]; }

engine_answers() { docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }

# The loop device over FILE (e.g. /dev/loop3), or nothing.
loop_device_of() { local out; out="$(losetup -j "$1" -O NAME -n 2>/dev/null || true)"; out="${out%%$'\n'*}"; printf '%s' "${out// /}"; }

# Attaches FILE (made sparse, SIZE, when missing) to a loop device unless it already is.
attach_loop_file() {
  local f="$1" size="$2" n
  [ -f "$f" ] || truncate -s "$size" "$f"
  [ -z "$(loop_device_of "$f")" ] || return 0
  # losetup -f needs a free /dev/loopN node; make more when the machine has few.
  if ! losetup -f >/dev/null 2>&1; then
    n=0; while [ -e "/dev/loop$n" ]; do n=$((n + 1)); done
    mknod -m 0660 "/dev/loop$n" b 7 "$n"
  fi
  losetup -f "$f"
}

# Runs CMD… in the background in its own session (it outlives the caller), stdin from /dev/null, output appended to
# LOG, and no other inherited file descriptor: a daemon that kept one would hold, e.g., its caller's flock for life.
start_detached() {
  local log="$1" fd; shift
  (
    for fd in /proc/self/fd/*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid nohup "$@" >>"$log" 2>&1 </dev/null
  ) &
}
