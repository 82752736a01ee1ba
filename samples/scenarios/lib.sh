# Helpers the scenario scripts source (busybox sh, inside the throw-away sample guest only).
SCENARIOS=/opt/scenarios
CONTROL=/proc/ringside_test
STATE=/run/ringside-scenarios
mkdir -p "$STATE"

# The address of a kernel symbol, from /proc/kallsyms (hex, no 0x).
ksym() { awk -v name="$1" '$3 == name { print $1; exit }' /proc/kallsyms; }

# The test module's insmod arguments: the module finds unexported symbols through
# kallsyms_lookup_name, whose address it gets here (so it needs no kprobe, which patches text).
module_args() { echo "kallsyms_lookup_name=0x$(ksym kallsyms_lookup_name)"; }

module_loaded() { grep -q '^ringside_test ' /proc/modules; }

load_module() { module_loaded || insmod "$SCENARIOS/ringside_test.ko" $(module_args); }

unload_module() { ! module_loaded || rmmod ringside_test; }

# wait_for TENTHS COMMAND…: retries COMMAND every 0.1 s until it succeeds, at most TENTHS times.
wait_for() {
  tries=$1
  shift
  until "$@"; do
    tries=$((tries - 1))
    [ "$tries" -le 0 ] && return 1
    sleep 0.1
  done
}

# The pid a scenario saved, and whether that process still exists.
saved_pid() { cat "$STATE/$1.pid" 2>/dev/null; }
gone() { [ ! -e "/proc/$1" ]; }

# The second test module (ringside_rk: hides itself, ftrace and kprobe hooks); its control file.
RK_CONTROL=/proc/ringside_rk
rk_loaded() { [ -e "$RK_CONTROL" ]; }
load_rk() { rk_loaded || insmod "$SCENARIOS/ringside_rk.ko"; }
# Unhides it first when hidden (rmmod does not find a module that is off the module list).
unload_rk() {
  rk_loaded || return 0
  ! grep -q '^hidden yes' "$RK_CONTROL" || echo unhide >"$RK_CONTROL"
  rmmod ringside_rk
}
