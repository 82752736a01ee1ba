#!/usr/bin/env bash
# Prints the archive URI this machine's apt already uses for a Debian suite (default: bookworm), read from
# its deb822 .sources files and one-line .list files, so that set-up adds backports from the same place.
set -euo pipefail
suite=${1:-bookworm}
shopt -s nullglob
for f in /etc/apt/sources.list.d/*.sources; do
  # deb822: a stanza's URIs line pairs with a Suites line naming the suite exactly.
  awk -v suite="$suite" '
    function flush() { if (uris != "" && hit) { split(uris, u, " "); print u[1]; found = 1; exit } uris = ""; hit = 0 }
    /^[[:space:]]*$/ { flush(); next }
    /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
    /^Suites:/ { n = split($0, s, /[[:space:]]+/); for (i = 2; i <= n; i++) if (s[i] == suite) hit = 1 }
    /^Enabled:[[:space:]]*no/ { uris = ""; hit = 0 }
    END { if (!found) flush() }
  ' "$f"
done | head -n1 | grep . && exit 0
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  awk -v suite="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f"
done | head -n1
