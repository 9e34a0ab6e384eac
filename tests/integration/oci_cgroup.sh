#!/usr/bin/env bash
# The sandbox's host cgroup (linux.cgroupsPath, linux.resources.cpu): create makes the cgroup in
# every hierarchy with the CPU limits written, and every host process of the sandbox (sentry,
# stubs, gofer) is in it while the runsc command that started them is not; delete removes it.
# systemd's slice:prefix:name under --systemd-cgroup; bad paths and limits are refused at create
# naming the field, leaving no state and no cgroup. Read straight from cgroupfs, v1 or v2.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

ROOT=$TMP/root
BUNDLE=$TMP/bundle
TOP=runsc-it-cgroup-$$
RS=("$RUNSC" --root "$ROOT")
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'

# The directory of cgroup REL in the hierarchy holding CONTROLLER ("" on v2: the unified one),
# found from the mount table rather than from runsc.
hierarchy_of() {
    local want=$1
    awk -v want="$want" '{
        for (i = 7; $i != "-"; i++) {}
        fstype = $(i + 1); opts = "," $(i + 3) ","
        if (want == "" && fstype == "cgroup2") { print $5; exit }
        if (want != "" && fstype == "cgroup" && index(opts, "," want ",")) { print $5; exit }
    }' /proc/self/mountinfo
}
if [[ -n $(hierarchy_of cpu) ]]; then
    V=1
    CPU_MNT=$(hierarchy_of cpu)
    CPUSET_MNT=$(hierarchy_of cpuset)
    MEM_MNT=$(hierarchy_of memory)
elif [[ -n $(hierarchy_of "") ]]; then
    V=2
    CPU_MNT=$(hierarchy_of "")
    CPUSET_MNT=$CPU_MNT
    MEM_MNT=$CPU_MNT
else
    echo "FAIL $SCRIPT_NAME: no cgroup filesystem is mounted" >&2
    exit 1
fi
at_exit "for m in '$CPU_MNT' '$CPUSET_MNT' '$MEM_MNT' /sys/fs/cgroup/*; do find \"\$m/$TOP\" \"\$m/runscit$$.slice\" -depth -type d -exec rmdir {} + 2>/dev/null || true; done"

busybox_rootfs "$BUNDLE" sh sleep

# write_config CGROUPS_PATH_JSON CPU_JSON
write_config() {
    cat >"$BUNDLE/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sleep", "1000"],
   "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs", "readonly": true},
 "linux": {"cgroupsPath": $1, "resources": {"cpu": $2},
   "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
   {"type": "mount"}]}}
JSON
}
cd "$BUNDLE"

# pids_under PID: PID and all its descendants on the host.
pids_under() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END { for (p in parent) { q = p; while (q != "" && q != root && q > 1) q = parent[q];
              if (q == root) print p } }' | sort -n
}

# --- create: the cgroup, its limits, its members ------------------------------------------------
write_config "\"/$TOP/c1\"" '{"quota": 50000, "period": 100000, "shares": 512, "cpus": "0"}'
run "${RS[@]}" create c1
expect_status 0
sandbox=$("${RS[@]}" state c1 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
CG=$CPU_MNT/$TOP/c1
check "the cgroup exists in the cpu hierarchy" test -d "$CG"
check "and in the memory hierarchy" test -d "$MEM_MNT/$TOP/c1"
if [[ $V == 1 ]]; then
    expect_file() { check "$2 is $3" test "$(cat "$1/$2")" = "$3"; }
    expect_file "$CG" cpu.cfs_quota_us 50000
    expect_file "$CG" cpu.cfs_period_us 100000
    expect_file "$CG" cpu.shares 512
    expect_file "$CPUSET_MNT/$TOP/c1" cpuset.cpus 0
    # A new v1 cpuset level starts empty; the one made above it got its parent's.
    check "the intermediate cpuset level has CPUs" test -n "$(cat "$CPUSET_MNT/$TOP/cpuset.cpus")"
else
    check "cpu.max is '50000 100000'" test "$(cat "$CG/cpu.max")" = "50000 100000"
    # shares 512 as runc maps it onto cpu.weight: 1 + (510 * 9999) / 262142 = 20.
    check "cpu.weight is 20" test "$(cat "$CG/cpu.weight")" = 20
    check "cpuset.cpus is 0" test "$(cat "$CG/cpuset.cpus")" = 0
fi
members=$(sort -n "$CG/cgroup.procs")
check "the sandbox process ($sandbox) is in it" grep -qx "$sandbox" <<<"$members"
missing=$(comm -23 <(pids_under "$sandbox") <(echo "$members"))
check "every process under the sandbox is in it (missing: ${missing:-none})" test -z "$missing"
check "so is the gofer (a process outside the sandbox's tree)" \
    test "$(comm -13 <(pids_under "$sandbox") <(echo "$members") | wc -l)" -ge 1
if [[ $V == 1 ]]; then
    check "the sandbox is in the memory hierarchy's cgroup too" \
        grep -qx "$sandbox" "$MEM_MNT/$TOP/c1/cgroup.procs"
fi
run "${RS[@]}" start c1
expect_status 0
run "${RS[@]}" exec c1 sh -c 'echo in'
expect_stdout $'in\n'
run "${RS[@]}" delete --force c1
expect_status 0
check "delete removed the cgroup" test ! -e "$CG"
check "and from the memory hierarchy" test ! -e "$MEM_MNT/$TOP/c1"
check "and the state" test ! -e "$ROOT/c1"

# --- run in the foreground: runsc itself stays out of the container's cgroup ---------------------
write_config "\"/$TOP/c2\"" '{"shares": 256}'
"${RS[@]}" run c2 >/dev/null 2>&1 &
runner=$!
for _ in $(seq 100); do
    grep -q running <("${RS[@]}" state c2 2>/dev/null) && break
    sleep 0.1
done
members=$(cat "$CPU_MNT/$TOP/c2/cgroup.procs")
check "the container runs in its cgroup" test -n "$members"
check "runsc run ($runner) is not in it" bash -c "! grep -qx $runner <<<'$members'"
run "${RS[@]}" kill c2 KILL
expect_status 0
status=0
wait "$runner" || status=$?
check "runsc run exits with the container's status (137: $status)" test "$status" = 137
check "run's own delete removed the cgroup" test ! -e "$CPU_MNT/$TOP/c2"

# --- systemd's slice:prefix:name ------------------------------------------------------------------
# A dash in a slice's name nests it in the slice named by what precedes the dash.
write_config "\"runscit$$-sub.slice:runsc:c3\"" '{"shares": 256}'
run "$RUNSC" --systemd-cgroup --root "$ROOT" create c3
expect_status 0
SCOPE=$CPU_MNT/runscit$$.slice/runscit$$-sub.slice/runsc-c3.scope
check "slice:prefix:name is <slices>/<prefix>-<name>.scope" test -d "$SCOPE"
run "$RUNSC" --systemd-cgroup --root "$ROOT" delete --force c3
expect_status 0
check "delete removed the scope" test ! -e "$SCOPE"

# --- refused: nothing left behind ----------------------------------------------------------------
write_config "\"/$TOP/../escape\"" '{"shares": 256}'
run "${RS[@]}" create bad1
expect_status 1
expect_stderr_contains 'linux.cgroupsPath'
check "no state for the refused container" test ! -e "$ROOT/bad1"
check "no cgroup outside the tree" test ! -e "$CPU_MNT/escape"

write_config "\"/$TOP/bad2\"" '{"quota": 500, "period": 100000}'
run "${RS[@]}" create bad2
expect_status 1
expect_stderr_contains 'linux.resources.cpu.quota'
check "no cgroup for a refused quota" test ! -e "$CPU_MNT/$TOP/bad2"

write_config "\"/$TOP/bad3\"" '{"cpus": "4095"}'
run "${RS[@]}" create bad3
expect_status 1
expect_stderr_contains 'linux.resources.cpu.cpus'
check "a cpuset the host refuses leaves no cgroup" test ! -e "$CPUSET_MNT/$TOP/bad3"
check "and no state" test ! -e "$ROOT/bad3"
