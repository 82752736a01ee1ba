#!/usr/bin/env bash
# Builds Ringside's TCG plugin for QEMU (introspect/backends/qemu/plugin) into build/ringside-tcg.so.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
source=introspect/backends/qemu/plugin/ringside-tcg.c
target=build/ringside-tcg.so
if [ -f "$target" ] && [ "$target" -nt "$source" ] && [ "$target" -nt introspect/backends/qemu/plugin/qemu-plugin-api.h ]; then
  exit 0
fi
gcc -O2 -g -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
  $(pkg-config --cflags glib-2.0) -o "$target" "$source" $(pkg-config --libs glib-2.0) -lpthread
