#!/bin/bash
# Entrypoint of the dbprov MySQL image.
#   mysqld [args]   start the server; initialise the data directory first, only when it is empty
#   seed            initialise an empty data directory and exit: prepares a disk before anyone
#                   asks for it; credentials are applied at the first start
#   prepare         (as root) give the data directory to mysql; with DBPROV_SEED=1 also seed it
# Credentials come from files (MYSQL_ROOT_PASSWORD_FILE, MYSQL_PASSWORD_FILE) or, as in the
# official image, from MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD.
set -Eeuo pipefail

DATADIR=/var/lib/mysql
PENDING="$DATADIR/.dbprov-credentials-pending"
INIT_FILE=/run/mysqld/dbprov-init.sql

say() { printf '[entrypoint] %s\n' "$*" >&2; }
fail() { printf '[entrypoint] ERROR: %s\n' "$*" >&2; exit 1; }

# file_env VAR: VAR from VAR_FILE when set (the official image's convention).
file_env() {
  local var="$1" file_var="${1}_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then fail "both $var and $file_var are set"; fi
  local val="${!var:-}"
  if [ -n "${!file_var:-}" ]; then
    [ -r "${!file_var}" ] || fail "$file_var points to ${!file_var}, which cannot be read"
    val="$(< "${!file_var}")"
  fi
  export "$var"="$val"
  unset "$file_var"
}

sql_string() { local s="${1//\\/\\\\}"; printf "'%s'" "${s//\'/\\\'}"; }
sql_name() { printf '`%s`' "${1//\`/\`\`}"; }

is_initialised() { [ -d "$DATADIR/mysql" ]; }

install_db() {
  say "initialising the data directory"
  mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --rpm >/dev/null
  touch "$PENDING"
}

# Writes the SQL that sets the credentials, run once by mysqld --init-file before it serves.
write_init_file() {
  file_env MYSQL_ROOT_PASSWORD
  file_env MYSQL_PASSWORD
  local root_pw="${MYSQL_ROOT_PASSWORD:-}"
  if [ -z "$root_pw" ]; then
    if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
      # A bounded read: `tr < /dev/urandom | head` dies of SIGPIPE under pipefail.
      root_pw="$(LC_ALL=C tr -dc 'A-Za-z0-9' < <(head -c 1024 /dev/urandom))"; root_pw="${root_pw:0:32}"
    elif [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ]; then
      fail "no root password: set MYSQL_ROOT_PASSWORD_FILE (or MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD)"
    fi
  fi
  umask 077
  {
    # mariadb-install-db makes password-less root accounts for 127.0.0.1, ::1 and the hostname of
    # the container that initialised the disk: only root@localhost and root@% may remain.
    echo "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost', '%'));"
    echo "DELETE FROM mysql.proxies_priv WHERE User = 'root' AND Host NOT IN ('localhost', '%');"
    echo "FLUSH PRIVILEGES;"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_pw");"
    echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY $(sql_string "$root_pw");"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "${MYSQL_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$MYSQL_DATABASE");"
    fi
    if [ -n "${MYSQL_USER:-}" ]; then
      [ -n "${MYSQL_PASSWORD:-}" ] || fail "MYSQL_USER is set without MYSQL_PASSWORD(_FILE)"
      echo "CREATE USER IF NOT EXISTS $(sql_string "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_string "$MYSQL_PASSWORD");"
      if [ -n "${MYSQL_DATABASE:-}" ]; then
        echo "GRANT ALL ON $(sql_name "$MYSQL_DATABASE").* TO $(sql_string "$MYSQL_USER")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } > "$INIT_FILE"
  # file_env exported the passwords: they must not reach mysqld's environment (/proc/<pid>/environ).
  unset MYSQL_ROOT_PASSWORD MYSQL_PASSWORD
}

run_as_mysql() {
  if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=mysql --regid=mysql --init-groups "$@"
  fi
  exec "$@"
}

cmd="${1:-mysqld}"
case "$cmd" in
  prepare)
    [ "$(id -u)" = 0 ] || fail "prepare runs as root"
    chown mysql:mysql "$DATADIR" && chmod 0750 "$DATADIR"
    if [ "${DBPROV_SEED:-0}" = 1 ]; then run_as_mysql "$0" seed; fi
    exit 0
    ;;
  seed)
    if [ "$(id -u)" = 0 ]; then chown mysql:mysql "$DATADIR"; run_as_mysql "$0" seed; fi
    if is_initialised; then say "already initialised"; exit 0; fi
    [ -z "$(ls -A "$DATADIR" | grep -v '^lost+found$' || true)" ] || fail "$DATADIR is not empty"
    install_db
    sync
    say "seeded"
    exit 0
    ;;
  mysqld|-*)
    [ "$cmd" = mysqld ] && shift || true
    if [ "$(id -u)" = 0 ]; then
      chown mysql:mysql "$DATADIR" /run/mysqld
      # Read secrets as root (they may be readable by root only), then hand the file to mysql.
      if ! is_initialised || [ -e "$PENDING" ]; then write_init_file; chown mysql:mysql "$INIT_FILE"; fi
      run_as_mysql "$0" mysqld "$@"
    fi
    args=("$@")
    if ! is_initialised; then install_db; fi
    if [ -e "$PENDING" ]; then
      [ -e "$INIT_FILE" ] || write_init_file
      args+=("--init-file=$INIT_FILE")
      # The init file holds passwords: once the server answers it has applied them, so the file
      # goes and the data directory is no longer pending. A crash before that retries at restart.
      ( for _ in $(seq 1 240); do
          if [ -S /run/mysqld/mysqld.sock ] && mariadb-admin --socket=/run/mysqld/mysqld.sock ping >/dev/null 2>&1; then
            rm -f "$INIT_FILE" "$PENDING"; exit 0
          fi
          sleep 0.25
        done ) &
    fi
    say "starting mysqld"
    exec mysqld "${args[@]}"
    ;;
  *)
    exec "$@"
    ;;
esac
