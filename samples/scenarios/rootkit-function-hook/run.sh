#!/bin/sh
# A module hooks kernel functions the way today's rootkits do, without writing any table: an
# ftrace_ops on __x64_sys_getdents64 (file hiding) and a kprobe on __x64_sys_kill (signal
# backdoors), both with handlers in ringside_rk. The handlers only count; ls and kill run through them.
. /opt/scenarios/lib.sh
set -e
load_rk
echo 'ftrace __x64_sys_getdents64' >"$RK_CONTROL"
echo 'kprobe __x64_sys_kill' >"$RK_CONTROL"
ls / >/dev/null
kill -0 $$
cat "$RK_CONTROL"
