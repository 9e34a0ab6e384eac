#!/usr/bin/env bash
# Differential harness: run one guest program natively and inside `runsc do`; Linux is the oracle.
#
# Usage: differential.sh RUNSC_BINARY GUEST_BINARY
#
# GUEST_BINARY is build/guest/NAME.static or NAME.static-pie. Its runs come from NAME.args next to
# this script (without one, the program runs once with no arguments):
#   - each non-empty line is one run; its words, split on spaces, are the arguments;
#   - a line starting with '#' is a comment;
#   - the word '' stands for an empty-string argument;
#   - the word !SIGNAME (e.g. !SIGSEGV) is a directive, not an argument: the run must die of
#     SIGNAME;
#   - the word !noargs is a directive for a run without arguments (a line can't be empty).
#
# Each run happens twice, natively and as `RUNSC_BINARY do GUEST_BINARY ARGS...`, both under
# `env -i PATH=/usr/bin:/bin HOME=/root LANG=C RUNSC_TEST=1`, in the caller's working directory,
# and both as pid 1 of a new pid namespace (natively through `unshare --pid --fork`), since that
# is what `runsc do` makes the guest: init's signal rules (pid_namespaces(7)) apply on both sides,
# and /proc shows that pid namespace (natively a fresh proc mounted by unshare --mount-proc),
# with stdin from /dev/null, stdout and stderr captured to separate files, no other open fds (the
# guest of `runsc do` gets exactly 0, 1 and 2; a CI runner may leak more) and core dumps off. The
# status of a run killed by signal N is 128+N on both sides (bash reports it that way natively;
# runsc exits 128+N itself). stdout, stderr and status must all be identical.
#
# Sanity rule, so that a broken guest can't pass by failing the same way twice: natively, a run
# without !SIGNAME must end its stdout with the line "guest: ok" (what guest.h's guest_ok() prints
# after every check passed), and a run with !SIGNAME must exit with status 128+SIGNAME.
#
# Prints "ok NAME ARGS" per passing run and exits 0; otherwise prints why (a `diff -u` per differing
# stream, labelled native/runsc) and exits 1 after trying every run. Exit 2 is a usage error.
# RUNSC_TEST_TIMEOUT (seconds, default 300) bounds each runsc run.
set -euo pipefail

# The native side runs as pid 1 too, and, as a container's init, leads its own session and
# process group (setsid(1) execs in place: pid 1 is not a group leader before it). unshare(1)
# passes on the child's status, and re-raises the signal that killed it, so the status reads as
# the guest's own.
native_prefix=(unshare --pid --fork --kill-child --mount-proc -- setsid)
if [[ $(id -u) -ne 0 ]]; then
    native_prefix=(unshare --user --map-current-user --pid --fork --kill-child --mount-proc -- setsid)
fi

# Runs "$@" with every inherited fd above 2 closed, as the guest of `runsc do` starts.
exec_with_stdio_only() {
    local fd
    for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        # 255 is bash's own script fd, close-on-exec already.
        if ((fd > 2 && fd != 255)); then
            eval "exec $fd>&-" 2>/dev/null || true
        fi
    done
    exec "$@"
}

die_usage() {
    echo "differential.sh: $*" >&2
    echo "usage: differential.sh RUNSC_BINARY GUEST_BINARY" >&2
    exit 2
}

[[ $# -eq 2 ]] || die_usage "expected 2 arguments, got $#"
[[ -x $1 && -f $1 ]] || die_usage "runsc binary '$1' is not an executable file"
[[ -x $2 && -f $2 ]] || die_usage "guest binary '$2' is not an executable file"
runsc=$(realpath -- "$1")
guest=$(realpath -- "$2")

guest_file=$(basename -- "$guest")
case "$guest_file" in
*.static-pie) name=${guest_file%.static-pie} ;;
*.static) name=${guest_file%.static} ;;
*) die_usage "guest binary '$guest_file' is not NAME.static or NAME.static-pie" ;;
esac
args_file="$(dirname -- "$0")/$name.args"

guest_env=(PATH=/usr/bin:/bin HOME=/root LANG=C RUNSC_TEST=1)
timeout_secs=${RUNSC_TEST_TIMEOUT:-300}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/differential.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

# A killed guest would otherwise leave core files in the shared working directory.
ulimit -c 0

# One run per element: the .args line, or "!noargs" when there is no .args file.
runs=()
if [[ -f $args_file ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        runs+=("$line")
    done <"$args_file"
    [[ ${#runs[@]} -gt 0 ]] || die_usage "$args_file has no runs"
else
    runs=("!noargs")
fi

failed=0

# fail_run LABEL MESSAGE...: report a failed run; the caller moves on to the next one.
fail_run() {
    local label=$1
    shift
    echo "FAIL $label: $*"
    failed=1
}

for line in "${runs[@]}"; do
    read -ra words <<<"$line"
    args=()
    shown=()
    expect_signal=""
    expect_status=""
    for word in "${words[@]}"; do
        case "$word" in
        "!noargs") continue ;;
        "!SIG"*)
            expect_signal=${word#!}
            signum=$(kill -l "$expect_signal" 2>/dev/null) ||
                die_usage "$args_file: unknown signal in '$line'"
            expect_status=$((128 + signum))
            ;;
        "!"*) die_usage "$args_file: unknown directive '$word' in '$line'" ;;
        "''") args+=("") ;;
        *) args+=("$word") ;;
        esac
        shown+=("$word")
    done
    label="$guest_file${shown[*]:+ ${shown[*]}}"

    # The group redirection keeps bash's "Segmentation fault" report for the native run quiet.
    native_status=0
    { (exec_with_stdio_only "${native_prefix[@]}" env -i "${guest_env[@]}" "$guest" "${args[@]}" \
        <"/dev/null" >"$tmp/native.out" 2>"$tmp/native.err"); } 2>/dev/null || native_status=$?

    if [[ -n $expect_signal ]]; then
        if [[ $native_status -ne $expect_status ]]; then
            fail_run "$label" "test is broken: natively exited $native_status," \
                "expected death by $expect_signal ($expect_status); native stdout was:"
            sed 's/^/    /' "$tmp/native.out"
            continue
        fi
    elif [[ $(tail -n 1 "$tmp/native.out") != "guest: ok" ]]; then
        fail_run "$label" "test is broken: natively (status $native_status) stdout does not" \
            "end with 'guest: ok'; native stdout and stderr were:"
        sed 's/^/    /' "$tmp/native.out" "$tmp/native.err"
        continue
    fi

    runsc_status=0
    { timeout -k 10 "$timeout_secs" env -i "${guest_env[@]}" "$runsc" "do" "$guest" "${args[@]}" \
        <"/dev/null" >"$tmp/runsc.out" 2>"$tmp/runsc.err"; } 2>/dev/null || runsc_status=$?

    mismatch=0
    for stream in out err; do
        if ! cmp -s "$tmp/native.$stream" "$tmp/runsc.$stream"; then
            [[ $mismatch -eq 1 ]] || fail_run "$label" "native and runsc differ"
            mismatch=1
            std=$([[ $stream == out ]] && echo stdout || echo stderr)
            diff -u --label "native $std" --label "runsc $std" \
                "$tmp/native.$stream" "$tmp/runsc.$stream" || true
        fi
    done
    if [[ $native_status -ne $runsc_status ]]; then
        [[ $mismatch -eq 1 ]] || fail_run "$label" "native and runsc differ"
        mismatch=1
        hint=""
        [[ $runsc_status -eq 124 ]] && hint=" (124: timed out after ${timeout_secs}s?)"
        echo "exit status: native $native_status, runsc $runsc_status$hint"
    fi
    [[ $mismatch -eq 1 ]] || echo "ok $label"
done

exit "$failed"
