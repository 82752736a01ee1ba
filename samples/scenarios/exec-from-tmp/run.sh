#!/bin/sh
# A copy of busybox dropped in a hidden folder under /tmp and run from there by the unprivileged
# user app (uid 1000): once for `id`, and once as a `sleep 600` left running for a snapshot.
. /opt/scenarios/lib.sh
set -e
mkdir -p /tmp/.x
cp /bin/busybox /tmp/.x/payload
chmod 755 /tmp/.x /tmp/.x/payload
# busybox picks its applet from argv[0], so argv[0] names the applet; the file run is still the copy.
su -s /bin/sh app -c 'exec -a id /tmp/.x/payload'
su -s /bin/sh app -c 'exec -a sleep /tmp/.x/payload 600' </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid" >"$STATE/exec-from-tmp.pid"
# Its name (comm) is payload, after the file; wait until su has become the payload.
wait_for 50 grep -q '^payload' "/proc/$pid/comm"
echo "payload running as pid $pid"
