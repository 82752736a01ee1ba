#!/bin/sh
# Stops the loader: closing its descriptors detaches and frees the program.
. /opt/scenarios/lib.sh
pid=$(saved_pid bpf-write-user)
[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait_for 50 gone "$pid"
rm -f "$STATE/bpf-write-user.pid" "$STATE/bpf-write-user.out"
