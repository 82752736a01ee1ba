#!/bin/sh
# Links the sleep back into the task list, kills it, waits until it is reaped, unloads the module.
. /opt/scenarios/lib.sh
pid=$(saved_pid hidden-process)
if module_loaded; then
  grep -q '^hidden none' "$CONTROL" || echo unhide >"$CONTROL"
fi
if [ -n "$pid" ]; then
  kill "$pid" 2>/dev/null
  wait_for 50 gone "$pid" || { echo "pid $pid still there"; exit 1; }
fi
rm -f "$STATE/hidden-process.pid"
unload_module
