#!/usr/bin/env bash
# Runs the whole test suite (unit tests beside the code, end-to-end tests in test/).
# Sets the machine up first if needed. Ends with a plain "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# the layer rules (ARCHITECTURE.md): an upward import, an import cycle or a test helper in published code fails here
pnpm run -s deps
# the linter (eslint.config.js: eslint + typescript-eslint recommended, floating promises in published code)
pnpm run -s lint
# the formatter (.prettierrc.json): the code base is formatted; `pnpm run format` fixes what this flags
pnpm run -s format:check
# tests and test helpers are not part of the build: type-check them (strict, like the code)
pnpm run -s typecheck:tests
results=.vitest-results.json
rm -f "$results"
rc=0
# Tests leave nothing behind: they run with a temp directory of their own (TMPDIR: os.tmpdir()
# of vitest and of every CLI process it starts), which must be empty when they end.
# A short, lowercase name: podman refuses a --runroot longer than 50 characters and reads an
# oci:<dir> path as an image name (lowercase only); mode 1777 as /tmp, for tests that run the
# CLI as another user (nobody).
test_tmp="${TMPDIR:-/tmp}/st.$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -m 1777 "$test_tmp"
trap 'rm -rf "$test_tmp"' EXIT # also when the run is interrupted
trap 'exit 130' INT
trap 'exit 143' TERM
TMPDIR="$test_tmp" pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || rc=$?
if [ -f "$results" ]; then
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""))' "$results"
fi
left=$(find "$test_tmp" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
if [ -n "$left" ]; then
  echo "test.sh: FAILED: the tests left $(echo "$left" | wc -l) entries ($(du -sh "$test_tmp" | cut -f1)) in the temp directory; every test must remove its temporary files:"
  echo "$left" | head -20 | sed 's/^/  /'
  rc=1
fi
rm -rf "$test_tmp"
exit "$rc"
