#!/usr/bin/env bash
# linux.resources enforced by the sentry on a busybox bundle: pids.limit (fork past it is EAGAIN,
# the sandbox lives on and answers ps), memory.limit (the process using the most memory is
# OOM-killed with SIGKILL, a small sibling survives; an init that is the victim exits 137), and
# `events --stats` reporting both limits. A host pids cgroup tighter than the guest's limit makes
# guest forks fail with EAGAIN, never the sandbox.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

ROOT=$TMP/root
BUNDLE=$TMP/bundle
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'
RS=("$RUNSC" --root "$ROOT")

busybox_rootfs "$BUNDLE" sh sleep echo seq ps dd wc
cc -static -O1 -o "$BUNDLE/rootfs/bin/memhog" "$(dirname -- "$0")/programs/memhog.c"

# write_config ARGS_JSON PIDS_LIMIT MEMORY_LIMIT
write_config() {
    cat >"$BUNDLE/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": $1,
   "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs", "readonly": true},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"resources": {"pids": {"limit": $2}, "memory": {"limit": $3, "swap": $3}},
   "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
   {"type": "mount"}]}}
JSON
}
cd "$BUNDLE"
MIB=$((1 << 20))

# --- pids.limit ---------------------------------------------------------------------------------
# init (1 task) + exec's shell (1) + its sleeps: the 19th sleep would be the 21st task.
write_config '["sleep", "1000"]' 20 $((256 * MIB))
run "${RS[@]}" create p1
expect_status 0
run "${RS[@]}" start p1
expect_status 0
run "${RS[@]}" exec p1 sh -c 'for i in $(seq 30); do sleep 1000 & echo $i; done'
expect_status 2
expect_stderr_contains "can't fork: Resource temporarily unavailable"
last=${OUT%$'\n'}
last=${last##*$'\n'}
check "18 sleeps started before EAGAIN (the last: $last)" test "$last" = 18
# ps reports a process once its task has a stub (its first run); on a loaded machine the last
# sleeps may not have run yet when the shell is done: give them a few seconds.
for _ in $(seq 50); do
    run "${RS[@]}" ps --format json p1
    n=$(tr -cd , <<<"$OUT" | wc -c)
    [[ $n == 18 ]] && break
    sleep 0.2
done
expect_status 0
check "ps lists init and 18 sleeps ($((n + 1)) processes)" test "$n" = 18
run "${RS[@]}" events --stats p1
expect_status 0
expect_stdout_contains '"pids":{"current":19,"limit":20}'
expect_stdout_contains "\"limit\":$((256 * MIB)),"
# The tasks freed, forks work again.
run "${RS[@]}" kill --all p1 KILL
run "${RS[@]}" delete --force p1
expect_status 0

# --- memory.limit --------------------------------------------------------------------------------
# A 200 MiB toucher under 64 MiB is killed (137 as a shell reports SIGKILL); the 8 MiB sibling
# lives on.
write_config '["sh", "-c", "memhog 8 1000 & memhog 200; echo hog=$?; sleep 1; ps"]' 100 $((64 * MIB))
RUN_TIMEOUT=60 run "${RS[@]}" run m1
expect_status 0
expect_stdout_contains $'hog=137\n'
expect_stdout_contains 'memhog 8 1000'
# The same through the sentry's copy-out: read(2) from /dev/zero into a 200 MiB buffer.
write_config '["sh", "-c", "dd if=/dev/zero of=/dev/null bs=200M count=1; echo dd=$?"]' 100 $((64 * MIB))
RUN_TIMEOUT=60 run "${RS[@]}" run m2
expect_status 0
expect_stdout $'dd=137\n'
# init itself the victim: the container's exit says SIGKILL.
write_config '["memhog", "200"]' 100 $((64 * MIB))
RUN_TIMEOUT=60 run "${RS[@]}" run m3
expect_status 137
# Usage and limit in events while running.
write_config '["memhog", "16", "1000"]' 100 $((64 * MIB))
run "${RS[@]}" run -d m4
expect_status 0
usage_of() { sed -n 's/.*"memory":{"usage":{"limit":[0-9]*,"usage":\([0-9]*\),.*/\1/p' <<<"$1"; }
for _ in $(seq 100); do
    run "${RS[@]}" events --stats m4
    usage=$(usage_of "$OUT")
    [[ ${usage:-0} -ge $((16 * MIB)) ]] && break
    sleep 0.1
done
expect_status 0
expect_stdout_contains "\"limit\":$((64 * MIB)),"
check "memory usage counts the 16 MiB touched (usage $usage)" \
    test "${usage:-0}" -ge $((16 * MIB)) -a "${usage:-0}" -le $((64 * MIB))
run "${RS[@]}" delete --force m4
expect_status 0

# --- a host pids cgroup tighter than the guest's limit ----------------------------------------
CG=/sys/fs/cgroup/pids
if [[ -w $CG/cgroup.procs ]]; then
    CG=$CG/runsc_oci_resources_$$
    mkdir "$CG"
    at_exit "rmdir '$CG' 2>/dev/null || true"
    echo 25 >"$CG/pids.max"
    write_config '["sh", "-c", "for i in $(seq 30); do sleep 1000 & echo $i; done"]' 100 $((256 * MIB))
    RUN_TIMEOUT=60 run sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" --root "$3" run h1' sh "$CG" "$RUNSC" "$ROOT"
    expect_stderr_contains 'Resource temporarily unavailable'
    check "the sandbox exited by itself under the host's pids.max (status $STATUS)" \
        test "$STATUS" -eq 0 -o "$STATUS" -eq 2
else
    echo "skip: no writable v1 pids cgroup hierarchy for the host-limit case"
fi
