#!/usr/bin/env bash
# Issue 15 (CLI conventions): the tools its tests need and skip without, except under CI=true:
# util-linux `script` (a pseudo-terminal for test/progress.test.ts, package bsdutils), and
# zsh and fish (test/install.test.ts checks their completion scripts). Idempotent.
set -euo pipefail
as_root=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo -n"; fi
{ [ "$(id -u)" = 0 ] || [ -n "$as_root" ]; } && command -v apt-get >/dev/null 2>&1 || exit 0
missing=""
command -v script >/dev/null 2>&1 || missing="$missing bsdutils"
command -v zsh >/dev/null 2>&1 || missing="$missing zsh"
command -v fish >/dev/null 2>&1 || missing="$missing fish"
[ -z "$missing" ] && exit 0
echo "ci: installing$missing" >&2
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || true
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || echo "ci: could not install$missing; the tests that need them fail under CI=true" >&2
