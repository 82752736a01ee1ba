#!/bin/sh
# Stops the escalated shell and unloads the module.
. /opt/scenarios/lib.sh
pid=$(saved_pid privilege-escalation)
[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait_for 50 gone "$pid"
rm -f "$STATE/privilege-escalation.pid" "$STATE/privilege-escalation.out"
unload_module
