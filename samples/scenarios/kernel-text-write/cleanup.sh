#!/bin/sh
# Puts the original text back and unloads the module.
. /opt/scenarios/lib.sh
module_loaded && echo "textunhook" >"$CONTROL"
unload_module
