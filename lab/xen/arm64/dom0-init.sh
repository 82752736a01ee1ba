#!/bin/busybox sh
# dom0's /init in the ARM64 Xen lab (run.sh): loads the Xen device drivers, then arms stage-2 write
# traps on two frames of the dom0less domU (domid 1) with stage2-trap and prints what they catch.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in xen-privcmd xen-evtchn xen-gntdev xenfs; do insmod /mods/$m.ko || echo "XENARM insmod $m failed"; done
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen
# The domU runs Debian's 6.1.0-57-cloud-arm64, loaded by Xen at IPA 0x40000000 with no KASLR (its
# device tree has no seed). Offsets from _text, found by Ringside on a snapshot of the same kernel
# under plain QEMU (this kernel's kallsyms has no data symbols): sys_call_table +0xbe09f0,
# init_task +0x1828c80. The syscall table page is written only by an attack; init_task's often.
SCT=40be0
INIT_TASK=41828
echo "XENARM domU gfns sys_call_table=$SCT init_task=$INIT_TASK"
sleep 30
mode=$(cat /mode 2>/dev/null)
if [ "$mode" = ringside ]; then
  # xenstored, so that LibVMI finds the domU by name as on any Xen host (a dom0less domU is not in
  # xenstore: its name is written by hand), then Ringside's openDomain('libvmi') in Node 20.
  export LD_LIBRARY_PATH=/lib/aarch64-linux-gnu
  mkdir -p /var/run/xenstored /var/lib/xenstored /var/log/xen
  /bin/xenstored --pid-file /var/run/xenstored.pid
  echo "XENARM xenstored $?"
  xenstore-write /local/domain/0/name Domain-0 /local/domain/1/name xen-sample
  echo "XENARM xenstore-write $?: $(xenstore-read /local/domain/1/name)"
  start=$(date +%s)
  timeout 60 /bin/node -e 'console.log("XENARM node", process.version, process.arch)'
  echo "XENARM node -e exit $? after $(($(date +%s) - start)) s"
  # A short LibVMI write trap first: it also chooses the domU's monitor-ring frame for Ringside's.
  LD_LIBRARY_PATH=/libvmi/xs:/lib/aarch64-linux-gnu timeout 120 /libvmi-probe 1 5 $INIT_TASK ffff800009828c80
  echo "XENARM libvmi (xenstore running) exit $?"
  start=$(date +%s)
  RINGSIDE_LIBVMI=/libvmi/xs/libvmi.so.0 timeout 600 /bin/node /ringside/dist/lab/xen/arm64/ringside-ps-probe.js xen-sample $INIT_TASK 10
  echo "XENARM ringside probe exit $? after $(($(date +%s) - start)) s"
elif [ "$mode" = libvmi ]; then
  # LibVMI's Xen driver (libvmi-probe.c): first as upstream builds it (with xenstore, which this dom0
  # does not run: a read from xenbus would wait for ever, hence the timeout), then without xenstore,
  # with a write trap on init_task's frame through LibVMI's events.
  export LD_LIBRARY_PATH=/libvmi/xs:/lib/aarch64-linux-gnu
  start=$(date +%s)
  timeout 60 /libvmi-probe 1
  echo "XENARM libvmi (xenstore) exit $? after $(($(date +%s) - start)) s"
  export LD_LIBRARY_PATH=/libvmi/noxs:/lib/aarch64-linux-gnu
  start=$(date +%s)
  timeout 120 /libvmi-probe 1 20 $INIT_TASK ffff800009828c80
  echo "XENARM libvmi (no xenstore) exit $? after $(($(date +%s) - start)) s"
  # The same trap answered as Ringside's LibvmiDomain answers it (EMULATE, frame kept protected).
  timeout 120 /libvmi-probe 1 10 $INIT_TASK ffff800009828c80 emulate
  echo "XENARM libvmi (emulate) exit $?"
else
  /stage2-trap 1 20 $SCT $INIT_TASK
  echo "XENARM trap exit $?"
fi
echo XENARM-DONE
poweroff -f
