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
if [ "$(cat /mode 2>/dev/null)" = libvmi ]; then
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
else
  /stage2-trap 1 20 $SCT $INIT_TASK
  echo "XENARM trap exit $?"
fi
echo XENARM-DONE
poweroff -f
