#!/bin/sh
# Stops the payload and removes it.
. /opt/scenarios/lib.sh
pid=$(saved_pid exec-from-tmp)
[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait_for 50 gone "$pid"
rm -rf /tmp/.x "$STATE/exec-from-tmp.pid"
