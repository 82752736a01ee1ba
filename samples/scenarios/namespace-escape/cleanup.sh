#!/bin/sh
# Stops the escaped shell (its unshare parent then ends) and unloads the module.
. /opt/scenarios/lib.sh
pid=$(saved_pid namespace-escape)
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait_for 50 gone "$pid"
parent=$(cat "$STATE/namespace-escape.unshare" 2>/dev/null)
[ -n "$parent" ] && wait_for 50 gone "$parent"
rm -f "$STATE/namespace-escape.pid" "$STATE/namespace-escape.unshare" "$STATE/namespace-escape.fifo"
unload_module
