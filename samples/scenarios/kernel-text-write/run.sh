#!/bin/sh
# The test rootkit rewrites the first byte of __x64_sys_getppid with the value already there, with
# CR0.WP cleared: a write to kernel code that changes nothing.
. /opt/scenarios/lib.sh
set -e
load_module
echo "textpoke __x64_sys_getppid" >"$CONTROL"
cat "$CONTROL"
