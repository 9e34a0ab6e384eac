#!/usr/bin/env bash
# linux.sysctl set the sandbox's own sysctls before the container starts: /proc/sys shows the
# values, ip_unprivileged_port_start=0 lets uid 1000 listen on port 80 (busybox nc), shmget past
# kernel.shmmax is EINVAL, ephemeral ports come from ip_local_port_range; without the spec's
# entries uid 1000 can't bind port 80 and may not write /proc/sys. An unknown key or a value the
# key refuses fails create with the key named, leaving no container behind. Root in the sandbox
# writes /proc/sys and shmget, bind and the end of a segment's creator follow the new values.
# shellcheck disable=SC1010,SC2016 # `runsc do` is not a loop; guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

ROOT=$TMP/root
BUNDLE=$TMP/bundle
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'
RS=("$RUNSC" --root "$ROOT")

busybox_rootfs "$BUNDLE" sh sleep echo cat nc kill
cc -static -O1 -o "$BUNDLE/rootfs/bin/sysctl_probe" "$(dirname -- "$0")/programs/sysctl_probe.c"

# write_config SCRIPT SYSCTL_JSON
write_config() {
    cat >"$BUNDLE/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 1000, "gid": 1000},
   "args": ["sh", "-c", "$1"], "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs", "readonly": true},
 "hostname": "sysctl",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
   {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
   {"type": "mount"}],
   "sysctl": $2}}
JSON
}
cd "$BUNDLE"

SCRIPT='for f in net/ipv4/ip_unprivileged_port_start kernel/shmmax net/ipv4/ip_local_port_range; do echo $f=$(cat /proc/sys/$f); done; sysctl_probe 65536 65537; nc -l -p 80 -e echo served & sleep 1; nc 127.0.0.1 80 </dev/null; echo 1 >/proc/sys/net/core/somaxconn || echo somaxconn write refused; wait'

# --- the spec's values, in force ----------------------------------------------------------------
write_config "$SCRIPT" '{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.shmmax": "65536", "net.ipv4.ip_local_port_range": "40000 40010", "kernel.hostname": "sysctl"}'
RUN_TIMEOUT=60 run "${RS[@]}" run s1
expect_status 0
expect_stdout_contains $'net/ipv4/ip_unprivileged_port_start=0\n'
expect_stdout_contains $'kernel/shmmax=65536\n'
expect_stdout_contains $'net/ipv4/ip_local_port_range=40000 40010\n'
expect_stdout_contains $'shmget 65536: ok\nshmget 65537: EINVAL\n'
expect_stdout_contains $'served\n'
port=$(sed -n 's/^ephemeral port: //p' <<<"$OUT")
check "the ephemeral port ($port) is within 40000-40010" test "${port:-0}" -ge 40000 -a "${port:-0}" -le 40010
expect_stderr_lacks "bind"
# uid 1000 without CAP_NET_ADMIN may not write net.* sysctls.
expect_stdout_contains $'somaxconn write refused\n'
expect_stderr_contains "/proc/sys/net/core/somaxconn: Permission denied"

# --- without them: Linux's defaults ------------------------------------------------------------
write_config "$SCRIPT" '{}'
RUN_TIMEOUT=60 run "${RS[@]}" run s2
expect_status 0
expect_stdout_contains $'net/ipv4/ip_unprivileged_port_start=1024\n'
expect_stdout_contains $'kernel/shmmax=18446744073692774399\n'
expect_stdout_contains $'net/ipv4/ip_local_port_range=32768 60999\n'
expect_stdout_contains $'shmget 65536: ok\nshmget 65537: ok\n'
expect_stderr_contains "nc: bind: Permission denied"

# --- refused entries fail create, naming the key ------------------------------------------------
write_config "$SCRIPT" '{"kernel.shmmax": "65536", "net.ipv4.no_such_key": "1"}'
RUN_TIMEOUT=60 run "${RS[@]}" create s3
expect_status 1
expect_stderr_contains "linux.sysctl: net.ipv4.no_such_key is not supported by the sandbox"
check "no state is left for s3" test ! -e "$ROOT/s3"

write_config "$SCRIPT" '{"net.ipv4.ip_local_port_range": "5000 4000"}'
RUN_TIMEOUT=60 run "${RS[@]}" create s4
expect_status 1
expect_stderr_contains 'linux.sysctl: net.ipv4.ip_local_port_range: invalid value "5000 4000"'
check "no state is left for s4" test ! -e "$ROOT/s4"

write_config "$SCRIPT" '{"kernel.shmmni": "abc"}'
RUN_TIMEOUT=60 run "${RS[@]}" create s5
expect_status 1
expect_stderr_contains 'linux.sysctl: kernel.shmmni: invalid value "abc"'
check "no state is left for s5" test ! -e "$ROOT/s5"

# --- root writes /proc/sys, and the consumers follow at once ------------------------------------
PROBE=$BUNDLE/rootfs/bin/sysctl_probe
RUN_TIMEOUT=60 run "$RUNSC" do sh -c "echo '40100 40100' >/proc/sys/net/ipv4/ip_local_port_range &&
    echo 65536 >/proc/sys/kernel/shmmax && cat /proc/sys/net/ipv4/ip_local_port_range &&
    $PROBE 65537; echo 1 2 >/proc/sys/net/ipv4/ip_local_port_range || echo refused"
expect_status 0
expect_stdout_contains $'40100\t40100\nshmget 65537: EINVAL\nephemeral port: 40100\n'
expect_stdout_contains $'refused\n'

# kernel.shm_rmid_forced: setting it removes the segments nobody attached whose creator is gone,
# and later ones go when their creator exits (Linux's shm_destroy_orphaned, exit_shm).
RUN_TIMEOUT=60 run "$RUNSC" do sh -c "$PROBE make 77 && $PROBE find 77 && echo 1 >/proc/sys/kernel/shm_rmid_forced &&
    $PROBE make 78 && $PROBE find 78 && $PROBE find 77"
expect_status 0
expect_stdout_contains $'make 77: ok\nfind 77: ok\nmake 78: ok\nfind 78: ENOENT\nfind 77: ENOENT\n'
