#!/usr/bin/env bash
# Pods: containers whose CRI (or CRI-O) annotations name an existing sandbox are created inside
# it: a shared pid view, their own root filesystem and gofer, a waiter pid of their own whose
# status is theirs, kill/exec/ps per container, and delete of a member then of the root leaving
# no process and no state behind.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
ROOT=$TMP/root
RS=("$RUNSC" --root "$ROOT")
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'

# make_bundle DIR ARGS_JSON ANNOTATIONS_JSON
make_bundle() {
    mkdir -p "$1/rootfs/bin" "$1/rootfs/tmp" "$1/rootfs/proc" "$1/rootfs/sys" "$1/rootfs/dev"
    cp "$BUSYBOX" "$1/rootfs/bin/busybox"
    for c in sh sleep echo cat ls ps; do ln -sf busybox "$1/rootfs/bin/$c"; done
    write_config "$1" "$2" "$3"
}
write_config() {
    cat >"$1/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": $2,
   "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs", "readonly": true},
 "hostname": "pod",
 "annotations": $3,
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
   {"type": "uts"}, {"type": "mount"}]}}
JSON
}
CRI_SANDBOX='{"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "pod1"}'
cri_member() { echo "{\"io.kubernetes.cri.container-type\": \"container\", \"io.kubernetes.cri.sandbox-id\": \"$1\"}"; }
crio_member() { echo "{\"io.kubernetes.cri-o.ContainerType\": \"container\", \"io.kubernetes.cri-o.SandboxID\": \"$1\"}"; }
# member_gofers BUNDLE: pids of gofers serving BUNDLE's rootfs.
member_gofers() { pgrep -f -- "runsc gofer --root=$1/rootfs" || true; }

make_bundle "$TMP/pause" '["sleep", "1000"]' "$CRI_SANDBOX"
make_bundle "$TMP/m" '["sleep", "1000"]' "$(cri_member pod1)"
echo member >"$TMP/m/rootfs/only_member"

# --- the root (pause) container, then a member ----------------------------------------------
run "${RS[@]}" create -b "$TMP/pause" --pid-file "$TMP/pause.pid" pod1
expect_status 0
run "${RS[@]}" start pod1
expect_status 0
sandbox_pid=$(cat "$TMP/pause.pid")

run "${RS[@]}" create -b "$TMP/m" --pid-file "$TMP/m.pid" m1
expect_status 0
member_pid=$(cat "$TMP/m.pid")
check "the member's pid is its own, not the sandbox's" test "$member_pid" != "$sandbox_pid"
check "the member's pid is a live process" kill -0 "$member_pid"
run "${RS[@]}" state m1
expect_stdout_contains '"status": "created"'
expect_stdout_contains "\"pid\": $member_pid,"
expect_stdout_contains '"io.kubernetes.cri.sandbox-id": "pod1"'
run "${RS[@]}" start m1
expect_status 0
run "${RS[@]}" state m1
expect_stdout_contains '"status": "running"'

# Its own root: the file only its bundle has is visible to it, not to the root container.
run "${RS[@]}" exec m1 cat /only_member
expect_status 0
expect_stdout $'member\n'
run "${RS[@]}" exec pod1 cat /only_member
expect_status 1
# A shared pid view: ps inside shows the root container's processes and its own.
run "${RS[@]}" exec m1 ps
expect_stdout_contains 'sleep 1000'
check "ps in the member shows the pause container's init (pid 1)" grep -qE '^ +1 .*sleep 1000' <<<"$OUT"
# ps per container: each lists only its own host processes.
run "${RS[@]}" ps --format json m1
m1_ps=$OUT
run "${RS[@]}" ps --format json pod1
pod_ps=$OUT
check "ps of the member lists a process" grep -qE '^\[[0-9]+' <<<"$m1_ps"
check "ps of the member and of the root container differ" test "$m1_ps" != "$pod_ps"

# kill --all of the member signals only its processes; its waiter exits; the root lives on.
run "${RS[@]}" exec --detach m1 sleep 500
expect_status 0
run "${RS[@]}" kill --all m1 KILL
expect_status 0
check "the member's waiter exits when its init is killed" wait_gone 5 "$member_pid"
run "${RS[@]}" state m1
expect_stdout_contains '"status": "stopped"'
run "${RS[@]}" state pod1
expect_stdout_contains '"status": "running"'
run "${RS[@]}" exec pod1 ps
check "the member's processes are gone from the sandbox" bash -c '! grep -q "sleep 500" <<<"$1"' _ "$OUT"
run "${RS[@]}" delete m1
expect_status 0
check "delete of the member removes its state" test ! -e "$ROOT/m1"
check "delete of the member ends its gofer" test -z "$(member_gofers "$TMP/m")"
check "the sandbox outlives its member" kill -0 "$sandbox_pid"

# --- its exit status comes back through its waiter pid (run waits for that pid) --------------
write_config "$TMP/m" '["sh", "-c", "echo from-member; exit 7"]' "$(cri_member pod1)"
run "${RS[@]}" run -b "$TMP/m" m2
expect_status 7
expect_stdout $'from-member\n'
check "run leaves no state for the member" test ! -e "$ROOT/m2"

# --- a member's own process settings: no process.capabilities, no capabilities (as runc) ----
write_config "$TMP/m" '["cat", "/proc/self/status"]' "$(cri_member pod1)"
run "${RS[@]}" run -b "$TMP/m" m2b
expect_status 0
expect_stdout_contains $'CapEff:\t0000000000000000'
expect_stdout_contains $'CapBnd:\t0000000000000000'
# Its rlimits, oomScoreAdj and umask are its own too.
write_config "$TMP/m" '["sh", "-c", "cat /proc/self/oom_score_adj; umask; cat /proc/self/limits"]' \
    "$(cri_member pod1)"
python3 - "$TMP/m/config.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]
doc["process"]["oomScoreAdj"] = 7
doc["process"]["user"]["umask"] = 0o27
json.dump(doc, open(sys.argv[1], "w"))
PY
run "${RS[@]}" run -b "$TMP/m" m2d
expect_status 0
expect_stdout_contains $'7\n0027\n'
check "the member's RLIMIT_NOFILE is 123/456" grep -Eq '^Max open files +123 +456 ' <<<"$OUT"
# The pod has one user namespace, the sandbox's: a member naming other mappings is refused.
python3 - "$TMP/m/config.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["linux"]["namespaces"].append({"type": "user"})
doc["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
doc["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
json.dump(doc, open(sys.argv[1], "w"))
PY
run "${RS[@]}" create -b "$TMP/m" m2c
expect_status_nonzero
expect_stderr_contains "linux.uidMappings: a pod member shares the sandbox's user namespace"
check "no state for the refused member" test ! -e "$ROOT/m2c"

# --- CRI-O's spelling (Podman's pods) --------------------------------------------------------
write_config "$TMP/m" '["sleep", "1000"]' "$(crio_member pod1)"
run "${RS[@]}" create -b "$TMP/m" --pid-file "$TMP/m3.pid" m3
expect_status 0
run "${RS[@]}" start m3
expect_status 0
run "${RS[@]}" exec m3 cat /only_member
expect_stdout $'member\n'
run "${RS[@]}" kill m3 TERM
expect_status 0
check "SIGTERM ends the CRI-O member's init and its waiter" wait_gone 5 "$(cat "$TMP/m3.pid")"
run "${RS[@]}" delete m3
expect_status 0

# --- a missing executable fails at create with 127 and leaves nothing -------------------------
write_config "$TMP/m" '["nonexistent"]' "$(cri_member pod1)"
run "${RS[@]}" create -b "$TMP/m" m4
expect_status 127
expect_stderr_contains 'executable file not found in $PATH'
check "a failed member create leaves no state" test ! -e "$ROOT/m4"
check "a failed member create leaves no gofer" test -z "$(member_gofers "$TMP/m")"

# --- a member naming a sandbox that doesn't exist -------------------------------------------
write_config "$TMP/m" '["sleep", "1000"]' "$(cri_member nosuchpod)"
run "${RS[@]}" create -b "$TMP/m" m5
expect_status 1
expect_stderr_contains 'sandbox nosuchpod does not exist'
check "a member of no sandbox leaves no state" test ! -e "$ROOT/m5"
check "a member of no sandbox leaves no gofer" test -z "$(member_gofers "$TMP/m")"

# --- a member's linux.seccomp (compiled by the CLI) holds for its init and what is exec'd in --
cc -static -O1 -o "$TMP/seccomp_probe" "$(dirname -- "$0")/programs/seccomp_probe.c"
make_bundle "$TMP/ms" '["/seccomp_probe"]' "$(cri_member pod1)"
cp "$TMP/seccomp_probe" "$TMP/ms/rootfs/seccomp_probe"
with_seccomp() {
    python3 - "$1" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}
json.dump(spec, open(path, "w"))
PY
}
with_seccomp "$TMP/ms/config.json"
run "${RS[@]}" run -b "$TMP/ms" ms1
expect_stdout_contains "getppid (unlisted): EPERM"
expect_stdout_contains "PR_GET_SECCOMP: 2"
write_config "$TMP/ms" '["sleep", "1000"]' "$(cri_member pod1)"
with_seccomp "$TMP/ms/config.json"
run "${RS[@]}" create -b "$TMP/ms" ms2
expect_status 0
run "${RS[@]}" start ms2
expect_status 0
run "${RS[@]}" exec ms2 /seccomp_probe
expect_stdout_contains "getppid (unlisted): EPERM"
# The root container has no profile: the same probe exec'd there is not filtered.
cp "$TMP/seccomp_probe" "$TMP/pause/rootfs/seccomp_probe"
run "${RS[@]}" exec pod1 /seccomp_probe
expect_stdout_contains "getppid (unlisted): ok"
expect_stdout_contains "PR_GET_SECCOMP: 0"
run "${RS[@]}" delete --force ms2
expect_status 0

# --- delete of the root container takes the whole sandbox -------------------------------------
write_config "$TMP/m" '["sleep", "1000"]' "$(cri_member pod1)"
run "${RS[@]}" create -b "$TMP/m" --pid-file "$TMP/m6.pid" m6
expect_status 0
run "${RS[@]}" start m6
expect_status 0
run "${RS[@]}" delete --force m6
expect_status 0
run "${RS[@]}" delete --force pod1
expect_status 0
check "the sandbox is gone" wait_gone 5 "$sandbox_pid"
check "the member's waiter is gone" wait_gone 5 "$(cat "$TMP/m6.pid")"
check "no state is left" test -z "$(ls -A "$ROOT")"
check "no gofer is left" test -z "$(member_gofers "$TMP/m")$(member_gofers "$TMP/pause")"
