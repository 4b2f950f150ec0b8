#!/usr/bin/env bash
# The main job on a fresh machine: set up, build two versions of a small sample
# image tarball, snapshot both into a local repository, list, restore, verify.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
demo=${DEMO_DIR:-$PWD/.stowage-demo}
rm -rf "$demo"; mkdir -p "$demo"
export STOWAGE_REPOSITORY="$demo/repo" STOWAGE_CACHE_DIR="$demo/cache"
# Repositories are encrypted by default. A demo password, given the way scripts give one
# (STOWAGE_PASSWORD, or a file in STOWAGE_PASSWORD_FILE); use a long random one for real data.
export STOWAGE_PASSWORD=${STOWAGE_PASSWORD:-stowage demo password}
stowage=node_modules/.bin/stowage
echo "== building sample images (docker-archive, 2 versions)"
bash scripts/make-sample-image.sh "$demo/app-v1.tar" 1
bash scripts/make-sample-image.sh "$demo/app-v2.tar" 2
ls -l "$demo"/app-v*.tar
echo "== stowage init (encrypted: AES-256-GCM, master keys wrapped under the password with scrypt)"
$stowage init
$stowage key list
echo "== stowage snapshot v1, then v2 (v2 shares v1's layer: only its new layer is stored, and its upgraded lib1.so as a delta)"
$stowage snapshot "$demo/app-v1.tar" --tag v1
$stowage snapshot "$demo/app-v2.tar" --tag v2
echo "== stowage snapshots"
$stowage snapshots
echo "== stowage restore latest"
$stowage restore latest "$demo/restored-v2.tar"
echo "== verify"
a=$(sha256sum < "$demo/app-v2.tar"); b=$(sha256sum < "$demo/restored-v2.tar")
[ "$a" = "$b" ] || { echo "MISMATCH: restored image differs" >&2; exit 1; }
echo "restored image is byte-identical: sha256 ${a%% *}"
du -sh "$demo/repo" | sed 's/^/repository size: /'
echo "== a wrong password is refused (exit 12)"
if STOWAGE_PASSWORD=wrong $stowage snapshots; then echo "a wrong password was accepted" >&2; exit 1; else echo "exit code $?"; fi
