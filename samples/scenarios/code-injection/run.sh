#!/bin/sh
# Code injection: a `sleep 600` of the user app (uid 1000) gets, through ptrace, an anonymous
# writable+executable mapping holding a payload (inject); it is left running for a snapshot.
. /opt/scenarios/lib.sh
set -e
su -s /bin/sh app -c "exec sleep 600" </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid" >"$STATE/code-injection.pid"
wait_for 50 sh -c "grep -q '^Name:.sleep' /proc/$pid/status"
"$SCENARIOS/code-injection/inject" "$pid"
grep rwxp "/proc/$pid/maps"
