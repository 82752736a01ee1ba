#!/bin/sh
# A dropper run from /tmp (a copy of busybox named sh) loads the test rootkit with insmod, then
# has it point sys_call_table[217] (getdents64, the entry rootkits hook to hide files) into the module.
# The hook stays in place for a snapshot; this kernel dispatches through x64_sys_call's switch,
# so the guest behaves as before.
. /opt/scenarios/lib.sh
set -e
mkdir -p /tmp/.rk
cp /bin/busybox /tmp/.rk/sh
chmod 755 /tmp/.rk/sh
/tmp/.rk/sh -c "insmod $SCENARIOS/ringside_test.ko $(module_args) && echo 'hook 217' >$CONTROL"
grep '^ringside_test ' /proc/modules
cat "$CONTROL"
