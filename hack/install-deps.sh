#!/usr/bin/env bash
# Installs, with apt, what the appliance and its tests need and is missing. Idempotent.
source "$(dirname "$0")/lib.sh"
need_root

want=(docker.io xfsprogs debootstrap mariadb-client util-linux iproute2 curl ca-certificates openssl docker-registry haproxy)
if [ "${DBPROV_BROWSER_TESTS:-1}" = 1 ]; then want+=(chromium); fi
missing=()
for p in "${want[@]}"; do
  contains "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package's own service would listen on :5000 on every interface; hack/fleet.sh runs the registry itself.
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
  # Nor is the package's own HAProxy service wanted: hack/silo.sh runs HAProxy with its own configuration.
  if [[ " ${missing[*]} " == *" haproxy "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now haproxy.service >/dev/null 2>&1 || true
  fi
else
  log "packages present"
fi
