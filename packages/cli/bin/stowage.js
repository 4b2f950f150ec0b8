#!/usr/bin/env -S sh -c 'f=$0; [ -L "$f" ] && f=$(readlink -f "$f"); . "${f%/*}/launch.sh"'
// The #! line runs bin/launch.sh (sh, beside this file; through a symlink too), which sets
// glibc's malloc for a small peak RSS and drops NODE_EXTRA_CA_CERTS for commands that open no
// TLS connection (Node parses that file at every start), then runs node on the launcher,
// bin/stowage.cjs (CommonJS: it starts sooner than this ES module would). Package managers'
// shims copy the line (pnpm, npm); `node bin/stowage.js` runs without it and imports the
// launcher. See native-bench/README.md, "Peak RSS of image snapshots and restores" and "Image
// snapshots' CPU: session of 2026-11-29 late (hsnap)".
import './stowage.cjs';
