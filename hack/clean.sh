#!/usr/bin/env bash
# Removes what DbProvisioner made on this machine: the fleet (its engines, namespaces, disks and registry), its
# containers and volumes, the loop disks and the meta database, the swap file; first the silos of `make run SILOS=N` and HAProxy. Packages, dockerd and the images stay.
source "$(dirname "$0")/lib.sh"
need_root
bash "$HACK_DIR/silo.sh" down
bash "$HACK_DIR/fleet.sh" down
if engine_answers; then
  ids="$(docker ps -aq --filter label=dbprov.managed-by)"
  [ -n "$ids" ] && docker rm -f $ids >/dev/null
  vols="$(docker volume ls -q --filter label=dbprov.managed-by)"
  [ -n "$vols" ] && docker volume rm $vols >/dev/null
  "$HACK_DIR/meta-db.sh" purge
fi
"$HACK_DIR/disks.sh" purge
"$HACK_DIR/swap.sh" down
