#!/bin/sh
# The test rootkit plants an inline hook with CR0.WP cleared: __x64_sys_getppid starts with a jmp
# into the module (texthook), left in place for a snapshot.
. /opt/scenarios/lib.sh
set -e
load_module
echo "texthook" >"$CONTROL"
cat "$CONTROL"
