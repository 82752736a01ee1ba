#!/usr/bin/env bash
# Installs what Ringside needs on a fresh Debian 12 machine (run as root, or with sudo available):
# QEMU 10 from bookworm-backports (x86-64 and AArch64 system emulators), the tools the sample guest
# build uses, arm64 as a foreign dpkg architecture (the ARM64 sample guest's packages are downloaded,
# never installed), then npm packages and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# What to install: scripts/apt.d/*.list, lines "COMMAND PACKAGE…" (prefix "backports:" for
# bookworm-backports); a line's packages are installed when its COMMAND is missing.
plain=()
backports=()
while read -r line; do
  line=${line%%#*}
  [ -n "${line// /}" ] || continue
  from=plain
  case "$line" in backports:*) from=backports; line=${line#backports:} ;; esac
  read -r tool packages <<<"$line"
  command -v "$tool" >/dev/null 2>&1 && continue
  if [ "$from" = backports ]; then backports+=($packages); else plain+=($packages); fi
done < <(cat scripts/apt.d/*.list)
if ! qemu-system-x86_64 --version 2>/dev/null | grep -qE 'version (1[0-9]|[2-9][0-9])\.'; then
  backports+=(qemu-system-x86 qemu-system-arm)
fi
if ! pkg-config --exists glib-2.0 2>/dev/null; then plain+=(libglib2.0-dev); fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
fi

if [ "${#plain[@]}" -gt 0 ] || [ "${#backports[@]}" -gt 0 ]; then
  if [ ! -f /etc/apt/sources.list.d/bookworm-backports.sources ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Backports come from the same archive the machine already uses for bookworm: no host is named here.
    uri=$(bash scripts/apt-archive-uri.sh bookworm)
    if [ -z "$uri" ]; then
      echo "setup: no apt source for bookworm found in /etc/apt/sources.list{,.d}; add bookworm-backports by hand" >&2
      exit 2
    fi
    $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  $SUDO apt-get update -qq
  if [ "${#backports[@]}" -gt 0 ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -t bookworm-backports "${backports[@]}"
  fi
  if [ "${#plain[@]}" -gt 0 ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${plain[@]}"
  fi
fi

# The attack scenarios' test module is built against the headers of exactly the sample guest's kernel
# (what linux-image-cloud-amd64 points at; samples/guest/build.ts checks the versions match).
guest_release=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -n1)
if [ -z "$guest_release" ] || [ ! -f "/usr/src/linux-headers-$guest_release/Makefile" ]; then
  [ -n "$guest_release" ] || $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    make linux-headers-cloud-amd64
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
