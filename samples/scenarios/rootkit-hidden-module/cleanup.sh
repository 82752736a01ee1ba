#!/bin/sh
# Puts the module back on the list (and its kobject back), then unloads it.
. /opt/scenarios/lib.sh
unload_rk
