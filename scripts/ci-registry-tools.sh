#!/usr/bin/env bash
# Issue 12 (registry tests: test/serve.test.ts, test/registry-*.test.ts): installs the real
# clients and registry when missing: docker-registry (CNCF distribution), skopeo, podman,
# runc, a static busybox (runnable test images), curl, openssl. Idempotent; quiet.
# Called from .ci/run; the tests skip locally with one line when a tool is absent and
# fail under CI=true.
set -uo pipefail
as_root=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo -n"; fi
{ [ "$(id -u)" = 0 ] || [ -n "$as_root" ]; } && command -v apt-get >/dev/null 2>&1 || exit 0
missing=""
for t in docker-registry:docker-registry skopeo:skopeo podman:podman runc:runc curl:curl openssl:openssl; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
{ [ -x /bin/busybox ] && ldd /bin/busybox 2>&1 | grep -qE 'not a dynamic|statically'; } || missing="$missing busybox-static"
if [ -n "$missing" ]; then
  echo "ci: installing$missing (registry tests)" >&2
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || echo "ci: could not install$missing" >&2
fi
exit 0
