#!/usr/bin/env bash
# Everything the appliance and its tests need on this machine, from nothing: packages, the Docker
# engine, the images, the loop-disk pool, a swap file, the meta database and a fleet of DBPROV_FLEET_NODES (default 2)
# extra engines (hack/fleet.sh). Idempotent: a second run is quick.
source "$(dirname "$0")/lib.sh"
need_root
"$HACK_DIR/install-deps.sh"
"$HACK_DIR/start-docker.sh"
"$HACK_DIR/build-images.sh"
"$HACK_DIR/disks.sh" up >/dev/null
log "disk pool: $("$HACK_DIR/disks.sh" list | wc -l) loop disks ($STATE_DIR/disks)"
"$HACK_DIR/swap.sh" up
"$HACK_DIR/meta-db.sh" up
bash "$HACK_DIR/fleet.sh" up "${DBPROV_FLEET_NODES:-2}"
