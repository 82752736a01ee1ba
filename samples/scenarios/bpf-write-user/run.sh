#!/bin/sh
# An eBPF program that can tamper: bpf-write-user loads a raw-tracepoint program calling
# bpf_probe_write_user, attaches it to sys_enter and sleeps holding it (left for a snapshot).
. /opt/scenarios/lib.sh
set -e
"$SCENARIOS/bpf-write-user/bpf-write-user" 600 </dev/null >"$STATE/bpf-write-user.out" 2>&1 &
pid=$!
echo "$pid" >"$STATE/bpf-write-user.pid"
if ! wait_for 50 grep -q '^loaded' "$STATE/bpf-write-user.out"; then
  cat "$STATE/bpf-write-user.out" >&2
  exit 1
fi
cat "$STATE/bpf-write-user.out"
