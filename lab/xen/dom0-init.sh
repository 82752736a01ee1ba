#!/bin/busybox sh
# The Xen lab's dom0 /init (busybox, in a small initramfs): loads the virtio/9p/overlay/Xen modules,
# mounts the host's root (9p, read-only) under a tmpfs overlay, adds the unpacked Xen tools and runs
# /xchg/dom0-start.sh in it. Only the exchange directory (/xchg) is writable on the host.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "XENLAB-STAGE initramfs"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache \
  9pnet 9pnet_virtio 9p overlay xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc; do
  insmod "/modules/$m.ko" || echo "XENLAB-ERROR insmod $m"
done
mkdir -p /host /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host || echo "XENLAB-ERROR 9p hostroot"
mount -t tmpfs -o size=768m tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  echo "XENLAB-ERROR overlay"
mkdir -p /newroot/xchg
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 xchg /newroot/xchg || echo "XENLAB-ERROR 9p xchg"
xen=$(cat /newroot/xchg/xen-root)
for d in usr etc var; do cp -a "/newroot$xen/$d/." "/newroot/$d/"; done
mkdir -p /newroot/usr/lib/modules
mount --bind "/newroot$xen/lib/modules" /newroot/usr/lib/modules
mount -t proc proc /newroot/proc
mount -t xenfs xenfs /newroot/proc/xen || echo "XENLAB-ERROR xenfs"
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts && mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/run
mount -t tmpfs tmpfs /newroot/tmp
cp /bin/busybox /newroot/run/busybox
echo "XENLAB-STAGE chroot"
exec chroot /newroot /bin/bash /xchg/dom0-start.sh
