# Sourced by run.sh --libvmi: puts libvmi-probe, LibVMI (with and without xenstore) and the arm64
# shared libraries they need (from build-libvmi.sh's sysroot) into dom0's initramfs tree d0/.
sysroot=$work/sysroot
for dir in "$sysroot" "$work/libvmi/lib" "$work/libvmi-noxs/lib"; do
  [ -d "$dir" ] || { say "no $dir: run lab/xen/arm64/build-libvmi.sh LIBVMI_SOURCE first"; exit 2; }
done
aarch64-linux-gnu-gcc -O2 -Wall -o libvmi-probe "$here/libvmi-probe.c" -I"$work/libvmi/include" \
  -I"$sysroot/usr/include" -L"$work/libvmi/lib" -L"$sysroot/usr/lib/aarch64-linux-gnu" \
  -Wl,-rpath-link,"$sysroot/usr/lib/aarch64-linux-gnu" -Wl,-rpath-link,"$sysroot/lib/aarch64-linux-gnu" \
  -lvmi -lxenctrl
mkdir -p d0/lib/aarch64-linux-gnu d0/libvmi/xs d0/libvmi/noxs
cp libvmi-probe d0/
cp -a "$work"/libvmi/lib/libvmi.so* d0/libvmi/xs/
cp -a "$work"/libvmi-noxs/lib/libvmi.so* d0/libvmi/noxs/
cp -a "$work"/libvmi/bin/vmi-* d0/bin/ 2>/dev/null || true
cp -L "$sysroot/lib/ld-linux-aarch64.so.1" d0/lib/
# Every shared object of the sysroot, symlinks kept (LibVMI dlopens libxenctrl.so and libxenstore.so).
for dir in "$sysroot/lib/aarch64-linux-gnu" "$sysroot/usr/lib/aarch64-linux-gnu"; do
  find "$dir" -maxdepth 1 -name '*.so*' ! -name 'libgio*' ! -name 'libgnutls*' -exec cp -a {} d0/lib/aarch64-linux-gnu/ \;
done
echo libvmi >d0/mode
