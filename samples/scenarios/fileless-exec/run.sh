#!/bin/sh
# Fileless execution: the user app (uid 1000) copies busybox into a memfd and executes it from there
# (memfd-exec), as a `sleep 600` left running for a snapshot.
. /opt/scenarios/lib.sh
set -e
su -s /bin/sh app -c "exec $SCENARIOS/fileless-exec/memfd-exec /bin/busybox sleep 600" </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid" >"$STATE/fileless-exec.pid"
# Once executed, /proc/PID/exe names the memfd.
wait_for 50 sh -c "readlink /proc/$pid/exe | grep -q '^/memfd:payload'"
echo "payload running from a memfd as pid $pid: $(readlink /proc/$pid/exe)"
