#!/usr/bin/env bash
# The control socket, driven by `runsc debug` against `runsc do --control-socket=PATH`: ps lists
# the guest's processes with their commands, a signal reaches a trap, exec runs a command whose
# output and status come back, pause stops a guest printing a counter (and one spinning in user
# code) until resume, and stats show cpu growing. Every wait polls with a deadline.
# shellcheck disable=SC1010,SC2016 # `runsc do` is not a loop; guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
SOCK=$TMP/sandbox.sock

expect_stdout_matches() { _expect_stream stdout "$OUT" matches "$1"; }

debug() {
    run "$RUNSC" debug --socket="$SOCK" "$@"
}

# stat_of NAME: a figure from `runsc debug --stats` ("" if the call failed).
stat_of() {
    "$RUNSC" debug --socket="$SOCK" --stats 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
}

lines_of() {
    grep -c '^tick' "$TMP/bg.out" || true
}

# The guest: a TERM-free trap for USR1, a child spinning in user code, and a counter.
"$RUNSC" do --control-socket="$SOCK" "$BUSYBOX" sh -c \
    'trap "echo got USR1" USR1; (while :; do :; done) & echo ready; i=0
     while :; do echo tick $i; i=$((i+1)); sleep 0.05; done' \
    </dev/null >"$TMP/bg.out" 2>"$TMP/bg.err" &
CLI=$!
at_exit "kill_sandbox $CLI"
if ! wait_for_line 10 "$TMP/bg.out" ready; then
    fail "runsc do --control-socket: the guest starts" "ready" "$(cat "$TMP/bg.out" "$TMP/bg.err")"
    exit 1
fi

debug --ps
expect_status 0
expect_stdout_matches '^PID +PPID +HOSTPID'
# init, its spinning subshell (a fork of sh: the same command line) and the counter's sleeps.
expect_stdout_matches '^1 +0 +[1-9][0-9]* +[0-9]+ +[0-9]+ +\? +/bin/busybox sh -c trap "echo got USR1" USR1'
expect_stdout_matches '^[0-9]+ +1 +[1-9][0-9]* +[0-9]+ +[0-9]+ +\? +/bin/busybox sh -c trap'

debug --signal=USR1
expect_status 0
if wait_for_line 5 "$TMP/bg.out" "got USR1"; then
    pass "[runsc debug --signal=USR1] the guest's trap ran"
else
    fail "[runsc debug --signal=USR1] the guest's trap runs" "got USR1" "$(cat "$TMP/bg.out")"
fi
debug --signal=TERM --pid=4000
expect_status 1
expect_stderr_contains "no such process"

debug --exec "$BUSYBOX" sh -c 'echo exec-out $$; exit 4'
expect_status 4
expect_stdout_matches '^exec-out [0-9]+$'
debug --exec busybox echo found-in-path
expect_status 0
expect_stdout "found-in-path"$'\n'
debug --exec no-such-command-xyz
expect_status 1
expect_stderr_contains 'exec: "no-such-command-xyz": executable file not found in $PATH'

# cpu grows while the guest runs (the spinner keeps a CPU busy).
c1=$(stat_of cpu_total_ns)
deadline=$(($(now_ms) + 5000))
c2=$c1
while [[ -n $c1 && -n $c2 ]] && ((c2 <= c1 + 100000000 && $(now_ms) < deadline)); do
    sleep 0.05
    c2=$(stat_of cpu_total_ns)
done
if [[ -n $c1 && -n $c2 ]] && ((c2 > c1 + 100000000)); then
    pass "[runsc debug --stats] cpu_total_ns grows while the guest runs ($c1 -> $c2)"
else
    fail "[runsc debug --stats] cpu_total_ns grows" "more than $c1 + 100 ms" "${c2:-no answer}"
fi
mem=$(stat_of memory_usage_bytes)
pids=$(stat_of pids_current)
check "[runsc debug --stats] memory in use (${mem:-none} bytes) and pids (${pids:-none})" \
    test "${mem:-0}" -gt 0 -a "${pids:-0}" -ge 2

# Pause: the counter stops (nothing more within a second) and the spinner's cpu stops too.
debug --pause
expect_status 0
n1=$(lines_of)
p1=$(stat_of cpu_total_ns)
sleep 1
n2=$(lines_of)
p2=$(stat_of cpu_total_ns)
check "[runsc debug --pause] no output while paused ($n1 then $n2 lines)" test "$n1" -eq "$n2"
# Allow the sentry's own small work (answering --stats): far below a second of spinning.
check "[runsc debug --pause] cpu stands still while paused ($p1 -> $p2 ns)" \
    test $((p2 - p1)) -lt 200000000
debug --resume
expect_status 0
deadline=$(($(now_ms) + 5000))
until (($(lines_of) > n2 + 2 || $(now_ms) >= deadline)); do
    sleep 0.05
done
n3=$(lines_of)
check "[runsc debug --resume] the counter goes on ($n2 then $n3 lines)" test "$n3" -gt $((n2 + 2))

# Kill everything: runsc do ends with init's status, and the socket goes with it.
debug --signal=KILL --all
expect_status 0
if wait_exit 10 "$CLI"; then
    check "[runsc debug --signal=KILL --all] runsc do exits 137 (got $BG_STATUS)" \
        test "$BG_STATUS" -eq 137
else
    fail "[runsc debug --signal=KILL --all] runsc do exits" "exit within 10 s" "still running"
fi
check "the control socket is removed when runsc do ends" test ! -e "$SOCK"
debug --ps
expect_status 1
expect_stderr_contains "connect to"
