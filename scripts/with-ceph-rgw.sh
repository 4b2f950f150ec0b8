#!/usr/bin/env bash
# Runs a command with a throwaway Ceph RGW on 127.0.0.1 (scripts/ceph-rgw-start.sh: random free
# ports, state in a temp dir) and STOWAGE_TEST_S3 exported for the S3 tests; stops the cluster
# and removes its state when the command ends, whatever happened. Exits with the command's code.
# When Ceph is not installed or does not start, runs the command without STOWAGE_TEST_S3 (the
# S3 tests then skip locally and fail under CI=true).
# Usage: scripts/with-ceph-rgw.sh <command> [args...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${STOWAGE_TEST_S3:-}" ]; then exec "$@"; fi   # an S3 is configured already
if ! command -v radosgw >/dev/null 2>&1 || ! command -v ceph-mon >/dev/null 2>&1; then
  echo "ceph-rgw: radosgw/ceph-mon not installed; S3 tests will skip (or fail under CI=true)" >&2
  exec "$@"
fi
state=$(mktemp -d "${TMPDIR:-/tmp}/stowage-ceph.XXXXXX")
cleanup() { bash "$here/ceph-rgw-stop.sh" "$state/c" >/dev/null 2>&1; rm -rf "$state"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
if bash "$here/ceph-rgw-start.sh" "$state/c" >"$state/start.log" 2>&1; then
  # shellcheck disable=SC1091
  set -a; . "$state/c/env"; set +a
  echo "ceph-rgw: radosgw at ${STOWAGE_TEST_S3##*@} (state $state)" >&2
else
  echo "ceph-rgw: could not start Ceph RGW:" >&2; tail -n 20 "$state/start.log" >&2
fi
"$@"
