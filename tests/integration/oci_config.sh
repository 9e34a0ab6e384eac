#!/usr/bin/env bash
# The sandbox honours config.json beyond process.args: user, groups and umask, rlimits, hostname,
# bind mounts through the gofer (rw ones reach the host, ro ones and a file bind), tmpfs options,
# mount points the image lacks, maskedPaths, readonlyPaths, root.readonly, and linux.sysctl
# refused clearly. runc on the same bundle is the oracle for what a process inside observes.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
ROOT=$TMP/root
RUNC_ROOT=$TMP/runc-root
BUNDLE=$TMP/bundle
HOST=$TMP/host
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'

mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/etc/maskdir" "$BUNDLE/rootfs/proc" \
    "$BUNDLE/rootfs/sys" "$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/tmp" "$HOST/rw" "$HOST/ro"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for c in sh cat ls echo id touch stat grep hostname rm mkdir; do
    ln -sf busybox "$BUNDLE/rootfs/bin/$c"
done
echo secret >"$BUNDLE/rootfs/etc/masked"
echo hidden >"$BUNDLE/rootfs/etc/maskdir/inside"
echo "host rw" >"$HOST/rw/f"
echo "host ro" >"$HOST/ro/f"
echo "a host file" >"$HOST/file"
chmod 777 "$HOST/rw"

# What a process sees of its configuration; the same lines under runc and runsc.
cat >"$BUNDLE/rootfs/bin/probe" <<'SH'
#!/bin/sh
echo "id: $(id)"
echo "umask: $(umask)"
echo "nofile: $(ulimit -n) $(ulimit -Hn)"
echo "hostname: $(hostname)"
echo "rw bind: $(cat /data/f)"
echo written-inside >/data/new && echo "rw bind write: ok"
echo "ro bind: $(cat /ro/f)"
touch /ro/x 2>&1 | sed 's/^/ro bind write: /'
echo "file bind: $(cat /etc/hostfile)"
touch /rootfile 2>&1 | sed 's/^/root write: /'
echo "tmpfs mode: $(stat -c %a /tmp) $(stat -c %a /scratch)" # runc: /tmp keeps its dir's mode
echo x >/scratch/y && echo "tmpfs write: ok"
echo "made mount point: $(ls -d /new/mount/point)"
echo "masked file: [$(cat /etc/masked)]"
echo "masked dir: [$(ls /etc/maskdir)]"
touch /data2/z 2>&1 | sed 's/^/readonly path: /'
SH
chmod 755 "$BUNDLE/rootfs/bin/probe"

# write_config SYSCTL_JSON
write_config() {
    cat >"$BUNDLE/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false,
   "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 7], "umask": 63},
   "args": ["/bin/probe"], "env": ["PATH=/bin"], "cwd": "/",
   "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}],
   "noNewPrivileges": true},
 "root": {"path": "rootfs", "readonly": true},
 "hostname": "configured",
 "mounts": [
   {"destination": "/proc", "type": "proc", "source": "proc"},
   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
    "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
   {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
    "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
   {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
    "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
   {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
    "options": ["nosuid", "noexec", "nodev"]},
   {"destination": "/sys", "type": "sysfs", "source": "sysfs",
    "options": ["nosuid", "noexec", "nodev", "ro"]},
   {"destination": "/data", "type": "bind", "source": "$HOST/rw", "options": ["rbind", "rw"]},
   {"destination": "/data2", "type": "bind", "source": "$HOST/rw", "options": ["rbind", "rw"]},
   {"destination": "/ro", "type": "bind", "source": "$HOST/ro", "options": ["rbind", "ro"]},
   {"destination": "/etc/hostfile", "type": "bind", "source": "$HOST/file",
    "options": ["bind", "ro"]},
   {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]},
   {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
    "options": ["size=1m", "mode=700", "uid=1000", "gid=1000"]},
   {"destination": "/new/mount/point", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
     {"type": "uts"}, {"type": "mount"}],
   "maskedPaths": ["/etc/masked", "/etc/maskdir", "/does/not/exist"],
   "readonlyPaths": ["/data2"],
   "sysctl": $1}}
JSON
}

cd "$BUNDLE"
write_config '{"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" run cfg1
expect_status 0
expect_stdout_contains "id: uid=1000 gid=1000 groups=5,7"
expect_stdout_contains "umask: 0077"
expect_stdout_contains "nofile: 123 456"
expect_stdout_contains "rw bind write: ok"
expect_stdout_contains "ro bind write: touch: /ro/x: Read-only file system"
expect_stdout_contains "root write: touch: /rootfile: Read-only file system"
expect_stdout_contains "readonly path: touch: /data2/z: Read-only file system"
expect_stdout_contains "masked file: []"
expect_stdout_contains "masked dir: []"
ours=$OUT
check "a write to a rw bind mount reaches the host" grep -qx written-inside "$HOST/rw/new"
check "the ro bind's host dir stays unchanged" test ! -e "$HOST/ro/x"
check "no mount point was made in the host's read-only rootfs" test ! -e "$BUNDLE/rootfs/new"

if command -v runc >/dev/null; then
    rm -f "$HOST/rw/new"
    RUN_TIMEOUT=60 run runc --root "$RUNC_ROOT" run cfg-runc
    expect_status 0
    rm -rf "$BUNDLE/rootfs/new" # runc makes mount points in the rootfs on the host
    theirs=$OUT
    run diff <(echo "$ours") <(echo "$theirs")
    expect_status 0
fi

# A sysctl the sandbox can't honour fails create, naming it.
write_config '{"vm.swappiness": "10"}'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" create cfg2
expect_status 1
expect_stderr_contains "linux.sysctl: vm.swappiness is not supported by the sandbox"
"$RUNSC" --root "$ROOT" delete --force cfg2 >/dev/null 2>&1 || true

# An unknown mount type fails create with the mount named.
write_config '{}'
sed -i 's|"type": "mqueue"|"type": "nfs"|' config.json
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" create cfg3
expect_status 1
expect_stderr_contains 'mount /dev/mqueue: filesystem type "nfs" is not supported in the sandbox'
"$RUNSC" --root "$ROOT" delete --force cfg3 >/dev/null 2>&1 || true

