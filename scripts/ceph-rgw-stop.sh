#!/bin/bash
# Stop the daemons started by scripts/ceph-rgw-start.sh (by PID file only) and wait for them to exit.
D=${1:?state dir}; pids=()
for n in client.rgw.a osd.0 mon.a; do
  f=$D/run/$n.pid; [ -f "$f" ] && p=$(cat "$f") && kill "$p" 2>/dev/null && pids+=("$p")
done
for i in $(seq 1 40); do alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done; [ $alive = 0 ] && break; sleep 0.25; done
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -9 "$p"; done
echo "stopped: ${pids[*]}"
