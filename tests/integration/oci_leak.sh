#!/usr/bin/env bash
# Sequential create/start/delete cycles leave nothing behind: no process, mount, fd of the CLI's
# caller, or state directory. OCI_LEAK_CYCLES sets the count (default 200). The time is only
# reported: speed is for benchmarks, not tests.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

CYCLES=${OCI_LEAK_CYCLES:-200}
ROOT=$TMP/root
BUNDLE=$TMP/bundle
busybox_rootfs "$BUNDLE" sleep
cat >"$BUNDLE/config.json" <<'JSON'
{"ociVersion": "1.0.2",
 "process": {"user": {"uid": 0, "gid": 0}, "args": ["sleep", "100"], "env": ["PATH=/bin"],
   "cwd": "/"},
 "root": {"path": "rootfs", "readonly": true},
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}
JSON

# The sandbox and gofer pids of every cycle, from its state.json, to check they are all gone.
PIDS=()
fds_before=$(ls /proc/$$/fd | wc -l)
start=$(now_ms)
failed=0
for i in $(seq 1 "$CYCLES"); do
    if ! "$RUNSC" --root "$ROOT" create --bundle "$BUNDLE" "leak$i" >/dev/null 2>"$TMP/err" ||
        ! PIDS+=($(sed -n 's/.*"pid":\([0-9]*\).*"gofer_pid":\([0-9]*\).*/\1 \2/p' \
            "$ROOT/leak$i/state.json")) ||
        ! "$RUNSC" --root "$ROOT" start "leak$i" 2>>"$TMP/err" ||
        ! "$RUNSC" --root "$ROOT" delete --force "leak$i" 2>>"$TMP/err"; then
        failed=$((failed + 1))
        cat "$TMP/err" >&2
        "$RUNSC" --root "$ROOT" delete --force "leak$i" >/dev/null 2>&1 || true
    fi
done
elapsed=$(($(now_ms) - start))
echo "oci_leak: $CYCLES create/start/delete cycles in ${elapsed} ms"
check "every cycle succeeded ($failed failed)" test "$failed" -eq 0
check "the state recorded ${#PIDS[@]} sandbox and gofer pids" test "${#PIDS[@]}" -eq $((2 * CYCLES))
check "no gofer or sandbox left running" wait_gone 5 "${PIDS[@]}"
check "no state directory left" test -z "$(ls -A "$ROOT")"
check "no fd leaked into the caller" test "$(ls /proc/$$/fd | wc -l)" -eq "$fds_before"
check "no mount of the bundle or the state left" eval '! grep -q "$TMP" /proc/self/mounts'
