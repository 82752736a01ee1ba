#!/bin/sh
# A process of the user app (uid 1000) named like a kernel thread (comm kworker/0:2H, command line
# [kworker/0:2H]), left sleeping for a snapshot.
. /opt/scenarios/lib.sh
set -e
su -s /bin/sh app -c "exec $SCENARIOS/kthread-masquerade/masquerade 600" </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid" >"$STATE/kthread-masquerade.pid"
wait_for 50 sh -c "grep -q '^Name:.kworker/0:2H' /proc/$pid/status"
echo "pid $pid poses as $(tr '\0' ' ' </proc/$pid/cmdline)"
