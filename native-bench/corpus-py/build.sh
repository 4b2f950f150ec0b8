#!/usr/bin/env bash
# native-bench/corpus-py/build.sh - a second benchmark corpus for issue 13 item 4: container
# images whose layers are many small text files (Debian's python3, pip and python3-* library
# packages added version by version; Debian packages only, no PyPI). Adapted from
# shared/corpus/build.sh (same debootstrap -> umoci layer per version -> skopeo steps); only
# the docker-archive is exported. Not part of the test suite. Run as root:
#
#   bash native-bench/corpus-py/build.sh /work/corpus-py     -> /work/corpus-py/py/v1..v5.docker.tar
#
# build.sh - build a benchmark corpus of REAL container image tarballs.
#
# Every byte comes from real tools and real Debian packages:
#   debootstrap (minbase) -> chroot apt-get install -> umoci (one new layer per
#   version, on top of the previous version) -> skopeo copy to
#   docker-archive ("docker save" format) and oci-archive, plus a GNU tar of
#   each version's rootfs as a flat baseline.
#
# Usage:  build.sh [OUTDIR]          (default: ./corpus; must run as root)
#
# Output:
#   OUTDIR/py/vN.docker.tar              docker-archive (layers: plain tar)
#   OUTDIR/MANIFEST.txt                  py series (size, sha256, layers, recipe)
#   OUTDIR/READY                         written last
#
# The Debian mirror is read from the host's apt sources at run time; nothing
# here names a host.  Environment knobs:
#   SUITE=bookworm            Debian suite for debootstrap
#   INSTALL_TOOLS=1           apt-get install the build tools first
#   KEEP_WORK=0               keep OUTDIR/.work (OCI layouts) afterwards
#   WRITE_READY=1             write OUTDIR/READY at the end
#   APT_OPTS=--no-install-recommends
set -euo pipefail

OUT=${1:-./corpus}
SUITE=${SUITE:-bookworm}
INSTALL_TOOLS=${INSTALL_TOOLS:-1}
KEEP_WORK=${KEEP_WORK:-0}
WRITE_READY=${WRITE_READY:-1}
APT_OPTS=${APT_OPTS:---no-install-recommends}

T0=$(date +%s)
log() { printf '[%s +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mount)"
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------- tools
if [ "$INSTALL_TOOLS" = 1 ]; then
    log "apt-get update + install build tools"
    apt-get update -q >/dev/null
    apt-get install -y -q debootstrap umoci skopeo jq file ca-certificates >/dev/null
fi
for t in debootstrap umoci skopeo jq file tar sha256sum chroot mount umount; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done

# ---------------------------------------------------------------- mirror
# Read the mirror URIs from the host's apt configuration (no host names here).
repo_uri() { # $1 = suite name, e.g. bookworm / bookworm-security
    apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
        awk -v s="$1" '$2 == s && $3 == "deb" { print $1; exit }'
}
repo_uri_from_files() { # fallback: parse sources.list / deb822 .sources directly
    local etc parts list
    eval "$(apt-config shell etc Dir::Etc/d parts Dir::Etc::sourceparts/d list Dir::Etc::sourcelist/f)"
    { [ -f "$list" ] && awk -v s="$1" '$1 == "deb" && $0 ~ (" " s " ") { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' "$list"
      for f in "$parts"/*.sources; do [ -f "$f" ] || continue
          awk -v s="$1" 'BEGIN{RS=""; FS="\n"} { u=""; ok=0
              for (i = 1; i <= NF; i++) { if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
                                          if ($i ~ /^Suites:/ && (" " $i " ") ~ (" " s " ")) ok = 1 }
              if (ok && u != "") print u }' "$f"; done
      for f in "$parts"/*.list; do [ -f "$f" ] || continue
          awk -v s="$1" '$1 == "deb" && $0 ~ (" " s " ") { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' "$f"; done
    } 2>/dev/null | head -n1
}
MIRROR=$(repo_uri "$SUITE"); [ -n "$MIRROR" ] || MIRROR=$(repo_uri_from_files "$SUITE")
[ -n "$MIRROR" ] || die "no apt source for suite '$SUITE' found on this host"
MIRROR=${MIRROR%/}
SEC_MIRROR=$(repo_uri "$SUITE-security"); [ -n "$SEC_MIRROR" ] || SEC_MIRROR=$(repo_uri_from_files "$SUITE-security")
SEC_MIRROR=${SEC_MIRROR%/}
log "mirror: $MIRROR  security: ${SEC_MIRROR:-none}"

# ---------------------------------------------------------------- folders
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
[ "$OUT" != / ] || die "refusing to use / as output"
WORK="$OUT/.work"
# Never rm -rf through a mount left behind by an interrupted earlier run.
unmount_under() { # $1 = directory
    local m
    awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    if awk -v d="$1/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
        die "mounts remain under $1"
    fi
}
unmount_under "$WORK"
rm -f "$OUT/READY" "$OUT/MANIFEST.txt"
rm -rf "$OUT/py" "$WORK"
mkdir -p "$WORK" "$OUT/py"

# ---------------------------------------------------------------- mounts
MOUNTS=()
umount_all() {
    local i
    for (( i = ${#MOUNTS[@]} - 1; i >= 0; i-- )); do umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true; done
    MOUNTS=()
}
trap umount_all EXIT
trap 'exit 130' INT TERM

# Run a command inside the rootfs: /proc and a devpts mounted, the host resolver visible
# (bind-mounted, so nothing of the host is copied into the image), services
# blocked by policy-rc.d; all of it undone afterwards.
# EXTRA_CA=<file> additionally bind-mounts that CA bundle at /tmp/.build-ca.crt.
in_root() {
    local root=$1; shift
    local made_resolv=0 made_ca=0 rc=0
    mount -t proc proc "$root/proc"; MOUNTS+=("$root/proc")
    # a private devpts so apt/dpkg can log to a pty (/var/log/apt/term.log)
    if mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$root/dev/pts" 2>/dev/null; then
        MOUNTS+=("$root/dev/pts")
    fi
    if [ ! -e "$root/etc/resolv.conf" ] && [ ! -L "$root/etc/resolv.conf" ]; then : > "$root/etc/resolv.conf"; made_resolv=1; fi
    mount --bind /etc/resolv.conf "$root/etc/resolv.conf"; MOUNTS+=("$root/etc/resolv.conf")
    if [ -n "${EXTRA_CA:-}" ]; then
        : > "$root/tmp/.build-ca.crt"; made_ca=1
        mount --bind "$EXTRA_CA" "$root/tmp/.build-ca.crt"; MOUNTS+=("$root/tmp/.build-ca.crt")
    fi
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
    chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" || rc=$?
    rm -f "$root/usr/sbin/policy-rc.d"
    umount_all
    [ $made_resolv = 0 ] || rm -f "$root/etc/resolv.conf"
    [ $made_ca = 0 ] || rm -f "$root/tmp/.build-ca.crt"
    return $rc
}

# apt-get install like a Dockerfile RUN line: update, install, clean.
apt_run() { # root, then a shell snippet run between update and clean
    in_root "$1" /bin/sh -ec "apt-get update -q; $2; apt-get clean; rm -rf /var/lib/apt/lists/*" 
}

set_sources() { # root, with_updates(0/1)
    local root=$1 upd=$2
    rm -f "$root/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s' "$MIRROR" "$SUITE"
        [ "$upd" = 1 ] && printf ' %s-updates' "$SUITE"
        printf '\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        if [ "$upd" = 1 ] && [ -n "$SEC_MIRROR" ]; then
            printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$SEC_MIRROR" "$SUITE"
        fi
    } > "$root/etc/apt/sources.list.d/debian.sources"
}

# ---------------------------------------------------------------- image steps
# series_start NAME DESTDIR: new OCI layout with an empty image "scratch",
# unpacked into a fresh bundle, then debootstrap into bundle/rootfs.
series_start() {
    S_NAME=$1; S_DEST=$2; S_LAYOUT="$WORK/$S_NAME/oci"; S_BUNDLE="$WORK/$S_NAME/bundle"
    mkdir -p "$WORK/$S_NAME"
    umoci init --layout "$S_LAYOUT"
    umoci new --image "$S_LAYOUT:scratch"
    umoci config --image "$S_LAYOUT:scratch" \
        --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --config.cmd /bin/bash --author "corpus build.sh"
    umoci unpack --image "$S_LAYOUT:scratch" "$S_BUNDLE"
    log "$S_NAME: debootstrap --variant=minbase $SUITE"
    debootstrap --variant=minbase "$SUITE" "$S_BUNDLE/rootfs" "$MIRROR" > "$WORK/$S_NAME/debootstrap.log" 2>&1 ||
        { tail -n 30 "$WORK/$S_NAME/debootstrap.log" >&2; die "debootstrap failed"; }
    local r="$S_BUNDLE/rootfs"
    # like the official debian images: no host resolver/hostname, no apt caches
    rm -f "$r/etc/resolv.conf" "$r/etc/hostname"
    set_sources "$r" 0
    in_root "$r" /bin/sh -ec 'apt-get clean; rm -rf /var/lib/apt/lists/*'
    S_PREV=""
}

# commit TAG CREATED_BY EXPORT(0/1): flat tar, umoci repack (new layer), exports.
commit() {
    local tag=$1 by=$2 export=${3:-1} r="$S_BUNDLE/rootfs"
    mountpoint -q "$r/proc" && die "proc still mounted"
    if [ "$export" = 1 ]; then
        log "$S_NAME:$tag: rootfs $(du -sh "$r" | cut -f1), $(find "$r" -type f | wc -l) files"
    fi
    log "$S_NAME:$tag: umoci repack"
    umoci repack --image "$S_LAYOUT:$tag" --history.created_by "$by" "$S_BUNDLE"
    rm -rf "$S_BUNDLE"
    if [ "$export" = 1 ]; then
        log "$S_NAME:$tag: skopeo copy -> docker-archive"
        skopeo copy -q "oci:$S_LAYOUT:$tag" "docker-archive:$S_DEST/$tag.docker.tar:corpus/$S_NAME:$tag"
        # sanity: every archive must parse, and list the expected number of layers
        local want f n
        want=$(jq '.layers | length' "$S_LAYOUT/blobs/sha256/$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$S_LAYOUT/index.json" | cut -d: -f2)")
        for f in "docker-archive:$S_DEST/$tag.docker.tar"; do
            n=$(skopeo inspect "$f" | jq '.Layers | length')
            [ "$n" = "$want" ] || die "$f: $n layers, expected $want"
        done
    fi
    # record recipe + package summary for the manifest
    printf '%s\t%s\n' "$tag" "$by" >> "$WORK/$S_NAME/recipes"
    S_PREV=$tag
}

# next: unpack the previous version into a fresh bundle (a "RUN" step follows).
next() {
    umoci unpack --image "$S_LAYOUT:$S_PREV" "$S_BUNDLE"
}

pkg_summary() { # root -> "N packages"
    chroot "$1" dpkg-query -W -f '${binary:Package}\n' | wc -l
}

# ================================================================ series "py"
# A language runtime with its package manager and libraries, version by version: layers of
# tens of thousands of small text files (.py, .pyc-free: Debian ships no .pyc; locale data).
series_start py "$OUT/py"
echo "v1 $(pkg_summary "$S_BUNDLE/rootfs")" >> "$WORK/py/pkgcount"
commit v1 "debootstrap --variant=minbase $SUITE; apt-get clean; rm -rf /var/lib/apt/lists/*"

next; log "py:v2: + python3 python3-pip python3-venv"
apt_run "$S_BUNDLE/rootfs" "apt-get install -y -q $APT_OPTS python3 python3-pip python3-venv"
echo "v2 $(pkg_summary "$S_BUNDLE/rootfs")" >> "$WORK/py/pkgcount"
commit v2 "apt-get install $APT_OPTS python3 python3-pip python3-venv"

next; log "py:v3: + python3-requests python3-yaml python3-jinja2 python3-click"
apt_run "$S_BUNDLE/rootfs" "apt-get install -y -q $APT_OPTS python3-requests python3-yaml python3-jinja2 python3-click"
echo "v3 $(pkg_summary "$S_BUNDLE/rootfs")" >> "$WORK/py/pkgcount"
commit v3 "apt-get install $APT_OPTS python3-requests python3-yaml python3-jinja2 python3-click"

next; log "py:v4: + python3-django"
apt_run "$S_BUNDLE/rootfs" "apt-get install -y -q $APT_OPTS python3-django"
echo "v4 $(pkg_summary "$S_BUNDLE/rootfs")" >> "$WORK/py/pkgcount"
commit v4 "apt-get install $APT_OPTS python3-django"

next; log "py:v5: + python3-sqlalchemy python3-babel, $SUITE-updates/-security, apt-get upgrade"
set_sources "$S_BUNDLE/rootfs" 1
apt_run "$S_BUNDLE/rootfs" "apt-get upgrade -y -q $APT_OPTS; apt-get install -y -q $APT_OPTS python3-sqlalchemy python3-babel"
echo "v5 $(pkg_summary "$S_BUNDLE/rootfs")" >> "$WORK/py/pkgcount"
commit v5 "enable $SUITE-updates + $SUITE-security; apt-get upgrade; apt-get install $APT_OPTS python3-sqlalchemy python3-babel"

# ================================================================ manifest
layer_info() { # file -> "layers<TAB>layer compression"
    local f=$1 tmp
    case "$f" in
    *.rootfs.tar) printf '%s\t%s\n' "-" "n/a (flat tar)";;
    *.docker.tar)
        tmp=$(mktemp -d)
        tar -xf "$f" -C "$tmp"
        local n comp
        n=$(jq '.[0].Layers | length' "$tmp/manifest.json")
        comp=$(jq -r '.[0].Layers[]' "$tmp/manifest.json" | while read -r l; do head -c 4096 "$tmp/$l" | file -b - | cut -d, -f1; done | sort | uniq -c | sed 's/^ *//' | paste -sd';')
        rm -rf "$tmp"; printf '%s\t%s\n' "$n" "$comp";;
    *.oci*.tar)
        tmp=$(mktemp -d)
        tar -xf "$f" -C "$tmp"
        local m n comp
        m=$(jq -r '.manifests[0].digest' "$tmp/index.json"); m=${m#sha256:}
        n=$(jq '.layers | length' "$tmp/blobs/sha256/$m")
        comp=$(jq -r '.layers[] | .mediaType + " " + .digest' "$tmp/blobs/sha256/$m" | while read -r mt d; do
            magic=$(head -c 4096 "$tmp/blobs/sha256/${d#sha256:}" | file -b - | cut -d, -f1)
            case "$mt:$magic" in
                *tar+gzip:gzip*|*.tar:*tar\ archive*) ;;
                *) log "WARNING: $f: layer $d media type $mt but content is '$magic'";;
            esac
            printf '%s [%s]\n' "${mt##*/}" "$magic"; done | sort | uniq -c | sed 's/^ *//' | paste -sd';')
        rm -rf "$tmp"; printf '%s\t%s\n' "$n" "$comp";;
    esac
}

write_manifest() { # dir(relative to OUT) series manifest-file
    local dir=$1 series=$2 mf=$3 f rel size sum li
    {
        echo "# Corpus of real container image tarballs - series '$series'"
        echo "# built: $(date -u +%Y-%m-%dT%H:%M:%SZ) by tools/corpus/build.sh (build time so far: $(( $(date +%s) - T0 )) s)"
        echo "# host: $(. /etc/os-release; echo "$PRETTY_NAME") $(uname -m)"
        echo "# tools: $(skopeo --version) | umoci $(umoci --version | awk '{print $3}') | debootstrap $(dpkg-query -W -f '${Version}' debootstrap) | $(tar --version | head -n1) | jq $(jq --version)"
        echo "# debian: suite $SUITE, mirror from the host apt sources; apt options: $APT_OPTS"
        echo "# formats: vN.docker.tar = skopeo docker-archive (docker save layout, uncompressed layer tars)"
        echo "#          vN.oci.tar    = skopeo oci-archive of the umoci layout (gzip layers as umoci wrote them)"
        echo "#          vN.oci-uncompressed.tar = skopeo copy --dest-decompress oci -> dir, then dir -> oci-archive --dest-oci-accept-uncompressed-layers"
        echo "#          vN.rootfs.tar = GNU tar --sort=name --numeric-owner of the version's rootfs (flat baseline)"
        echo "# layering: version N = version N-1 + one new umoci layer (lower layers byte-identical)"
        echo "#"
        echo "# recipe (one layer per line):"
        sed 's/^/#   /' "$WORK/$series/recipes"
        echo "# dpkg packages installed per version:"
        sed 's/^/#   /' "$WORK/$series/pkgcount"
        echo "#"
        printf '# %s\t%s\t%s\t%s\t%s\n' file bytes sha256 layers layer-compression
        for f in $(cd "$OUT" && ls "$dir"/*.tar | sort -V); do
            size=$(stat -c %s "$OUT/$f")
            sum=$(sha256sum "$OUT/$f" | cut -d' ' -f1)
            li=$(layer_info "$OUT/$f")
            printf '%s\t%s\t%s\t%s\n' "$f" "$size" "$sum" "$li"
        done
    } > "$mf"
}

log "writing manifests"
write_manifest py py "$OUT/MANIFEST.txt"

if [ "$KEEP_WORK" != 1 ]; then unmount_under "$WORK"; rm -rf "$WORK"; fi
log "done in $(( $(date +%s) - T0 )) s; total $(du -sh "$OUT" | cut -f1)"
[ "$WRITE_READY" != 1 ] || date -u +%Y-%m-%dT%H:%M:%SZ > "$OUT/READY"
