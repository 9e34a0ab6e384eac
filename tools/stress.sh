#!/usr/bin/env bash
# stress-ng as a conformance oracle: runs each stressor with --verify natively, in our runsc and
# (--gvisor) in gVisor's runsc, and prints one line per stressor with each runtime's outcome.
# A stressor counts for runsc when it passes natively; exit status 0 only if runsc passes every
# one of those.
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
OURS_BIN=$REPO_ROOT/build/release/runsc
GVISOR_BIN=/usr/bin/runsc
GVISOR_FLAGS=(--network=none --platform=ptrace)
# The stressors issue 5 names, as stress-ng 0.15 (Debian 12) calls them: it has no select
# stressor (its poll stressor also calls select and pselect), signalfd is sigfd, and unix is
# sockfd (fds passed over AF_UNIX stream sockets: 0.15's `--sock --sock-domain unix` asks for
# IPPROTO_TCP on AF_UNIX and fails natively). sock and udp use 127.0.0.1 (stress-ng's default).
DEFAULT_STRESSORS=(fork vfork clone exec pthread futex signal sigsegv sigpending pipe fifo epoll
    poll eventfd timerfd sigfd sockpair sock udp unix msg sem-sysv shm-sysv mmap mremap
    brk stack vm clock timer itimer nanosleep getrandom prctl rlimit wait pty)
SECONDS_EACH=3
WORKERS=2
USE_GVISOR=0
TIMEOUT_SLACK=60
STRESSORS=()

usage() {
    cat <<EOF
usage: tools/stress.sh [--runsc PATH] [--gvisor] [--seconds N] [--workers N] [STRESSOR...]

Runs 'stress-ng --STRESSOR WORKERS --verify -t Ns' natively, as 'RUNSC do ...' and (--gvisor)
as 'GVISOR ${GVISOR_FLAGS[*]} do ...'. A run passes when stress-ng exits 0 within N+$TIMEOUT_SLACK s.
Exit status 0 only if runsc passes every stressor that passes natively.
default stressors: ${DEFAULT_STRESSORS[*]}
EOF
}

while [[ $# -gt 0 ]]; do
    case $1 in
    --runsc) OURS_BIN=$2; shift 2 ;;
    --gvisor) USE_GVISOR=1; shift ;;
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "stress.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) STRESSORS+=("$1"); shift ;;
    esac
done
[[ ${#STRESSORS[@]} -gt 0 ]] || STRESSORS=("${DEFAULT_STRESSORS[@]}")
command -v stress-ng >/dev/null || { echo "stress.sh: stress-ng is not installed" >&2; exit 2; }
[[ -x $OURS_BIN ]] || { echo "stress.sh: no runsc at $OURS_BIN" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# run_one NAME STRESSOR PREFIX...: prints "pass", "FAIL(rc)" or "TIMEOUT"; keeps the log.
run_one() {
    local name=$1 stressor=$2
    shift 2
    local log=$WORK/$name.$stressor.log rc=0
    local args=(--"$stressor" "$WORKERS")
    [[ $stressor == unix ]] && args=(--sockfd "$WORKERS")
    (cd "$WORK" && timeout -k 5 $((SECONDS_EACH + TIMEOUT_SLACK)) "$@" stress-ng "${args[@]}" \
        --verify -t "${SECONDS_EACH}s" --temp-path "$WORK") >"$log" 2>&1 </dev/null || rc=$?
    if ((rc == 0)); then
        echo pass
    elif ((rc == 124 || rc == 137)); then
        echo TIMEOUT
    else
        echo "FAIL($rc)"
    fi
}

header=$(printf '%-12s %-10s %-10s' stressor native runsc)
((USE_GVISOR)) && header+=$(printf ' %-10s' gvisor)
echo "$header"
native_pass=0 ours_pass=0 gvisor_pass=0
failed=()
for s in "${STRESSORS[@]}"; do
    n=$(run_one native "$s")
    o=$(run_one runsc "$s" "$OURS_BIN" do)
    g=""
    if ((USE_GVISOR)); then
        g=$(run_one gvisor "$s" "$GVISOR_BIN" "${GVISOR_FLAGS[@]}" do)
    fi
    printf '%-12s %-10s %-10s %s\n' "$s" "$n" "$o" "$g"
    if [[ $n == pass ]]; then
        native_pass=$((native_pass + 1))
        if [[ $o == pass ]]; then ours_pass=$((ours_pass + 1)); else failed+=("$s"); fi
        if [[ $g == pass ]]; then gvisor_pass=$((gvisor_pass + 1)); fi
    fi
done
echo
summary="passing natively: $native_pass; runsc passes $ours_pass of them"
((USE_GVISOR)) && summary+="; gVisor passes $gvisor_pass"
echo "$summary"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "runsc fails: ${failed[*]}"
    for s in "${failed[@]}"; do
        echo "--- runsc $s (last lines of its log)"
        tail -n 5 "$WORK/runsc.$s.log"
    done
    exit 1
fi
