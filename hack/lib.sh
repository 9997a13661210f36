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

engine_answers() { docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }
