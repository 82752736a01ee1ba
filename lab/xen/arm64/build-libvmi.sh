#!/bin/bash
# Cross-builds LibVMI for arm64 with its Xen driver, for the ARM64 Xen lab (run.sh --libvmi), against
# Debian's arm64 libxen-dev, glib and json-c unpacked (apt-get download + dpkg-deb -x, never installed)
# into ~/.cache/ringside/xen-arm64/sysroot. Installs into ~/.cache/ringside/xen-arm64/libvmi (with
# xenstore, as upstream builds it) and libvmi-noxs (without: a dom0less dom0 runs no xenstored).
#
# Usage: lab/xen/arm64/build-libvmi.sh LIBVMI_SOURCE_DIR   (a checkout of libvmi/libvmi; 82bbee6 ran)
# Needs: gcc-aarch64-linux-gnu, cmake, flex, bison, pkg-config; arm64 as a dpkg foreign architecture.
set -euo pipefail
src=$(cd "${1:?usage: build-libvmi.sh LIBVMI_SOURCE_DIR}" && pwd)
[ -f "$src/libvmi/libvmi.h" ] || { echo "build-libvmi: $src is not a LibVMI checkout" >&2; exit 2; }
work=${RINGSIDE_CACHE:-$HOME/.cache/ringside}/xen-arm64
sysroot=$work/sysroot
mkdir -p "$work/debs"

# Build-time headers/libraries and what dom0 needs at run time (run.sh --libvmi copies from here).
packages="libxen-dev libxenmisc4.17 libxenstore4 libxencall1 libxendevicemodel1 libxenevtchn1
  libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxentoollog1 libxentoolcore1 libglib2.0-dev
  libglib2.0-0 libjson-c-dev libjson-c5 libpcre2-8-0 libpcre2-dev zlib1g zlib1g-dev libc6 libyajl2
  libffi8 libmount1 libselinux1 libblkid1 libgcc-s1 libuuid1 libfdt1 libext2fs2 libcom-err2"
for package in $packages; do
  ls "$work/debs/${package}"_*_arm64.deb >/dev/null 2>&1 ||
    (cd "$work/debs" && apt-get download "$package:arm64" >/dev/null 2>&1) ||
    { echo "build-libvmi: cannot download $package:arm64" >&2; exit 2; }
done
if [ ! -d "$sysroot" ]; then
  mkdir -p "$sysroot"
  for package in $packages; do dpkg-deb -x "$(ls "$work/debs/${package}"_*_arm64.deb | head -1)" "$sysroot"; done
fi

build=$(mktemp -d /tmp/xenarm-libvmi-build.XXXXXX)
trap 'rm -rf "$build"' EXIT
cat >"$build/toolchain.cmake" <<TC
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH $sysroot)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
TC
export PKG_CONFIG_LIBDIR=$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$sysroot
libs=$sysroot/usr/lib/aarch64-linux-gnu
ldflags="-L$libs -Wl,-rpath-link,$libs -Wl,-rpath-link,$sysroot/lib/aarch64-linux-gnu"
for variant in libvmi:ON libvmi-noxs:OFF; do
  name=${variant%%:*} xenstore=${variant##*:}
  mkdir -p "$build/$name" && cd "$build/$name"
  # -Wno-error: a Release build adds -Werror, and the cross gcc 12 warns where upstream's CI does not.
  nice -n 15 cmake "$src" -DCMAKE_TOOLCHAIN_FILE="$build/toolchain.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX=/ -DENABLE_KVM=OFF -DENABLE_BAREFLANK=OFF -DENABLE_XEN=ON \
    -DENABLE_XENSTORE=$xenstore -DENABLE_VMIFS=OFF -DENABLE_STATIC=OFF \
    -DCMAKE_C_FLAGS="-I$sysroot/usr/include -Wno-error" -DCMAKE_REQUIRED_INCLUDES="$sysroot/usr/include" \
    -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" >cmake.log
  nice -n 15 make -j2 >make.log
  rm -rf "${work:?}/$name" && make install DESTDIR="$work/$name" >/dev/null
  # GNUInstallDirs puts the libraries of prefix / under usr/lib.
  [ -d "$work/$name/usr/lib" ] && mv "$work/$name/usr/lib" "$work/$name/lib" && rmdir "$work/$name/usr"
  echo "build-libvmi: $work/$name (xenstore $xenstore)"
done
