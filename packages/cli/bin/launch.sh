# Sourced by the #! line of bin/stowage.js (sh, with $0 = that script, $f = it with symlinks
# resolved, and "$@" its arguments); ends by running node on the launcher beside it,
# bin/stowage.cjs (CommonJS: node runs its first line 4-15 ms sooner than an ES module's, and
# the password's key derivation starts there). What it sets, each variable kept when the user
# set it:
#
# - glibc's malloc for a small peak RSS (issue 13): two arenas, and blocks and free tops of
#   2 MiB and more handed back to the system. By default glibc gives each thread an arena, and
#   once a buffer larger than 128 KiB was freed its threshold rises, so that each arena keeps up
#   to twice that (up to 64 MiB) of free memory. See native-bench/README.md, "Peak RSS of image
#   snapshots and restores".
# - NODE_EXTRA_CA_CERTS only for a command that may open a TLS connection: Node 20 parses that
#   file (and its own root certificates) when every process starts, whether it ever connects or
#   not: about 50 ms of CPU and wall time per command with a system bundle of 140 certificates
#   (`node -e 0` 109 against 39 ms). A command may connect only when an argument, or
#   STOWAGE_REPOSITORY / STOWAGE_FROM_REPOSITORY, names an https:// or docker:// location or an
#   s3: repository other than s3:http://; then the variable is kept as it is.
#
# - V8's young generation capped at 2 x 4 MiB per thread (--max-semi-space-size=4;
#   default 2 x 16 MiB): V8 grows it in long runs, and a snapshot of docker.tar v5 peaked with
#   21 MiB of it resident; capped, 184-188 against 195-207 MB, CPU the same within noise (a 2 MiB
#   cap cost a restore about 20% more CPU for 9 MB). V8 checks a code cache against its flags:
#   bin/stowage.cjs keeps the caches of runs with node options apart (src/code-cache.ts
#   commandCacheKey), so `node bin/stowage.js` does not reject and rewrite the launcher's.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-2097152}" MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-2097152}"
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  stowage_tls_=
  for stowage_arg_ in "$@" "${STOWAGE_REPOSITORY:-}" "${STOWAGE_FROM_REPOSITORY:-}"; do
    case $stowage_arg_ in
      *s3:http://*) ;;
      *https://* | *docker://* | *s3:*) stowage_tls_=1 ;;
    esac
  done
  [ -n "$stowage_tls_" ] || unset NODE_EXTRA_CA_CERTS
  unset stowage_tls_ stowage_arg_
fi
exec node --max-semi-space-size=4 "${f%/*}/stowage.cjs" "$@"
