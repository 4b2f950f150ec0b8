#!/usr/bin/env bash
# Builds a small docker-archive ("docker save" layout) image tarball by hand, with
# real layer tars, a config and a manifest: make-sample-image.sh OUT.tar VERSION
# Version N has N layers; each version adds a layer and keeps the lower ones
# byte-identical, as a rebuilt image does; layers 2.. also upgrade the first layer's
# lib1.so (a few bytes changed).
set -euo pipefail
out=$1; version=${2:-1}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/img"
layers=(); diffids=()
for ((v = 1; v <= version; v++)); do
  root="$work/rootfs$v"; mkdir -p "$root/usr/lib/sample$v" "$root/etc"
  # deterministic content: pseudo-random "binaries" plus compressible text
  for i in 1 2 3 4; do
    head -c $((400000 * i)) < <(openssl enc -aes-256-ctr -pass "pass:layer$v-file$i" -nosalt -pbkdf2 </dev/zero 2>/dev/null) > "$root/usr/lib/sample$v/lib$i.so"
  done
  seq 1 20000 | sed "s/^/layer $v line /" > "$root/etc/sample$v.conf"
  if ((v > 1)); then
    # an upgraded copy of the first layer's lib1.so, a few bytes changed (a rebuilt package):
    # stored as a delta against the old one
    mkdir -p "$root/usr/lib/sample1"
    head -c 400000 < <(openssl enc -aes-256-ctr -pass "pass:layer1-file1" -nosalt -pbkdf2 </dev/zero 2>/dev/null) > "$root/usr/lib/sample1/lib1.so"
    for off in 1000 101000 201000 301000; do printf 'v%s' "$v" | dd of="$root/usr/lib/sample1/lib1.so" bs=1 seek=$off conv=notrunc status=none; done
  fi
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2024-01-01 00:00Z' -C "$root" -cf "$work/layer$v.tar" .
  d=$(sha256sum "$work/layer$v.tar" | cut -d' ' -f1)
  mkdir -p "$work/img/$d"; mv "$work/layer$v.tar" "$work/img/$d/layer.tar"
  layers+=("\"$d/layer.tar\""); diffids+=("\"sha256:$d\"")
done
join() { local IFS=,; echo "$*"; }
config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$(join "${diffids[@]}")]}}"
cd_=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
printf '%s' "$config" > "$work/img/$cd_.json"
printf '[{"Config":"%s.json","RepoTags":["sample/app:v%s"],"Layers":[%s]}]' "$cd_" "$version" "$(join "${layers[@]}")" > "$work/img/manifest.json"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2024-01-01 00:00Z' -C "$work/img" -cf "$out" .
