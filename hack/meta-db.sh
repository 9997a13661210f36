#!/usr/bin/env bash
# Starts the meta MySQL database: a container of the dbprov MySQL image, listening on loopback
# only, data on a named volume. Its root password is generated once and kept in a root-only file.
#   meta-db.sh up | down | purge | env
source "$(dirname "$0")/lib.sh"

NAME="${DBPROV_META_NAME:-dbprov-meta}"
PORT="${DBPROV_META_PORT:-3306}"
IMAGE="$(cat "$REPO_DIR/images/mysql/TAG")"
VOLUME="$NAME-data"
# Sized with the pools that use it: each server process and test suite keeps at most 50 pooled
# connections (MetaDbOptions.MaximumPoolSize), the benchmarks 100; MariaDB's default of 151 ran out
# with `make run` and `make bench` together.
MAX_CONNECTIONS="${DBPROV_META_MAX_CONNECTIONS:-1000}"
ARGS=(mysqld --bind-address=127.0.0.1 --port="$PORT" --max-connections="$MAX_CONNECTIONS")
SECRETS="$STATE_DIR/secrets"
PW_FILE="$SECRETS/meta-root-password"

up() {
  need_root
  mkdir -p "$SECRETS" && chmod 0700 "$SECRETS"
  if [ ! -s "$PW_FILE" ]; then
    (umask 077; random_alnum 32 > "$PW_FILE")
  fi
  local want; want="$IMAGE ${ARGS[*]}"
  if [ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] \
      && [ "$(docker inspect -f '{{index .Config.Labels "dbprov.meta.config"}}' "$NAME" 2>/dev/null)" = "$want" ]; then
    log "meta database $NAME is running on 127.0.0.1:$PORT"
  else
    docker rm -f "$NAME" >/dev/null 2>&1 || true
    log "starting meta database $NAME on 127.0.0.1:$PORT"
    docker run -d --name "$NAME" --network host --restart unless-stopped \
      --label dbprov.role=meta --label "dbprov.meta.config=$want" \
      -v "$VOLUME:/var/lib/mysql" \
      -v "$PW_FILE:/etc/dbprov/secrets/root-password:ro" \
      -e MYSQL_ROOT_PASSWORD_FILE=/etc/dbprov/secrets/root-password \
      -e MYSQL_DATABASE=dbprov \
      "$IMAGE" "${ARGS[@]}" >/dev/null
  fi
  for _ in $(seq 1 120); do
    if MYSQL_PWD="$(cat "$PW_FILE")" mariadb -h 127.0.0.1 -P "$PORT" -u root -e 'SELECT 1' >/dev/null 2>&1; then
      # The server made `dbprov` at its first start only: a database dropped since (by hand) is made again.
      MYSQL_PWD="$(cat "$PW_FILE")" mariadb -h 127.0.0.1 -P "$PORT" -u root -e 'CREATE DATABASE IF NOT EXISTS dbprov' \
        || die "meta database answers but cannot create database dbprov"
      log "meta database answers"; return 0
    fi
    sleep 0.5
  done
  docker logs --tail 30 "$NAME" >&2 || true
  die "meta database did not answer within 60 s"
}

case "${1:-up}" in
  up) up ;;
  down) docker rm -f "$NAME" >/dev/null 2>&1 || true; log "meta database stopped (data kept)" ;;
  purge) docker rm -f "$NAME" >/dev/null 2>&1 || true; docker volume rm "$VOLUME" >/dev/null 2>&1 || true; log "meta database removed" ;;
  env) echo "DBPROV_META_HOST=127.0.0.1"; echo "DBPROV_META_PORT=$PORT"; echo "DBPROV_META_PASSWORD_FILE=$PW_FILE" ;;
  *) die "usage: meta-db.sh up|down|purge|env" ;;
esac
