#!/usr/bin/env bash
# Builds the base image (debootstrap + docker import), then every images/*/Dockerfile on top of it.
# An image is rebuilt only when the hash of its folder (and of its base) changed.
source "$(dirname "$0")/lib.sh"
need_root

dir_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }
image_hash() { docker image inspect --format '{{ index .Config.Labels "dbprov.source-hash" }}' "$1" 2>/dev/null || true; }

base_tag="$(cat "$REPO_DIR/images/base/TAG")"
base_hash="$(dir_hash "$REPO_DIR/images/base")"
if [ "$(image_hash "$base_tag")" = "$base_hash" ]; then
  log "$base_tag is up to date"
else
  log "building $base_tag with debootstrap (a few minutes the first time)"
  DBPROV_SOURCE_HASH="$base_hash" "$REPO_DIR/images/base/build.sh" "$base_tag"
fi

for dir in "$REPO_DIR"/images/*/; do
  [ -f "$dir/Dockerfile" ] || continue
  tag="$(cat "$dir/TAG")"
  hash="$(dir_hash "$dir")-$base_hash"
  if [ "$(image_hash "$tag")" = "$hash" ]; then log "$tag is up to date"; continue; fi
  log "building $tag"
  # Host network: the build reaches the Debian mirror the way this machine does.
  mkdir -p "$STATE_DIR"
  build_log="$STATE_DIR/build-$(basename "$dir").log"
  if ! docker build --network host --label "dbprov.source-hash=$hash" --build-arg "BASE=$base_tag" \
      -t "$tag" "$dir" >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    die "building $tag failed (log: $build_log)"
  fi
done
