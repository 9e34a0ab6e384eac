#!/usr/bin/env bash
# Shared helpers for the integration tests, sourced by each tests/integration/*.sh. The build
# registers every *.sh here as a test, this one too: run directly, it tests its own checks (each
# must pass on a match and fail, with a FAIL line, on a mismatch).
# A script is run as `SCRIPT RUNSC_BINARY GUEST_DIR` and needs root. Each check prints "ok ..." or
# "FAIL ..." (with actual vs expected); a failed check doesn't stop the script, but the script
# exits 1 at the end if any check failed, or at once if a command outside a check fails.
set -Eeuo pipefail

SCRIPT_NAME=$(basename -- "$0" .sh)

if [[ $# -ne 2 ]]; then
    echo "FAIL $SCRIPT_NAME: usage: $0 RUNSC_BINARY GUEST_DIR (got $# arguments)" >&2
    exit 1
fi
RUNSC=$(realpath -- "$1")
GUEST_DIR=$(realpath -- "$2")
if [[ ! -x $RUNSC || ! -f $RUNSC ]]; then
    echo "FAIL $SCRIPT_NAME: runsc binary '$1' is not an executable file" >&2
    exit 1
fi
if [[ ! -d $GUEST_DIR ]]; then
    echo "FAIL $SCRIPT_NAME: guest directory '$2' does not exist" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "FAIL $SCRIPT_NAME: the integration tests must run as root (uid is $(id -u))" >&2
    exit 1
fi

TMP=$(mktemp -d "/tmp/runsc-it-$SCRIPT_NAME.XXXXXX")
_failures=0
_checks=0
_cleanups=()
# shellcheck disable=SC2034 # for the scripts that source this file
STATUS=0 OUT="" ERR="" LAST_CMD="" BG_STATUS=""

# at_exit CMD: runs CMD (a string for eval) when the script exits, newest first.
at_exit() {
    _cleanups=("$1" "${_cleanups[@]}")
}

_on_exit() {
    local rc=$?
    trap - ERR
    set +e
    for c in "${_cleanups[@]}"; do
        eval "$c"
    done
    rm -rf -- "$TMP"
    if ((rc == 0 && _failures > 0)); then
        rc=1
    fi
    if ((rc != 0)); then
        echo "$SCRIPT_NAME: FAILED ($_failures of $_checks checks failed, exit $rc)" >&2
    else
        echo "$SCRIPT_NAME: all $_checks checks passed"
    fi
    exit "$rc"
}
trap _on_exit EXIT
trap 'echo "FAIL $SCRIPT_NAME:$LINENO: unexpected error in: $BASH_COMMAND" >&2' ERR

# Indents a (possibly multi-line) value for a FAIL report, showing where it ends.
_show() {
    if [[ -z $1 ]]; then
        echo "    (empty)"
    else
        printf '%s' "$1" | sed 's/^/    |/'
        if [[ $1 != *$'\n' ]]; then
            if ((${_EXACT:-0})); then
                echo " (no final newline)"
            else
                echo
            fi
        fi
    fi
}

# _quote STRING: STRING in quotes for a message, control characters escaped.
_quote() {
    if [[ $1 == *[[:cntrl:]]* ]]; then
        printf '%q' "$1"
    else
        printf "'%s'" "$1"
    fi
}

pass() {
    _checks=$((_checks + 1))
    echo "ok $*"
}

# fail WHAT [EXPECTED ACTUAL]: records a failed check.
fail() {
    _checks=$((_checks + 1))
    _failures=$((_failures + 1))
    echo "FAIL $1" >&2
    if [[ $# -ge 3 ]]; then
        echo "  expected:" >&2
        _show "$2" >&2
        echo "  actual:" >&2
        _show "$3" >&2
    fi
}

# check DESCRIPTION COMMAND...: a check passes when COMMAND succeeds.
check() {
    local what=$1
    shift
    if "$@"; then
        pass "$what"
    else
        fail "$what"
    fi
}

# run [--stdin FILE] CMD...: runs CMD with stdin from FILE (default /dev/null) and records STATUS,
# OUT and ERR (exact, with final newlines) for the expect_* checks. A run that takes longer than
# RUN_TIMEOUT seconds (default 20) gets SIGTERM (which runsc passes on), then SIGKILL 2 s later.
run() {
    local stdin=/dev/null
    if [[ $1 == --stdin ]]; then
        stdin=$2
        shift 2
    fi
    LAST_CMD="$*"
    LAST_CMD=${LAST_CMD//"$RUNSC"/runsc}
    STATUS=0
    timeout -k 2 "${RUN_TIMEOUT:-20}" "$@" <"$stdin" >"$TMP/run.out" 2>"$TMP/run.err" || STATUS=$?
    load_result "$STATUS" "$TMP/run.out" "$TMP/run.err"
}

# load_result STATUS OUT_FILE ERR_FILE: sets STATUS, OUT and ERR (exactly, final newlines kept)
# for the expect_* checks, e.g. from a run in the background.
load_result() {
    STATUS=$1
    OUT=$(
        cat -- "$2"
        echo x
    )
    OUT=${OUT%x}
    ERR=$(
        cat -- "$3"
        echo x
    )
    ERR=${ERR%x}
}

# After a failed check on a run, shows the other stream too, as context.
_context() {
    echo "  (stdout was:)" >&2
    _show "$OUT" >&2
    echo "  (stderr was:)" >&2
    _show "$ERR" >&2
}

expect_status() {
    if [[ $STATUS -eq $1 ]]; then
        pass "[$LAST_CMD] exit status $1"
    else
        fail "[$LAST_CMD] exit status" "$1" "$STATUS"
        _context
    fi
}

expect_status_nonzero() {
    if [[ $STATUS -ne 0 ]]; then
        pass "[$LAST_CMD] exit status non-zero ($STATUS)"
    else
        fail "[$LAST_CMD] exit status" "non-zero" "$STATUS"
        _context
    fi
}

expect_stdout() {
    if [[ $OUT == "$1" ]]; then
        pass "[$LAST_CMD] stdout is exactly $(_quote "$1")"
    else
        _EXACT=1 fail "[$LAST_CMD] stdout" "$1" "$OUT"
        echo "  (stderr was:)" >&2
        _show "$ERR" >&2
    fi
}

expect_stderr() {
    if [[ $ERR == "$1" ]]; then
        pass "[$LAST_CMD] stderr is exactly $(_quote "$1")"
    else
        _EXACT=1 fail "[$LAST_CMD] stderr" "$1" "$ERR"
    fi
}

# _expect_stream NAME VALUE MODE PATTERN: MODE is contains|lacks (fixed string), line (a whole
# line, fixed string) or matches (an extended regex matching within one line).
_expect_stream() {
    local name=$1 value=$2 mode=$3 pattern=$4 ok=false
    case $mode in
    contains) if [[ $value == *"$pattern"* ]]; then ok=true; fi ;;
    lacks) if [[ $value != *"$pattern"* ]]; then ok=true; fi ;;
    line) if grep -qxF -- "$pattern" <<<"$value"; then ok=true; fi ;;
    matches) if grep -qE -- "$pattern" <<<"$value"; then ok=true; fi ;;
    esac
    if $ok; then
        pass "[$LAST_CMD] $name $mode $(_quote "$pattern")"
    else
        fail "[$LAST_CMD] $name" "$mode: $pattern"$'\n' "$value"
        if [[ $name == stdout ]]; then
            echo "  (stderr was:)" >&2
            _show "$ERR" >&2
        fi
    fi
}
expect_file_line() { # expect_file_line FILE LINE: FILE has LINE as a whole line
    _expect_stream "file $1" "$(cat -- "$1" 2>/dev/null || echo "(cannot read $1)")" line "$2"
}
expect_stdout_contains() { _expect_stream stdout "$OUT" contains "$1"; }
expect_stderr_contains() { _expect_stream stderr "$ERR" contains "$1"; }
expect_stderr_lacks() { _expect_stream stderr "$ERR" lacks "$1"; }
expect_stderr_line() { _expect_stream stderr "$ERR" line "$1"; }
expect_stderr_matches() { _expect_stream stderr "$ERR" matches "$1"; }

# expect_stderr_first_line LINE: the first line of stderr is exactly LINE.
expect_stderr_first_line() {
    local first=${ERR%%$'\n'*}
    if [[ $first == "$1" ]]; then
        pass "[$LAST_CMD] stderr's first line is $(_quote "$1")"
    else
        fail "[$LAST_CMD] stderr's first line" "$1" "$first"
    fi
}

# --- Host processes of a running sandbox -----------------------------------------------------

# children_of PID: the pids of PID's children (of all its threads), one a line.
children_of() {
    cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' ' '\n' | grep . || true
}

proc_field() { # proc_field PID FIELD: a field of /proc/PID/status ("" once PID is gone)
    awk -v f="$2:" '$1 == f { print $2 }' /proc/"$1"/status 2>/dev/null || true
}

# gone PID: PID no longer exists or is a zombie (it runs nothing any more).
gone() {
    local state
    state=$(proc_field "$1" State)
    [[ -z $state || $state == Z ]]
}

# now_ms: a clock in milliseconds.
# busybox_rootfs DIR APPLET...: DIR/rootfs for a bundle: Debian's static busybox with a link
# per APPLET in bin/, and empty proc, sys, dev and tmp for mount points.
busybox_rootfs() {
    local dir=$1 applet
    shift
    mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" \
        "$dir/rootfs/tmp"
    cp /bin/busybox "$dir/rootfs/bin/busybox"
    for applet in "$@"; do
        ln -sf busybox "$dir/rootfs/bin/$applet"
    done
}

now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# wait_gone SECONDS PID...: waits until every PID is gone; fails (returns 1) after SECONDS
# (a decimal like 2 or 0.5).
wait_gone() {
    local deadline p all
    deadline=$(($(now_ms) + $(_ms "$1")))
    shift
    while :; do
        all=true
        for p in "$@"; do
            if ! gone "$p"; then
                all=false
            fi
        done
        if $all; then
            return 0
        fi
        if (($(now_ms) >= deadline)); then
            return 1
        fi
        sleep 0.02
    done
}

_ms() { # _ms SECONDS: "2" or "0.5" in milliseconds
    local whole=${1%%.*} frac=000
    if [[ $1 == *.* ]]; then
        frac=${1#*.}000
    fi
    echo $((10#$whole * 1000 + 10#${frac:0:3}))
}

# child_named CLI_PID COMM: the first child of CLI_PID whose comm is COMM ("" if none).
child_named() {
    local c
    for c in $(children_of "$1"); do
        if [[ $(cat /proc/"$c"/comm 2>/dev/null) == "$2" ]]; then
            echo "$c"
            return
        fi
    done
}

# boot_child CLI_PID: the CLI's child that is not its gofer (named runsc-gofer), "" if none.
boot_child() {
    local c
    for c in $(children_of "$1"); do
        if [[ $(cat /proc/"$c"/comm 2>/dev/null) != runsc-gofer ]]; then
            echo "$c"
            return
        fi
    done
}

# find_sandbox CLI_PID: waits (up to 10 s) until the sandbox of the `runsc do` at CLI_PID runs
# guest code, and sets BOOT_PID (the CLI's child that is not the gofer), GOFER_PID (the CLI's
# child named runsc-gofer), FACTORY_PID (boot's child named runsc-stubs) and STUB_PIDS (the
# processes with a tracer among the factory's children and theirs: stubs are forked by the
# factory's template stub, or by the factory itself without one). Returns 1 if they never show
# up.
find_sandbox() {
    local cli=$1 deadline=$((SECONDS + 10)) c s
    BOOT_PID="" GOFER_PID="" FACTORY_PID="" STUB_PIDS=()
    while ((SECONDS < deadline)); do
        BOOT_PID=$(boot_child "$cli")
        GOFER_PID=$(child_named "$cli" runsc-gofer)
        FACTORY_PID=""
        STUB_PIDS=()
        if [[ -n $BOOT_PID ]]; then
            for c in $(children_of "$BOOT_PID"); do
                if [[ $(cat /proc/"$c"/comm 2>/dev/null) == runsc-stubs ]]; then
                    FACTORY_PID=$c
                fi
            done
        fi
        if [[ -n $FACTORY_PID ]]; then
            for c in $(children_of "$FACTORY_PID"); do
                for s in "$c" $(children_of "$c"); do
                    if [[ $(proc_field "$s" TracerPid) =~ ^[1-9] ]]; then
                        STUB_PIDS+=("$s")
                    fi
                done
            done
        fi
        if ((${#STUB_PIDS[@]} > 0)); then
            return 0
        fi
        if gone "$cli"; then
            return 1
        fi
        sleep 0.02
    done
    return 1
}

# kill_sandbox CLI_PID: cleanup for a background `runsc do`: SIGKILL to its boot process (pid 1 of
# the sandbox's namespaces, so everything in them dies) and to the CLI, then reaps the CLI.
kill_sandbox() {
    local cli=$1 b
    for b in $(children_of "$cli"); do
        kill -KILL "$b" 2>/dev/null || true
    done
    kill -KILL "$cli" 2>/dev/null || true
    wait "$cli" 2>/dev/null || true
}

# wait_exit SECONDS PID: waits for the background child PID to exit, and sets BG_STATUS to its
# exit status; returns 1 (leaving PID running) if it is still running after SECONDS.
wait_exit() {
    local pid=$2
    if ! wait_gone "$1" "$pid"; then
        return 1
    fi
    BG_STATUS=0
    # shellcheck disable=SC2034 # for the scripts that source this file
    wait "$pid" || BG_STATUS=$?
    return 0
}

# wait_for_line SECONDS FILE LINE: waits until FILE has LINE as a whole line; 1 after SECONDS.
wait_for_line() {
    local deadline
    deadline=$(($(now_ms) + $(_ms "$1")))
    until grep -qxF -- "$3" "$2" 2>/dev/null; do
        if (($(now_ms) >= deadline)); then
            return 1
        fi
        sleep 0.02
    done
}

# --- Self-test, when run as a script ---------------------------------------------------------

# _self_case WANT CODE: runs CODE (expect_* calls on preset values) in a subshell and checks that
# it recorded a failure with a FAIL line (WANT=fail) or a pass with an ok line (WANT=pass).
_self_case() {
    local want=$1 code=$2 out failures
    out=$(
        _failures=0 _checks=0
        eval "$code" 2>&1
        echo "failures=$_failures checks=$_checks"
    )
    failures=$(sed -n 's/^failures=\([0-9]*\) .*/\1/p' <<<"$out")
    if [[ $want == fail && $failures == 1 && ($out == "FAIL "* || $out == *$'\n'"FAIL "*) ]] ||
        [[ $want == pass && $failures == 0 && $out == "ok "* && $out != *"FAIL"* ]]; then
        pass "self-test: [$code] -> $want, as expected"
    else
        fail "self-test: [$code]" "$want" "$out"
    fi
}

# shellcheck disable=SC2016 # the cases are code, expanded when _self_case evals them
_self_test() {
    local live dead
    LAST_CMD="self-test"
    _self_case pass 'STATUS=3; expect_status 3'
    _self_case fail 'STATUS=3; expect_status 0; expect_status 3'
    _self_case fail 'STATUS=3; expect_status 0'
    _self_case pass 'STATUS=1; expect_status_nonzero'
    _self_case fail 'STATUS=0; expect_status_nonzero'
    _self_case pass 'OUT=$'"'"'a\n'"'"'; expect_stdout $'"'"'a\n'"'"
    _self_case fail 'OUT=$'"'"'a\n'"'"'; expect_stdout a'
    _self_case fail 'OUT=""; expect_stdout $'"'"'a\n'"'"
    _self_case pass 'ERR=""; expect_stderr ""'
    _self_case fail 'ERR=x; expect_stderr ""'
    _self_case pass 'ERR="one two"; expect_stderr_contains "e tw"'
    _self_case fail 'ERR="one two"; expect_stderr_contains "three"'
    _self_case pass 'ERR="one two"; expect_stderr_lacks "three"'
    _self_case fail 'ERR="one two"; expect_stderr_lacks "two"'
    _self_case pass 'ERR=$'"'"'a\nb(1) = ?\n'"'"'; expect_stderr_line "b(1) = ?"'
    _self_case fail 'ERR=$'"'"'a\nb(1) = ?x\n'"'"'; expect_stderr_line "b(1) = ?"'
    _self_case pass 'ERR=$'"'"'x\nbrk(NULL) = 0x1f\n'"'"'; expect_stderr_matches "^brk\\(NULL\\) = 0x[0-9a-f]+$"'
    _self_case fail 'ERR=$'"'"'x brk(NULL) = 0x1f\n'"'"'; expect_stderr_matches "^brk\\(NULL\\) = 0x[0-9a-f]+$"'
    _self_case pass 'ERR=$'"'"'first\nsecond\n'"'"'; expect_stderr_first_line first'
    _self_case fail 'ERR=$'"'"'first\nsecond\n'"'"'; expect_stderr_first_line second'
    _self_case pass 'OUT="abc"; expect_stdout_contains b'
    _self_case fail 'OUT="abc"; expect_stdout_contains d'
    printf 'x\nline two\n' >"$TMP/self.txt"
    _self_case pass 'expect_file_line "$TMP/self.txt" "line two"'
    _self_case fail 'expect_file_line "$TMP/self.txt" "line"'
    _self_case fail 'expect_file_line "$TMP/no-such-file" "line"'
    _self_case pass 'check "true succeeds" true'
    _self_case fail 'check "false succeeds" false'

    # The /proc helpers: a live process is not gone, a reaped one is; a process that is not a
    # runsc CLI has no sandbox.
    sleep 30 &
    live=$!
    at_exit "kill $live 2>/dev/null || true; wait $live 2>/dev/null || true"
    true &
    dead=$!
    wait "$dead" || true
    check "self-test: gone is false for a live process" eval '! gone '"$live"
    check "self-test: gone is true for a reaped process" gone "$dead"
    check "self-test: wait_gone times out on a live process" eval '! wait_gone 0.2 '"$live"
    check "self-test: wait_gone returns at once for a reaped process" wait_gone 0.2 "$dead"
    check "self-test: find_sandbox finds nothing under a non-runsc process" \
        eval '! find_sandbox '"$dead"
    check "self-test: wait_for_line finds a line" wait_for_line 0.2 "$TMP/self.txt" "line two"
    check "self-test: wait_for_line times out without the line" \
        eval '! wait_for_line 0.2 "$TMP/self.txt" "line"'
    check "self-test: _ms converts 2 and 0.25 s" eval '[[ $(_ms 2) == 2000 && $(_ms 0.25) == 250 ]]'
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    _self_test
fi
