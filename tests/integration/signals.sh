#!/usr/bin/env bash
# Host signals sent to the runsc CLI go on to the guest's init. Linux's rule for a pid namespace's
# init holds (pid_namespaces(7)): a signal from outside without a handler is ignored, so SIGTERM
# to a guest that doesn't handle it does nothing until runsc's 10 s grace period ends and runsc
# kills the guest (137); a guest with a handler gets the signal.
# shellcheck disable=SC1010,SC2016 # `runsc do` is not a loop; guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox

# start_guest CMD...: starts `runsc do CMD...` in the background and waits until it runs guest
# code (only then are the CLI's signal handlers in place). Sets CLI.
start_guest() {
    "$RUNSC" do "$@" </dev/null >"$TMP/bg.out" 2>"$TMP/bg.err" &
    CLI=$!
    at_exit "kill_sandbox $CLI"
    if ! find_sandbox "$CLI"; then
        fail "[runsc do $*] starts running guest code" "a traced stub" "none ($(cat "$TMP/bg.err"))"
        exit 1
    fi
}

# A guest with a SIGTERM handler (a shell trap) gets the forwarded signal and exits as it says.
# It says "ready" once the trap is set: a SIGTERM before that would be ignored.
start_guest "$BUSYBOX" sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do :; done'
LAST_CMD="SIGTERM to runsc do sh with a TERM trap"
if ! wait_for_line 5 "$TMP/bg.out" ready; then
    fail "[$LAST_CMD] the guest says it is ready" "ready" "$(cat "$TMP/bg.out" "$TMP/bg.err")"
fi
kill -TERM "$CLI"
if wait_exit 5 "$CLI"; then
    load_result "$BG_STATUS" "$TMP/bg.out" "$TMP/bg.err"
    expect_status 3
    expect_stdout $'ready\ngot TERM\n'
else
    fail "[$LAST_CMD] the guest's trap runs and it exits" "exit within 5 s" "still running"
fi

# A guest without a handler: init ignores SIGTERM from outside its namespace, then runsc kills it
# after the grace period (boot.c's TERM_GRACE_SECONDS, 10 s).
start_guest "$BUSYBOX" sleep 100
stub=${STUB_PIDS[0]}
sent=$(now_ms)
BG_STATUS=""
kill -TERM "$CLI"
LAST_CMD="SIGTERM to runsc do sleep 100"
if ! wait_exit 2 "$CLI" && ! gone "$stub"; then
    pass "[$LAST_CMD] the guest ignores SIGTERM like a pid namespace's init: still running after 2 s"
else
    fail "[$LAST_CMD] the guest after 2 s" "still running (init ignores SIGTERM)" \
        "runsc status ${BG_STATUS:-?}, stub ${stub} $(gone "$stub" && echo gone || echo alive)"
fi
if [[ -n $BG_STATUS ]] || wait_exit 11 "$CLI"; then
    elapsed=$(($(now_ms) - sent))
    load_result "$BG_STATUS" "$TMP/bg.out" "$TMP/bg.err"
    expect_status 137
    if ((elapsed >= 9000 && elapsed <= 12000)); then
        pass "[$LAST_CMD] runsc killed the guest after the grace period (${elapsed} ms)"
    else
        fail "[$LAST_CMD] time from SIGTERM to exit" "10 s grace (9000-12000 ms)" "${elapsed} ms"
    fi
    if wait_gone 2 "${STUB_PIDS[@]}" "$FACTORY_PID" "$BOOT_PID"; then
        pass "[$LAST_CMD] no sandbox process is left"
    else
        fail "[$LAST_CMD] sandbox processes left" "none" "$BOOT_PID $FACTORY_PID ${STUB_PIDS[*]}"
    fi
else
    fail "[$LAST_CMD] runsc exits within 13 s of SIGTERM" "exited" "still running"
fi
