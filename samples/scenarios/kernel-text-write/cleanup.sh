#!/bin/sh
# Unloads the module (the text is unchanged: nothing else to undo).
. /opt/scenarios/lib.sh
unload_module
