#!/bin/sh
# Starts `sleep 600` as nobody (uid 65534) and has the test rootkit unlink it from the task list.
# It stays in the PID table: /proc/PID and busybox ps (which reads /proc) still show it, while
# everything walking the task list (for_each_process) no longer does. A root shell waits for the
# sleep, so that it is reaped (and leaves the kernel's lists) as soon as it is killed.
. /opt/scenarios/lib.sh
set -e
load_module
rm -f "$STATE/hidden-process.pid"
sh -c "su -s /bin/sh nobody -c 'exec sleep 600' </dev/null >/dev/null 2>&1 & echo \$! >$STATE/hidden-process.pid; wait" \
  </dev/null >/dev/null 2>&1 &
wait_for 50 test -s "$STATE/hidden-process.pid"
pid=$(saved_pid hidden-process)
wait_for 50 grep -q '^sleep' "/proc/$pid/comm"
echo "hide $pid" >"$CONTROL"
echo "hid pid $pid"
cat "$CONTROL"
