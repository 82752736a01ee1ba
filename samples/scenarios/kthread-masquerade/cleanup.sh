#!/bin/sh
# Stops the masquerading process.
. /opt/scenarios/lib.sh
pid=$(saved_pid kthread-masquerade)
[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait_for 50 gone "$pid"
rm -f "$STATE/kthread-masquerade.pid"
