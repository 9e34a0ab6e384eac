#!/usr/bin/env bash
# process.capabilities: a container whose sets lack CAP_CHOWN can't chown, and /proc/self/status
# shows the sets runc gives the same bundle (runc on it is the oracle); `runsc exec` processes get
# the container's sets, and `--cap` adds one back.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
ROOT=$TMP/root
RUNC_ROOT=$TMP/runc-root
BUNDLE=$TMP/bundle
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'

mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/tmp"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for c in sh sleep grep touch chown rm echo; do
    ln -sf busybox "$BUNDLE/rootfs/bin/$c"
done
cat >"$BUNDLE/rootfs/bin/probe" <<'SH'
#!/bin/sh
grep '^Cap' /proc/self/status
rm -f /tmp/f
touch /tmp/f
chown 1:1 /tmp/f 2>&1 | sed 's/^/chown says: /'
chown 1:1 /tmp/f 2>/dev/null && echo "chown: ok" || echo "chown: failed"
SH
ln -sf busybox "$BUNDLE/rootfs/bin/sed"
chmod 755 "$BUNDLE/rootfs/bin/probe"

# Docker's default set without CAP_CHOWN, in every set but the ambient one.
CAPS='"CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
  "CAP_KILL", "CAP_AUDIT_WRITE"'
# write_config ARGS_JSON
write_config() {
    cat >"$BUNDLE/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0},
   "args": $1, "env": ["PATH=/bin"], "cwd": "/",
   "capabilities": {"bounding": [$CAPS], "effective": [$CAPS], "permitted": [$CAPS],
     "inheritable": [$CAPS]}},
 "root": {"path": "rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
   {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
     {"type": "uts"}, {"type": "mount"}]}}
JSON
}
# CAP_* numbers: the mask the sets above make (without CAP_CHOWN, bit 0).
mask=$(printf '%016x' $(((1 << 1) | (1 << 4) | (1 << 3) | (1 << 27) | (1 << 13) | (1 << 6) |
    (1 << 7) | (1 << 31) | (1 << 8) | (1 << 10) | (1 << 18) | (1 << 5) | (1 << 29))))

cd "$BUNDLE"
write_config '["/bin/probe"]'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" run caps1
expect_status 0
expect_stdout_contains "chown says: chown: /tmp/f: Operation not permitted"
expect_stdout_contains "chown: failed"
expect_stdout_contains $'CapPrm:\t'"$mask"
expect_stdout_contains $'CapEff:\t'"$mask"
expect_stdout_contains $'CapBnd:\t'"$mask"
ours=$OUT
if command -v runc >/dev/null; then
    RUN_TIMEOUT=60 run runc --root "$RUNC_ROOT" run caps-runc
    expect_status 0
    theirs=$OUT
    run diff <(echo "$ours") <(echo "$theirs")
    expect_status 0
fi
"$RUNSC" --root "$ROOT" delete --force caps1 >/dev/null 2>&1 || true

# runsc exec: the container's sets by default; --cap adds CAP_CHOWN to them.
write_config '["/bin/sleep", "60"]'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" run -d caps2
expect_status 0
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" exec caps2 /bin/probe
expect_status 0
expect_stdout_contains "chown: failed"
expect_stdout_contains $'CapEff:\t'"$mask"
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" exec --cap CAP_CHOWN caps2 /bin/probe
expect_status 0
expect_stdout_contains "chown: ok"
expect_stdout_contains $'CapEff:\t'"$(printf '%016x' $((0x$mask | 1)))"
# --no-new-privs (process.noNewPrivileges for exec): set before the process's first instruction.
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" exec caps2 /bin/grep NoNewPrivs /proc/self/status
expect_stdout $'NoNewPrivs:\t0\n'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" exec --no-new-privs caps2 /bin/grep NoNewPrivs /proc/self/status
expect_stdout $'NoNewPrivs:\t1\n'
"$RUNSC" --root "$ROOT" delete --force caps2 >/dev/null 2>&1 || true
