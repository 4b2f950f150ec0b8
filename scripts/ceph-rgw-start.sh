#!/bin/bash
# Throwaway single-node Ceph for the S3 tests: 1 mon + 1 memstore OSD (no mgr, auth none) + radosgw
# (beast) on 127.0.0.1. Adapted from ../shared/s3/start-ceph-rgw.sh (see ../shared/docs/s3-notes.md
# for why each non-obvious setting is there).
# Usage: scripts/ceph-rgw-start.sh <state-dir>
#   env: RGW_PORT, MON_PORT (default: random free ports) OSD_STORE (memstore|bluestore)
#        MEMSTORE_BYTES S3_ACCESS_KEY S3_SECRET_KEY
# Writes <state-dir>/env: STOWAGE_TEST_S3=http://accessKey:secret@127.0.0.1:<port> (source it).
# Stop: scripts/ceph-rgw-stop.sh <state-dir>  (kills the PIDs in <state-dir>/run/*.pid)
set -euo pipefail
D=${1:?state dir}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
PORT=${RGW_PORT:-$(free_port)}; MON_PORT=${MON_PORT:-$(free_port)}
while [ "$MON_PORT" = "$PORT" ]; do MON_PORT=$(free_port); done
ts() { echo "[$(date +%s.%N | cut -c1-14)] $*"; }
if [ -d "$D" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/ceph.conf" ]; then echo "refusing to wipe non-empty $D" >&2; exit 1; fi
rm -rf "$D"; mkdir -p "$D"/{mon,osd,run,log,rgw}
FSID=$(cat /proc/sys/kernel/random/uuid)
if [ "${OSD_STORE:-memstore}" = bluestore ]; then   # data on a sparse file under $D (RAM use stays flat)
  OSD_STORE_CONF="osd_objectstore = bluestore
bluestore_block_size = ${BLUESTORE_BYTES:-10737418240}
bluestore_fsck_on_mkfs = false
bluestore_fsck_on_mount = false
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_memory_target = 939524096"
else                                                # data in RAM, capped at MEMSTORE_BYTES
  OSD_STORE_CONF="osd_objectstore = memstore
memstore_device_bytes = ${MEMSTORE_BYTES:-1073741824}"
fi
export CEPH_CONF=$D/ceph.conf
cat > "$CEPH_CONF" <<CONF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
run_dir = $D/run
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
log_file = $D/log/\$name.log
mon_data = $D/mon/\$name
osd_data = $D/osd/\$name
$OSD_STORE_CONF
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 1
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw_data = $D/rgw
keyring = $D/rgw/keyring
CONF
ts "mon mkfs+start"
ceph-authtool --create-keyring "$D/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/mon.keyring"
ceph-mon -i a
ts "osd mkfs+start"
UUID=$(cat /proc/sys/kernel/random/uuid)
# the mon may still be electing itself on a loaded machine: retry
OSD=""
for i in 1 2 3 4 5; do OSD=$(ceph --connect-timeout 15 osd new "$UUID" 2>>"$D/log/osd-new.log") && break; sleep 1; done
[ -n "$OSD" ] || { echo "ceph osd new failed; see $D/log" >&2; exit 1; }
mkdir -p "$D/osd/osd.$OSD"
ceph-osd -i "$OSD" --mkfs --osd-uuid "$UUID" 2>>"$D/log/osd-mkfs.log"
ceph-osd -i "$OSD" 2>>"$D/log/osd-start.log"
for i in $(seq 1 120); do ceph osd stat 2>/dev/null | grep -q " 1 up" && break; sleep 0.5; done
ceph osd stat | grep -q " 1 up" || { echo "osd did not come up; see $D/log" >&2; exit 1; }
ts "osd up; creating pools"
{ for p in .rgw.root default.rgw.control default.rgw.meta default.rgw.log default.rgw.buckets.index default.rgw.buckets.non-ec default.rgw.buckets.data; do
    echo "osd pool create $p"; echo "osd pool application enable $p rgw"; done; } | ceph >/dev/null 2>&1
ts "rgw user"
radosgw-admin user create --uid=test --display-name=test --access-key="${S3_ACCESS_KEY:-accessKey1}" --secret="${S3_SECRET_KEY:-verySecretKey1}" >/dev/null
ts "rgw start"
radosgw -n client.rgw.a
for i in $(seq 1 240); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.25; done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" || true)
[ "$code" = 200 ] || { echo "radosgw not answering (http $code); see $D/log" >&2; exit 1; }
echo "STOWAGE_TEST_S3=http://${S3_ACCESS_KEY:-accessKey1}:${S3_SECRET_KEY:-verySecretKey1}@127.0.0.1:$PORT" > "$D/env"
ts "radosgw ready: http://127.0.0.1:$PORT (pids: $(cat "$D"/run/*.pid | paste -sd' '))"
