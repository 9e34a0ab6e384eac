#!/usr/bin/env bash
# `runsc exec` processes run under the container's linux.seccomp filter, as runc applies it to
# exec'd processes: a profile that denies getppid denies it to an exec'd probe too, and without
# a profile the same probe is unfiltered.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
ROOT=$TMP/root
BUNDLE=$TMP/bundle
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'

mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/proc"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for c in sh sleep; do
    ln -sf busybox "$BUNDLE/rootfs/bin/$c"
done
cc -static -O1 -o "$BUNDLE/rootfs/bin/seccomp_probe" \
    "$(dirname -- "$0")/programs/seccomp_probe.c"

# write_config SECCOMP_JSON ("null": none)
write_config() {
    cat >"$BUNDLE/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0},
   "args": ["/bin/sleep", "60"], "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
     {"type": "uts"}, {"type": "mount"}],
   "seccomp": $1}}
JSON
}

cd "$BUNDLE"
write_config '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" run -d sc1
expect_status 0
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" exec sc1 /bin/seccomp_probe
expect_status 0
expect_stdout_contains "getpid: ok"
expect_stdout_contains "getppid (unlisted): EPERM"
expect_stdout_contains "PR_GET_SECCOMP: 2"
expect_stdout_contains $'Seccomp_filters:\t1'
# A second exec shares the same filter: still one, not one more per exec.
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" exec sc1 /bin/seccomp_probe
expect_stdout_contains "getppid (unlisted): EPERM"
expect_stdout_contains $'Seccomp_filters:\t1'
"$RUNSC" --root "$ROOT" delete --force sc1 >/dev/null 2>&1 || true

write_config null
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" run -d sc2
expect_status 0
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" exec sc2 /bin/seccomp_probe
expect_status 0
expect_stdout_contains "getppid (unlisted): ok"
expect_stdout_contains "PR_GET_SECCOMP: 0"
"$RUNSC" --root "$ROOT" delete --force sc2 >/dev/null 2>&1 || true
