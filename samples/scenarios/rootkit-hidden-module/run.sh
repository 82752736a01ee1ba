#!/bin/sh
# A module hides itself: ringside_rk unlinks itself from the module list and removes its kobject,
# so /proc/modules, lsmod and /sys/module no longer show it; it stays loaded (and in mod_tree).
. /opt/scenarios/lib.sh
set -e
load_rk
echo hide >"$RK_CONTROL"
if grep -q '^ringside_rk ' /proc/modules || [ -e /sys/module/ringside_rk ]; then
  echo "ringside_rk is still visible" >&2
  exit 1
fi
cat "$RK_CONTROL"
