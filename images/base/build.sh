#!/usr/bin/env bash
# Builds the Debian base image with debootstrap and `docker import` (no registry is reachable).
# Usage: build.sh TAG
set -euo pipefail
tag="$1"
suite="${DBPROV_BASE_SUITE:-bookworm}"
mirror="${DBPROV_BASE_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d /var/tmp/dbprov-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/dev/null
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
  "$mirror" "$suite" "$mirror" "$suite" "${mirror%/debian}/debian-security" "$suite" > "$root/etc/apt/sources.list"
# Keep images small: no docs, no man pages, no apt caches.
cat > "$root/etc/dpkg/dpkg.cfg.d/01-dbprov-nodoc" <<'CFG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/99-dbprov-no-translations"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' \
  --change "LABEL dbprov.source-hash=${DBPROV_SOURCE_HASH:-unknown}" - "$tag" >/dev/null
