#!/bin/sh
# Unloading ringside_rk unregisters its ftrace_ops and kprobe.
. /opt/scenarios/lib.sh
unload_rk
