#!/bin/sh
# Stops the memfd payload.
. /opt/scenarios/lib.sh
pid=$(saved_pid fileless-exec)
[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait_for 50 gone "$pid"
rm -f "$STATE/fileless-exec.pid"
