#!/usr/bin/env bash
# Shared by podman.sh, containerd.sh and docker.sh (sourced, not run). Each engine script is run as
# `SCRIPT RUNTIME_PATH [RUNTIME_FLAG...]` as root. It prints one line per check:
#   PASS <engine>/<check>
#   FAIL <engine>/<check>: <reason>
# then "N passed, N failed" and exits 1 if any check failed. A check never stops the script;
# everything it started (daemons, containers, mounts, temp dirs) is torn down at exit.
# shellcheck disable=SC2016 # single-quoted text is for the generated wrapper
set -uo pipefail

ENGINE=$(basename -- "$0" .sh)
HERE=$(cd -- "$(dirname -- "$0")" && pwd)

if [[ $# -lt 1 ]]; then
    echo "usage: $0 RUNTIME_PATH [RUNTIME_FLAG...]" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "$0: must run as root" >&2
    exit 2
fi
RUNTIME_REAL=$(realpath -- "$1")
shift
RUNTIME_FLAGS=("$@")
if [[ ! -x $RUNTIME_REAL || ! -f $RUNTIME_REAL ]]; then
    echo "$0: runtime '$RUNTIME_REAL' is not an executable file" >&2
    exit 2
fi

# ENGINES_TMPDIR: where the temp dir goes (tests/integration/engines.sh gives one it sweeps).
TMP=$(mktemp -d "${ENGINES_TMPDIR:-/tmp}/engines-$ENGINE.XXXXXX")
chmod 755 "$TMP"
# conmon leaves a file "oom" in its working directory when a container is OOM-killed.
cd "$TMP" || exit 2
_cleanups=()
_passed=0
_failed=0
# Commands taking longer than this (seconds) are killed and their check fails.
T=${ENGINES_TIMEOUT:-60}

pass() {
    _passed=$((_passed + 1))
    echo "PASS $ENGINE/$1"
}

# fail CHECK REASON...
fail() {
    local what=$1
    shift
    _failed=$((_failed + 1))
    echo "FAIL $ENGINE/$what: $(printf '%s' "$*" | tr '\n' ' ' | cut -c1-400)"
}

# at_exit CMD: runs CMD (a string for eval) when the script exits, newest first.
at_exit() {
    _cleanups=("$1" "${_cleanups[@]}")
}

_on_exit() {
    local rc=$? c
    trap - EXIT INT TERM
    if ((rc != 0)); then
        fail script "$ENGINE.sh stopped early (exit $rc)"
    fi
    for c in "${_cleanups[@]}"; do
        eval "$c" >/dev/null 2>&1
    done
    # Mounts left under TMP (overlay snapshots, shm) would make rm fail or cross into them.
    grep -o " ${TMP}[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null
    done
    cd / && rm -rf --one-file-system -- "$TMP" 2>/dev/null
    echo "$ENGINE: $_passed passed, $_failed failed"
    ((_failed == 0))
    exit $?
}
trap _on_exit EXIT
trap 'exit 130' INT TERM

# RUNTIME: the path given to the engine. With flags, a wrapper of the same base name (engines
# treat some runtime names specially) that passes them before the client's own arguments.
# ENGINES_TRACE=FILE (for debugging) makes the wrapper append each call's arguments and exit code
# to FILE; the wrapper then stays the runtime's parent instead of exec'ing it.
RUNTIME=$RUNTIME_REAL
if [[ ${#RUNTIME_FLAGS[@]} -gt 0 || -n ${ENGINES_TRACE:-} ]]; then
    mkdir -p "$TMP/rtbin"
    RUNTIME=$TMP/rtbin/$(basename -- "$RUNTIME_REAL")
    {
        echo '#!/bin/sh'
        if [[ -n ${ENGINES_TRACE:-} ]]; then
            printf 'echo "$(date +%%T.%%N) [$$] $*" >>%q\n' "$ENGINES_TRACE"
            printf '%q' "$RUNTIME_REAL"
        else
            printf 'exec %q' "$RUNTIME_REAL"
        fi
        [[ ${#RUNTIME_FLAGS[@]} -eq 0 ]] || printf ' %q' "${RUNTIME_FLAGS[@]}"
        echo ' "$@"'
        if [[ -n ${ENGINES_TRACE:-} ]]; then
            echo 'rc=$?'
            printf 'echo "$(date +%%T.%%N) [$$] exit $rc" >>%q\n' "$ENGINES_TRACE"
            echo 'exit $rc'
        fi
    } >"$RUNTIME"
    chmod 755 "$RUNTIME"
fi

# The image, built once per run (ENGINES_IMAGE_DIR lets tools/engines.sh share one build).
IMAGE_DIR=${ENGINES_IMAGE_DIR:-$TMP/image}
if [[ ! -f $IMAGE_DIR/image.tar ]]; then
    "$HERE/image.sh" "$IMAGE_DIR" || {
        echo "$0: building the image failed" >&2
        exit 2
    }
fi
# shellcheck disable=SC2034 # for the engine scripts
IMAGE=$(cat "$IMAGE_DIR/name")

# t CMD...: CMD with the time limit; output as CMD's. Sets RC.
t() {
    RC=0
    timeout -k 5 "$T" "$@" || RC=$?
    return $RC
}

# r CMD...: runs CMD with the time limit, stdin from /dev/null, and sets RC, OUT (stdout, trailing
# newlines dropped) and ERR (stderr).
r() {
    RC=0
    timeout -k 5 "$T" "$@" </dev/null >"$TMP/r.out" 2>"$TMP/r.err" || RC=$?
    OUT=$(cat "$TMP/r.out")
    ERR=$(cat "$TMP/r.err")
    return $RC
}

# cpu_quota PID: "QUOTA PERIOD" of the host cgroup PID is in, from /proc/PID/cgroup and the mount
# table (cgroup v1's cpu hierarchy, else v2's cpu.max), or "none".
cpu_quota() {
    local pid=$1 mnt path
    mnt=$(awk '{ for (i = 7; $i != "-"; i++) {} if ($(i + 1) == "cgroup" && index("," $(i + 3) ",", ",cpu,")) { print $5; exit } }' /proc/self/mountinfo)
    if [[ -n $mnt ]]; then
        path=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3; exit }' "/proc/$pid/cgroup")
        echo "$(cat "$mnt$path/cpu.cfs_quota_us" 2>/dev/null || echo none) $(cat "$mnt$path/cpu.cfs_period_us" 2>/dev/null)"
    else
        mnt=$(awk '{ for (i = 7; $i != "-"; i++) {} if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
        path=$(awk -F: '$1 == "0" { print $3; exit }' "/proc/$pid/cgroup")
        cat "$mnt$path/cpu.max" 2>/dev/null || echo none
    fi
}

# expect CHECK WANT_RC WANT_OUT CMD...: passes when CMD exits WANT_RC and prints exactly WANT_OUT
# (WANT_OUT "*" accepts any output).
expect() {
    local what=$1 want_rc=$2 want_out=$3
    shift 3
    r "$@"
    if [[ $RC -ne $want_rc ]]; then
        fail "$what" "exit $RC (want $want_rc); out: $OUT; err: $ERR"
    elif [[ $want_out != "*" && $OUT != "$want_out" ]]; then
        fail "$what" "output '$OUT' (want '$want_out'); err: $ERR"
    else
        pass "$what"
    fi
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds; 1 if it never does. CMD may be
# a function, or `eval '...'` for an expression to evaluate afresh each time.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while ((SECONDS < deadline)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# since_ms START_NS: milliseconds since START_NS (from `date +%s%N`).
since_ms() {
    echo $((($(date +%s%N) - $1) / 1000000))
}

# in_tty COMMAND_STRING: runs the shell command under script(1), which gives it a terminal; sets
# RC and OUT (everything written to the terminal). Retries while script(1) cannot get a pty (this
# machine runs out of them now and then while other tests run).
in_tty() {
    local _
    for _ in 1 2 3 4 5; do
        RC=0
        OUT=$(t script -qec "$1" /dev/null 2>&1) || RC=$?
        [[ $OUT == *"failed to create pseudo-terminal"* ]] || return 0
        sleep 1
    done
}

# delete_leftovers STATE_ROOT: force-deletes every container the runtime still lists under its
# state root (a sandbox whose shim was killed outlives it otherwise).
delete_leftovers() {
    local id
    [[ -d $1 ]] || return 0
    # `list` without flags: gVisor's runsc has no -q.
    for id in $(timeout 20 "$RUNTIME" --root "$1" list 2>/dev/null | awk 'NR > 1 { print $1 }'); do
        timeout 20 "$RUNTIME" --root "$1" delete --force "$id"
    done
}
