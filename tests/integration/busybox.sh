#!/usr/bin/env bash
# Debian's static busybox runs in the sandbox as it runs natively: output, exit codes, stdio
# streams, stdin, and the status of a guest killed by a fault.
# shellcheck disable=SC1010,SC2016 # `runsc do` is not a loop; guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
if ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
    fail "precondition: $BUSYBOX must be a static busybox (apt install busybox-static): $(file -L "$BUSYBOX")"
    exit 1
fi

run "$RUNSC" do "$BUSYBOX" echo hello
expect_status 0
expect_stdout $'hello\n'
expect_stderr ""

run "$RUNSC" do "$BUSYBOX" sh -c 'exit 7'
expect_status 7
expect_stdout ""

# The guest is pid 1 of its pid namespace: a signal it sends itself with the default action is
# ignored (pid_namespaces(7)), so sh goes on and exits 0. Linux is the oracle.
native_status=0
unshare --pid --fork --kill-child -- "$BUSYBOX" sh -c 'kill -SEGV $$' </dev/null >/dev/null 2>&1 ||
    native_status=$?
run "$RUNSC" do "$BUSYBOX" sh -c 'kill -SEGV $$'
expect_status "$native_status"
if [[ $native_status -eq 0 ]]; then
    pass "natively, init survives its own SIGSEGV (status 0)"
else
    fail "native oracle: init is expected to survive its own SIGSEGV" 0 "$native_status"
fi

# stdout and stderr stay separate streams (sh's >&2 is dup2/fcntl in the sentry).
run "$RUNSC" do "$BUSYBOX" sh -c 'echo out; echo err >&2'
expect_status 0
expect_stdout $'out\n'
expect_stderr $'err\n'

# Shell arithmetic with builtins only: no fork needed.
run "$RUNSC" do "$BUSYBOX" sh -c 'echo $((6*7))'
expect_status 0
expect_stdout $'42\n'

# stdin passes through: cat copies it to stdout.
printf 'piped\n' >"$TMP/stdin"
run --stdin "$TMP/stdin" "$RUNSC" do "$BUSYBOX" cat
expect_status 0
expect_stdout $'piped\n'

# ...and through a pipe too, not only from a file.
run bash -c 'echo piped | "$0" do "$1" cat' "$RUNSC" "$BUSYBOX"
LAST_CMD="echo piped | runsc do $BUSYBOX cat"
expect_status 0
expect_stdout $'piped\n'

# A real fault kills the guest with SIGSEGV: 128 + 11, as a shell reports it.
SEGV=$GUEST_DIR/prot_none_segv.static
run "$RUNSC" do "$SEGV" read-none
expect_status 139
expect_stdout $'mprotect PROT_NONE: 0\nread-none: about to fault\n'
