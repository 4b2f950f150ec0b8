#!/usr/bin/env bash
# Tools the tree snapshot tests (test/tree*.test.ts) judge with or build trees with:
# rsync, GNU tar, acl (setfacl/getfacl), attr (setfattr/getfattr), libcap2-bin (setcap).
# Idempotent: installs only what is missing (apt-get, as root).
set -euo pipefail
missing=""
command -v rsync >/dev/null 2>&1 || missing="$missing rsync"
command -v setfacl >/dev/null 2>&1 || missing="$missing acl"
command -v setfattr >/dev/null 2>&1 || missing="$missing attr"
command -v setcap >/dev/null 2>&1 || missing="$missing libcap2-bin"
command -v perl >/dev/null 2>&1 || missing="$missing perl-base"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ci: installing$missing (tree tests)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || echo "ci: could not install$missing" >&2
fi
