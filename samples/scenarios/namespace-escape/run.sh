#!/bin/sh
# A container escape: a shell in new mount and PID namespaces (a container, as unshare makes one)
# gets init's namespaces (init_nsproxy) and credentials (init_cred) from the test rootkit, as a kernel
# exploit's payload hands them, then waits (a read on a FIFO, no fork, no exec: it keeps init_cred
# itself, as every exec or fork would copy it), left for a snapshot.
. /opt/scenarios/lib.sh
set -e
load_module
rm -f "$STATE/namespace-escape.fifo"
mkfifo "$STATE/namespace-escape.fifo"
unshare -m -p -f sh -c "echo escape >$CONTROL; read line <$STATE/namespace-escape.fifo" </dev/null >/dev/null 2>&1 &
echo "$!" >"$STATE/namespace-escape.unshare"
wait_for 50 sh -c "grep -q '^escapes 1' $CONTROL"
# The escaped shell (PID 1 of the new PID namespace): the child of the unshare process.
pid=$(awk -v parent="$(cat "$STATE/namespace-escape.unshare")" '$1 == "PPid:" && $2 == parent { print FILENAME }' /proc/[0-9]*/status 2>/dev/null | head -n 1 | cut -d/ -f3)
echo "$pid" >"$STATE/namespace-escape.pid"
echo "escaped pid $pid: mnt $(readlink /proc/$pid/ns/mnt) (init's $(readlink /proc/1/ns/mnt)), pid ns $(readlink /proc/$pid/ns/pid)"
