#!/bin/bash
# The ARM64 Xen lab, by hand (docs/xen.md, "ARM64"): Debian's Xen 4.17 for arm64 under
# qemu-system-aarch64 TCG (-machine virt,virtualization=on), dom0 = Debian's cloud-arm64 kernel with a
# busybox initramfs that runs stage2-trap.c, and a dom0less domU (the ARM64 sample guest) described in
# the device tree. Prints what dom0's stage-2 write traps saw on the domU, then stops the machine.
#
# Usage: lab/xen/arm64/run.sh [--libvmi] [XEN_IMAGE]   (default image: Debian's xen-hypervisor-4.17-arm64,
#        built without CONFIG_MEM_ACCESS; pass a hypervisor built with it to see traps)
#        --libvmi: dom0 runs libvmi-probe.c (LibVMI's own Xen driver on the domU) instead of
#        stage2-trap.c; needs LibVMI cross-built first (build-libvmi.sh).
#        --ringside: dom0 also gets Node 20 (arm64) and Ringside's dist, runs xenstored, names the
#        domU and lists its tasks through openDomain's LibVMI kind (ringside-ps-probe.ts).
# Needs: qemu-system-aarch64, gcc-aarch64-linux-gnu, device-tree-compiler, cpio, and the ARM64
# sample guest built once (`ringside guest build --arch aarch64`). Everything else is downloaded with
# apt-get download into ~/.cache/ringside/xen-arm64 and unpacked there, never installed.
set -euo pipefail
libvmi=0 ringside=0
if [ "${1:-}" = --libvmi ]; then libvmi=1; shift; fi
if [ "${1:-}" = --ringside ]; then libvmi=1 ringside=1; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
cache=${RINGSIDE_CACHE:-$HOME/.cache/ringside}
work=$cache/xen-arm64
guest=$cache/guest/arm64
mkdir -p "$work/debs"
cd "$work"

say() { printf 'xen-arm64: %s\n' "$*" >&2; }

# Debian packages (arm64 is a foreign architecture here: scripts/setup.sh adds it).
for package in xen-hypervisor-4.17-arm64 libxen-dev; do
  if ! ls debs/${package}_*_arm64.deb >/dev/null 2>&1; then
    (cd debs && apt-get download "$package:arm64" >/dev/null 2>&1) || {
      say "cannot download $package:arm64 (is arm64 a dpkg foreign architecture?)"
      exit 2
    }
  fi
done
[ -d root ] || dpkg-deb -x debs/xen-hypervisor-4.17-arm64_*_arm64.deb root
[ -d dev ] || dpkg-deb -x debs/libxen-dev_*_arm64.deb dev
xen=${1:-$work/root/boot/xen-4.17-arm64}
[ -f "$xen" ] || { say "no hypervisor image at $xen"; exit 2; }

kernel=$(ls "$guest"/pkg-*-arm64/boot/vmlinuz-* 2>/dev/null | head -1)
initrd=$(ls "$guest"/image-*-arm64-*/initrd.cpio 2>/dev/null | head -1)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then
  say "the ARM64 sample guest is not built (ringside guest build --arch aarch64)"
  exit 2
fi
modules=$(ls -d "$guest"/pkg-*-arm64/lib/modules/*/kernel/drivers/xen | head -1)

# dom0's programs: the trap tool, linked statically against Debian's arm64 Xen libraries.
aarch64-linux-gnu-gcc -O2 -static -I"$work/dev/usr/include" -o stage2-trap "$here/stage2-trap.c" \
  -L"$work/dev/usr/lib/aarch64-linux-gnu" -lxenctrl -lxenevtchn -lxenforeignmemory -lxencall \
  -lxengnttab -lxendevicemodel -lxentoolcore -lxentoollog -lpthread 2>/dev/null
rm -rf d0 && mkdir -p d0/bin d0/proc d0/sys d0/dev d0/mods d0/tmp
cp "$(ls "$guest"/pkg-busybox/bin/busybox)" d0/bin/
cp "$modules"/xen-privcmd.ko "$modules"/xen-evtchn.ko "$modules"/xen-gntdev.ko "$modules"/xenfs/xenfs.ko d0/mods/
cp stage2-trap d0/ && cp "$here/dom0-init.sh" d0/init && chmod +x d0/init
if [ $libvmi = 1 ]; then
  # LibVMI dlopens libxenctrl/libxenstore, so dom0 gets a dynamic userland: the probe, both LibVMI
  # builds and every library they need, from the arm64 debs build-libvmi.sh unpacked.
  . "$here/libvmi-dom0.sh"
fi
# Node 20 + Ringside in dom0: its openDomain('libvmi') lists the domU's tasks (ringside-ps-probe.ts).
dom0_mem=512M
if [ $ringside = 1 ]; then . "$here/ringside-dom0.sh"; dom0_mem=1024M; fi
if [ $ringside = 1 ]; then
  # Xen puts dom0's kernel, tree and initrd in dom0's first memory bank: ~200 MB of Node and
  # Ringside do not fit there uncompressed ("Not enough memory in the first bank").
  (cd d0 && find . | cpio -o -H newc 2>/dev/null) | gzip -6 >dom0.cpio
else
  (cd d0 && find . | cpio -o -H newc 2>/dev/null) >dom0.cpio
fi

machine="virt,virtualization=on,gic-version=3"
append="console=dtuart dom0_mem=${dom0_mem:-512M} dom0_max_vcpus=1 loglvl=all guest_loglvl=all"
loaders=(-device "guest-loader,addr=0x49000000,kernel=$kernel,bootargs=console=hvc0"
  -device "guest-loader,addr=0x60000000,initrd=dom0.cpio")  # above the domU's modules: a Node dom0 is big
common=(-cpu cortex-a57 -smp 2 -m 2048 -display none -kernel "$xen" -append "$append")

# QEMU writes the device tree it would give Xen (with dom0's modules); the domU is added to /chosen
# as Xen's dom0less bindings describe (docs/misc/arm/device-tree/booting.txt in Xen's source).
qemu-system-aarch64 -machine "$machine,dumpdtb=base.dtb" "${common[@]}" "${loaders[@]}" >/dev/null
dtc -q -I dtb -O dts base.dtb >base.dts
python3 - "$(printf '0x%x' "$(stat -c %s "$kernel")")" "$(printf '0x%x' "$(stat -c %s "$initrd")")" <<'PY'
import sys
dts = open('base.dts').read()
node = f'''		domU1 {{
			compatible = "xen,domain";
			#address-cells = <0x1>;
			#size-cells = <0x1>;
			memory = <0x0 0x40000>;
			cpus = <0x1>;
			vpl011;
			module@5a000000 {{
				compatible = "multiboot,kernel", "multiboot,module";
				reg = <0x5a000000 {sys.argv[1]}>;
				bootargs = "console=ttyAMA0";
			}};
			module@5c000000 {{
				compatible = "multiboot,ramdisk", "multiboot,module";
				reg = <0x5c000000 {sys.argv[2]}>;
			}};
		}};
'''
at = dts.index('\t\tmodule@0x49000000')
open('lab.dts', 'w').write(dts[:at] + node + dts[at:])
PY
dtc -q -I dts -O dtb -o lab.dtb lab.dts

rm -f serial.log
started=$(date +%s)
timeout 900 nice -n 15 qemu-system-aarch64 -name "${RINGSIDE_XEN_ARM64_NAME:-ringside-xen-arm64}" -machine "$machine" "${common[@]}" \
  -monitor none -no-reboot -serial file:serial.log -dtb lab.dtb "${loaders[@]}" \
  -device "loader,file=$kernel,addr=0x5a000000,force-raw=on" \
  -device "loader,file=$initrd,addr=0x5c000000,force-raw=on" || true
say "ran $(($(date +%s) - started)) s; dom0 and the domU's console: $work/serial.log"
grep -a -E '^(XENARM|RING|ARM gfn|TRAP|DONE|LIBVMI)|xc: error|Over-allocation|VMI_ERROR' serial.log || true
grep -a -c 'DOM1: RINGSIDE-PS' serial.log | sed 's/^/domU workload lines: /'
