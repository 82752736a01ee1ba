#!/bin/sh
# A shell of the unprivileged user app (uid 1000) writes "root" to the rootkit's backdoor file and
# becomes uid 0 through prepare_creds() + commit_creds(), with no setuid program involved. It then
# runs `id` and stays, as a uid-0 `sleep 600`, for a snapshot (its cred->user still belongs to
# uid 1000, which su or a setuid exec would have changed).
. /opt/scenarios/lib.sh
set -e
load_module
out="$STATE/privilege-escalation.out"
rm -f "$out"
su -s /bin/sh app -c "echo \"before: \$(id)\"; echo root >$CONTROL; echo \"after: \$(id)\"; exec sleep 600" \
  </dev/null >"$out" 2>&1 &
echo $! >"$STATE/privilege-escalation.pid"
wait_for 50 grep -q '^after:' "$out"
cat "$out"
