#!/bin/bash
# The Xen lab's dom0 start-up, inside the host-root overlay: starts xenstored, xenconsoled and the
# PVH domU, then serves commands the host drops in /xchg (req-ID.sh → out-ID, rc-ID), each in the background.
export PATH=/usr/lib/xen-4.17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
mkdir -p /run/xenstored /var/log/xen/console /var/lib/xen /var/lib/xenstored /run/xen
say() { echo "XENLAB-$*" >/dev/hvc0 2>/dev/null || echo "XENLAB-$*"; echo "XENLAB-$*" >>/xchg/dom0.log; }
say "STAGE dom0-start $(cut -d' ' -f1 /proc/uptime)"
XENSTORED_ROOTDIR=/run/xenstored oxenstored --pid-file /run/xenstore.pid >>/xchg/dom0.log 2>&1 ||
  say "ERROR oxenstored"
for _ in $(seq 100); do xenstore-read / >/dev/null 2>&1 && break; sleep 0.2; done
xen-init-dom0 >>/xchg/dom0.log 2>&1 || say "ERROR xen-init-dom0"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console \
  >>/xchg/dom0.log 2>&1 || say "ERROR xenconsoled"
xl info >/xchg/xl-info.txt 2>&1
say "STAGE dom0-up $(cut -d' ' -f1 /proc/uptime)"
if [ -f /xchg/domU.cfg ]; then
  if xl create /xchg/domU.cfg >>/xchg/dom0.log 2>&1; then
    say "STAGE domU-created $(cut -d' ' -f1 /proc/uptime)"
  else
    say "ERROR xl create"
  fi
fi
say "READY"
# The command loop: each request runs on its own (a hung one does not block the others).
while true; do
  for req in /xchg/req-*.sh; do
    [ -e "$req" ] || continue
    id=${req#/xchg/req-}
    id=${id%.sh}
    mv "$req" "/xchg/run-$id.sh"
    (
      cd /root && bash "/xchg/run-$id.sh" >"/xchg/out-$id.tmp" 2>&1 </dev/null
      echo $? >"/xchg/rc-$id.tmp"
      mv "/xchg/out-$id.tmp" "/xchg/out-$id"
      mv "/xchg/rc-$id.tmp" "/xchg/rc-$id"
      rm -f "/xchg/run-$id.sh"
    ) &
  done
  sleep 0.2
done
