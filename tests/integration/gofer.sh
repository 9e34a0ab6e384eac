#!/usr/bin/env bash
# `runsc do` starts a gofer (runsc gofer --root=/ --readonly) next to the sandbox: the guest still
# runs as before, the gofer is confined while it serves, it goes away with the sandbox, and a
# gofer that dies while the guest runs makes runsc fail with "gofer died".
# shellcheck disable=SC1010 # `runsc do` is not a loop
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox

# (a) The busybox demo runs as before, with the gofer started.
run "$RUNSC" do "$BUSYBOX" echo hello
expect_status 0
expect_stdout $'hello\n'
expect_stderr ""

run "$RUNSC" do "$BUSYBOX" sh -c 'exit 7'
expect_status 7

# (b) While a guest runs: the gofer is runsc's other child, confined, in its own session.
"$RUNSC" do "$BUSYBOX" sleep 2 </dev/null >"$TMP/sleep.out" 2>"$TMP/sleep.err" &
cli=$!
at_exit "kill_sandbox $cli"
if ! find_sandbox "$cli" || [[ -z $GOFER_PID ]]; then
    fail "a running guest has a gofer next to its sandbox" "runsc-gofer and boot under runsc $cli" \
        "gofer=${GOFER_PID:-none} boot=${BOOT_PID:-none}"
    exit 1
fi
pass "found the gofer $GOFER_PID next to boot $BOOT_PID under runsc $cli"
LAST_CMD="host view of the gofer"
args=$(tr '\0' ' ' </proc/"$GOFER_PID"/cmdline)
if [[ $args == "runsc gofer --root=/ --sock-fd=3 --readonly " ]]; then
    pass "[$LAST_CMD] it serves / read-only on fd 3"
else
    fail "[$LAST_CMD] its command line" "runsc gofer --root=/ --sock-fd=3 --readonly " "$args"
fi
seccomp=$(proc_field "$GOFER_PID" Seccomp) nnp=$(proc_field "$GOFER_PID" NoNewPrivs)
if [[ $seccomp == 2 && $nnp == 1 ]]; then
    pass "[$LAST_CMD] it runs under a seccomp filter with no_new_privs"
else
    fail "[$LAST_CMD] its Seccomp/NoNewPrivs" "2/1" "$seccomp/$nnp"
fi
# CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID and CAP_MKNOD only.
capeff=$(proc_field "$GOFER_PID" CapEff) capbnd=$(proc_field "$GOFER_PID" CapBnd)
if [[ $capeff == 000000000800001f && $capbnd == 000000000800001f ]]; then
    pass "[$LAST_CMD] it keeps only the capabilities serving needs"
else
    fail "[$LAST_CMD] its CapEff/CapBnd" "000000000800001f/000000000800001f" "$capeff/$capbnd"
fi
if [[ $(readlink /proc/"$GOFER_PID"/ns/mnt) != $(readlink /proc/self/ns/mnt) ]]; then
    pass "[$LAST_CMD] it has a mount namespace of its own"
else
    fail "[$LAST_CMD] its mount namespace is the host's"
fi
fds=$(for fd in /proc/"$GOFER_PID"/fd/*; do echo "${fd##*/} $(readlink "$fd")"; done)
if grep -qx '0 /dev/null' <<<"$fds" && grep -qx '1 /dev/null' <<<"$fds" &&
    grep -qE '^3 socket:' <<<"$fds"; then
    pass "[$LAST_CMD] stdin and stdout are /dev/null, the 9P socket is fd 3"
else
    fail "[$LAST_CMD] its fds" "0 and 1 on /dev/null, a socket at 3" "$fds"
fi
if [[ $(ps -o sid= -p "$GOFER_PID" | tr -d ' ') == "$GOFER_PID" ]]; then
    pass "[$LAST_CMD] it leads its own session (the terminal's ^C is the guest's)"
else
    fail "[$LAST_CMD] its session" "$GOFER_PID" "$(ps -o sid= -p "$GOFER_PID")"
fi
gofer=$GOFER_PID
if wait_exit 10 "$cli"; then
    load_result "$BG_STATUS" "$TMP/sleep.out" "$TMP/sleep.err"
    LAST_CMD="runsc do $BUSYBOX sleep 2"
    expect_status 0
    expect_stderr ""
else
    fail "runsc do $BUSYBOX sleep 2 exits within 10 s"
fi
if wait_gone 2 "$gofer"; then
    pass "the gofer is gone once the sandbox has exited"
else
    fail "the gofer $gofer still runs after runsc exited"
fi

# (c) A gofer killed while the guest sleeps: runsc says so, stops the sandbox, and fails.
"$RUNSC" do "$BUSYBOX" sleep 5 </dev/null >"$TMP/kill.out" 2>"$TMP/kill.err" &
cli=$!
at_exit "kill_sandbox $cli"
if ! find_sandbox "$cli" || [[ -z $GOFER_PID ]]; then
    fail "a sleeping guest has a gofer" "a gofer under runsc $cli" "none"
    exit 1
fi
boot=$BOOT_PID
start=$(now_ms)
kill -KILL "$GOFER_PID"
if wait_exit 4 "$cli"; then
    load_result "$BG_STATUS" "$TMP/kill.out" "$TMP/kill.err"
    LAST_CMD="runsc do $BUSYBOX sleep 5 (gofer killed)"
    expect_status_nonzero
    expect_stderr_line "runsc: gofer died: killed by SIGKILL"
    elapsed=$(($(now_ms) - start))
    if ((elapsed < 4000)); then
        pass "[$LAST_CMD] runsc ended ${elapsed} ms after the gofer died, not when the guest did"
    else
        fail "[$LAST_CMD] runsc ended too late" "< 4000 ms" "$elapsed ms"
    fi
    check "the sandbox is gone too" wait_gone 2 "$boot"
else
    fail "runsc exits within 4 s of its gofer's death (guest: sleep 5)"
fi

# (d) By hand, without what `runsc do` passes: a usage error, and a clear one for a non-socket.
run "$RUNSC" gofer
expect_status 2
expect_stderr_contains "runsc: gofer is started by \`runsc do\`"
run "$RUNSC" gofer --root=/ --sock-fd=0
expect_status 1
expect_stderr_contains "runsc: gofer: --sock-fd"

# (e) Rootless: the gofer makes a user namespace of its own to pivot_root in.
dir=$(mktemp -d)
at_exit "rm -rf '$dir'"
chmod 755 "$dir"
cp "$RUNSC" "$dir/runsc"
setpriv --reuid=65534 --regid=65534 --clear-groups "$dir/runsc" do "$BUSYBOX" sleep 2 \
    </dev/null >"$TMP/nobody.out" 2>"$TMP/nobody.err" &
cli=$!
at_exit "kill_sandbox $cli"
if find_sandbox "$cli" && [[ -n $GOFER_PID ]]; then
    LAST_CMD="rootless gofer"
    if [[ $(readlink /proc/"$GOFER_PID"/ns/user) != $(readlink /proc/self/ns/user) ]]; then
        pass "[$LAST_CMD] it runs in a user namespace of its own"
    else
        fail "[$LAST_CMD] its user namespace is the host's"
    fi
    if [[ $(proc_field "$GOFER_PID" Seccomp) == 2 ]]; then
        pass "[$LAST_CMD] it is under its seccomp filter"
    else
        fail "[$LAST_CMD] its Seccomp" 2 "$(proc_field "$GOFER_PID" Seccomp)"
    fi
else
    fail "a rootless guest has a gofer" "a gofer under runsc $cli" "${GOFER_PID:-none}"
fi
if wait_exit 10 "$cli"; then
    load_result "$BG_STATUS" "$TMP/nobody.out" "$TMP/nobody.err"
    LAST_CMD="(as nobody) runsc do $BUSYBOX sleep 2"
    expect_status 0
    expect_stderr ""
else
    fail "rootless runsc do $BUSYBOX sleep 2 exits within 10 s"
fi
