#!/bin/sh
# Stops the injected process.
. /opt/scenarios/lib.sh
pid=$(saved_pid code-injection)
[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait_for 50 gone "$pid"
rm -f "$STATE/code-injection.pid"
