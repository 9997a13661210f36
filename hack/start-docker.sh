#!/usr/bin/env bash
# Starts dockerd in the background when no engine answers, and waits until one does.
source "$(dirname "$0")/lib.sh"
need_root

if engine_answers; then log "docker engine answers"; exit 0; fi

mkdir -p "$STATE_DIR"
log "starting dockerd (log: $STATE_DIR/dockerd.log)"
start_detached "$STATE_DIR/dockerd.log" dockerd
for _ in $(seq 1 120); do
  if engine_answers; then log "docker engine answers"; exit 0; fi
  sleep 0.5
done
tail -n 30 "$STATE_DIR/dockerd.log" >&2 || true
die "dockerd did not answer within 60 s"
