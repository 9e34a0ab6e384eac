#!/usr/bin/env bash
# containerd (runc v2 shim) driving an OCI runtime through `ctr run --runc-binary`:
# containerd.sh RUNTIME_PATH [RUNTIME_FLAG...]. The script starts a private containerd (own socket,
# root, state and config under a temp dir) and stops it, and every shim it started, at the end.
# shellcheck source=tests/integration/engines/common.sh disable=SC2016 # guest commands in single quotes
source "$(dirname -- "$0")/common.sh"

if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    echo "$0: containerd is not installed (tools/install-deps.sh)" >&2
    exit 2
fi

cat >"$TMP/config.toml" <<EOF
version = 2
root = "$TMP/root"
state = "$TMP/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$TMP/containerd.sock"

[ttrpc]
  address = "$TMP/containerd.sock.ttrpc"
EOF
# C: ctr on the private containerd (a script, so timeout and script(1) can run it).
C=$TMP/ctr
printf '#!/bin/sh\nexec ctr -a %s -n engines "$@"\n' "$TMP/containerd.sock" >"$C"
chmod 755 "$C"

containerd --config "$TMP/config.toml" >"$TMP/containerd.log" 2>&1 &
CTD_PID=$!
# Teardown: tasks and containers, then the shims (found by the private socket in their command
# line), then containerd itself.
stop_all() {
    local id pid
    for id in $(timeout 10 "$C" task ls -q 2>/dev/null); do
        timeout 10 "$C" task kill -a -s SIGKILL "$id"
        timeout 10 "$C" task rm -f "$id"
    done
    for id in $(timeout 10 "$C" container ls -q 2>/dev/null); do
        timeout 10 "$C" container rm "$id"
    done
    for pid in $(grep -l -F -- "$TMP/containerd.sock" /proc/[0-9]*/cmdline 2>/dev/null |
        cut -d/ -f3); do
        [[ $pid != "$CTD_PID" && $pid != "$$" ]] && kill -9 "$pid"
    done
    kill "$CTD_PID"
    timeout 20 tail --pid="$CTD_PID" -f /dev/null
    kill -9 "$CTD_PID"
    wait "$CTD_PID"
    delete_leftovers "$TMP/runc-root"
}
at_exit stop_all
if ! wait_for 20 "$C" version; then
    fail start "containerd did not come up: $(tail -5 "$TMP/containerd.log")"
    exit 1
fi

if r "$C" image import "$IMAGE_DIR/image.tar"; then pass import; else
    fail import "exit $RC: $ERR"
    exit 1
fi

RUN=(run --runc-binary "$RUNTIME" --runc-root "$TMP/runc-root")
expect run-echo 0 "hello" "$C" "${RUN[@]}" --rm "$IMAGE" r1 echo hello
expect exit-code 42 "" "$C" "${RUN[@]}" --rm "$IMAGE" r2 sh -c 'exit 42'
expect env-cwd 0 "bar /tmp" "$C" "${RUN[@]}" --rm --env FOO=bar --cwd /tmp "$IMAGE" r3 \
    sh -c 'echo $FOO $(pwd)'
in_tty "$C run --runc-binary $RUNTIME --runc-root $TMP/runc-root --rm -t $IMAGE r4 \
    sh -c 'test -t 0 && test -t 1 && echo is-a-tty'"
if [[ $RC -eq 0 && $OUT == *is-a-tty* ]]; then pass tty; else fail tty "exit $RC, out: $OUT"; fi

# A detached task: exec, ps, pause/resume, metrics.
task_status() { "$C" task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
if r "$C" "${RUN[@]}" -d "$IMAGE" d1 sleep 1000 && wait_for 10 eval '[[ $(task_status d1) == RUNNING ]]'; then
    pass run-detached
else
    fail run-detached "exit $RC, status '$(task_status d1)'; err: $ERR"
fi
expect exec 0 "in-exec" "$C" task exec --exec-id x1 d1 echo in-exec
expect exec-exit-code 7 "" "$C" task exec --exec-id x2 d1 sh -c 'exit 7'
r "$C" task ps d1
if [[ $RC -eq 0 && $(printf '%s\n' "$OUT" | grep -c '^ *[0-9]') -ge 1 ]]; then pass ps; else
    fail ps "exit $RC, out '$OUT'; err: $ERR"
fi
r "$C" task pause d1
s=$(task_status d1)
r "$C" task resume d1
s2=$(task_status d1)
if [[ $s == PAUSED && $s2 == RUNNING ]] && r "$C" task exec --exec-id x3 d1 true; then
    pass pause-resume
else
    fail pause-resume "status after pause '$s', after resume '$s2'; exec exit $RC; err: $ERR"
fi
r "$C" task metrics d1
if [[ $RC -eq 0 && $OUT == *memory* ]]; then pass metrics; else
    fail metrics "exit $RC, out '$OUT'; err: $ERR"
fi
r "$C" task kill -a -s SIGKILL d1
if wait_for 10 eval '[[ -z $(task_status d1 | grep -v STOPPED) ]]'; then pass kill-all; else
    fail kill-all "kill exit $RC ($ERR); status still '$(task_status d1)'"
fi
"$C" task rm -f d1 >/dev/null 2>&1
"$C" container rm d1 >/dev/null 2>&1

# kill: a task that exits 3 on SIGTERM, run in the foreground of a background ctr.
t "$C" "${RUN[@]}" --rm "$IMAGE" k1 sh -c "trap 'exit 3' TERM; while :; do sleep 0.1; done" \
    </dev/null >/dev/null 2>"$TMP/k1.err" &
k1=$!
wait_for 10 eval '[[ $(task_status k1) == RUNNING ]]'
sleep 0.3
r "$C" task kill -s SIGTERM k1
kill_rc=$RC kill_err=$ERR
code=0
wait "$k1" || code=$?
if [[ $kill_rc -eq 0 && $code -eq 3 ]]; then pass kill-signal; else
    fail kill-signal "kill exit $kill_rc ($kill_err); task exit $code (want 3): $(cat "$TMP/k1.err")"
fi
