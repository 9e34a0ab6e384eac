#!/usr/bin/env bash
# Benchmark tool: runs the same workloads natively, in our runsc and in gVisor's runsc,
# interleaved in one run, and prints medians and ratios. See tools/bench/README.md.
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BUILD_DIR=$REPO_ROOT/build/bench

OURS_BIN=$REPO_ROOT/build/release/runsc
GVISOR_BIN=/usr/bin/runsc
# gVisor's ptrace platform needs no KVM; --network=none keeps netstack setup out of start time.
GVISOR_FLAGS=(--network=none --platform=ptrace)
REPS=7
ONLY=""
# Iteration counts: a sandboxed run takes ~0.5-1 s; natively getpid is ~100x cheaper, so the
# native loop runs more calls. Per-op figures are what gets compared, not run lengths.
GETPID_ITERS_SANDBOX=20000
GETPID_ITERS_NATIVE=2000000
MMAP_ITERS=20
# clock_gettime from a vDSO costs tens of ns everywhere it has one: the same count for all.
CLOCK_ITERS=2000000
RUN_TIMEOUT=120
BENCHMARKS=(getpid-pinned getpid-unpinned clock_gettime mmap start fork exec pipe-pingpong futex-pingpong thread
    file-open file-stat file-open-host file-stat-host file-getdents file-read file-write)

usage() {
    cat <<EOF
usage: tools/bench/bench.sh [--runsc PATH] [--gvisor PATH] [--reps N] [--only NAME[,NAME...]]

  --runsc PATH   our runsc (default: $OURS_BIN), run as: PATH do CMD
  --gvisor PATH  gVisor's runsc (default: $GVISOR_BIN), run as: PATH ${GVISOR_FLAGS[*]} do CMD
  --reps N       repetitions per benchmark and runtime (default: $REPS)
  --only NAME    run only these benchmarks; a NAME matches every benchmark it prefixes
                 (benchmarks: ${BENCHMARKS[*]}; "getpid" selects both getpid variants)
EOF
}

die() {
    echo "bench.sh: $*" >&2
    exit 1
}

while [[ $# -gt 0 ]]; do
    case $1 in
    --runsc) [[ $# -ge 2 ]] || die "--runsc needs a path"; OURS_BIN=$2; shift 2 ;;
    --gvisor) [[ $# -ge 2 ]] || die "--gvisor needs a path"; GVISOR_BIN=$2; shift 2 ;;
    --reps) [[ $# -ge 2 ]] || die "--reps needs a number"; REPS=$2; shift 2 ;;
    --only) [[ $# -ge 2 ]] || die "--only needs a name"; ONLY=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps: not a positive integer: $REPS"

SELECTED=()
for bench in "${BENCHMARKS[@]}"; do
    if [[ -z $ONLY ]]; then
        SELECTED+=("$bench")
        continue
    fi
    IFS=, read -r -a only_names <<<"$ONLY"
    for name in "${only_names[@]}"; do
        if [[ -n $name && $bench == "$name"* ]]; then
            SELECTED+=("$bench")
            break
        fi
    done
done
[[ ${#SELECTED[@]} -gt 0 ]] || die "--only $ONLY matches no benchmark (have: ${BENCHMARKS[*]})"

# Pin to CPU 1 as asked for; on a single-CPU machine there is only CPU 0.
PIN_CPU=1
if [[ $(nproc --all) -le 1 ]]; then
    PIN_CPU=0
fi

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
trap 'rm -rf "$WORK_DIR"' EXIT

# --- build the workloads -------------------------------------------------------------------
CC=${CC:-gcc}
CFLAGS=(-std=gnu17 -O2 -static -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2
    -Wstrict-prototypes)
mkdir -p "$BUILD_DIR"
for prog in getpid_loop clock_loop mmap_touch walltime proc_ops file_ops; do
    "$CC" "${CFLAGS[@]}" -o "$BUILD_DIR/$prog" "$SCRIPT_DIR/$prog.c" -lpthread ||
        die "build $prog: $CC failed"
done
# Iterations of the process and thread workloads in a sandbox (about half a second each here).
declare -A PROC_OPS_ITERS=([fork]=300 [exec]=100 [pipe-pingpong]=5000 [futex-pingpong]=5000 [thread]=1000)
# File workloads: iterations in a sandbox (native runs do ten times as many), and the size of
# the read and write files. file-*-host use an existing host file (the workload's own binary),
# which a sandbox serves from the host (gVisor: its gofer); the others use files the workload
# creates in its /tmp (a sandbox's in-memory overlay).
declare -A FILE_OPS_ITERS=([file-open]=5000 [file-stat]=5000 [file-open-host]=5000
    [file-stat-host]=5000 [file-getdents]=100)
FILE_MIB=256
# A workload that cannot set up its files in a runtime (ours, before it serves files) prints
# "n/a <why>" and exits with this status: the cell shows n/a instead of FAIL.
NOT_AVAILABLE=77
declare -A NA_REASON # benchmark/runtime -> why, set by run_once

# --- runtimes ------------------------------------------------------------------------------
first_line() {
    local text
    text=$("$@" 2>&1 </dev/null) || true
    text=${text%%$'\n'*}
    echo "${text:-unknown (no output)}"
}

RUNTIMES=(native)
NOTES=()
if [[ -x $OURS_BIN && ! -d $OURS_BIN ]]; then
    RUNTIMES+=(ours)
    OURS_VERSION=$(first_line "$OURS_BIN" --version)
else
    OURS_VERSION="(not found: $OURS_BIN)"
    NOTES+=("our runsc not found or not executable at $OURS_BIN: column 'ours' skipped")
fi
if [[ -x $GVISOR_BIN && ! -d $GVISOR_BIN ]]; then
    RUNTIMES+=(gvisor)
    GVISOR_VERSION=$(first_line "$GVISOR_BIN" --version)
    # As non-root, plain 'runsc do' fails creating its cgroup ("mkdir
    # /sys/fs/cgroup/devices/runsc-N: permission denied"); --rootless works but is a
    # different setup, so say so in the header.
    if [[ $EUID -ne 0 ]]; then
        GVISOR_FLAGS+=(--rootless)
        NOTES+=("not root: gVisor runs with --rootless; run as root for comparable figures")
    fi
else
    GVISOR_VERSION="(not found: $GVISOR_BIN)"
    NOTES+=("gVisor runsc not found or not executable at $GVISOR_BIN: column 'gvisor' skipped")
fi

has_runtime() {
    local rt
    for rt in "${RUNTIMES[@]}"; do
        [[ $rt == "$1" ]] && return 0
    done
    return 1
}

# Sets CMD to the argv that runs "$@" under runtime $1 (a prefix for native is empty).
runtime_command() {
    local runtime=$1
    shift
    case $runtime in
    native) CMD=("$@") ;;
    ours) CMD=("$OURS_BIN" "do" "$@") ;;
    gvisor) CMD=("$GVISOR_BIN" "${GVISOR_FLAGS[@]}" "do" "$@") ;;
    esac
}

# --- one measurement -----------------------------------------------------------------------
# Runs benchmark $1 under runtime $2 once; sets RESULT to the value in the benchmark's display
# unit, or to FAIL after printing why on stderr.
#
# Output is captured through pipes, never by redirecting to a file: gVisor writes to a host
# regular file at its own offset starting at 0 (not the host fd's offset), so redirected
# output of consecutive runs would overwrite itself.
run_once() {
    local bench=$1 runtime=$2 key scale iters mode rc=0 out value
    local -a extra
    local err_file=$WORK_DIR/stderr

    case $bench in
    getpid-*)
        iters=$GETPID_ITERS_SANDBOX
        if [[ $runtime == native ]]; then
            iters=$GETPID_ITERS_NATIVE
        fi
        runtime_command "$runtime" "$BUILD_DIR/getpid_loop" "$iters"
        if [[ $bench == getpid-pinned ]]; then
            CMD=(taskset -c "$PIN_CPU" "${CMD[@]}")
        fi
        key=ns_per_op scale=1
        ;;
    clock_gettime)
        runtime_command "$runtime" "$BUILD_DIR/clock_loop" "$CLOCK_ITERS"
        key=ns_per_op scale=1
        ;;
    mmap)
        runtime_command "$runtime" "$BUILD_DIR/mmap_touch" "$MMAP_ITERS"
        key=ns_per_op scale=1e6
        ;;
    start)
        runtime_command "$runtime" /bin/busybox true
        CMD=("$BUILD_DIR/walltime" "${CMD[@]}")
        key=wall_ns scale=1e6
        ;;
    fork | exec | pipe-pingpong | futex-pingpong | thread)
        # Native runs do ten times the work: they are that much faster.
        iters=${PROC_OPS_ITERS[$bench]}
        if [[ $runtime == native ]]; then
            iters=$((iters * 10))
        fi
        runtime_command "$runtime" "$BUILD_DIR/proc_ops" "${bench%-pingpong}" "$iters"
        key=ns_per_op scale=1e3
        ;;
    file-open | file-stat | file-getdents | file-open-host | file-stat-host)
        iters=${FILE_OPS_ITERS[$bench]}
        if [[ $runtime == native ]]; then
            iters=$((iters * 10))
        fi
        mode=${bench#file-}
        mode=${mode%-host}
        extra=()
        if [[ $bench == *-host ]]; then
            extra=("$BUILD_DIR/file_ops")
        fi
        runtime_command "$runtime" "$BUILD_DIR/file_ops" "$mode" "$iters" "${extra[@]}"
        key=ns_per_op scale=1e3
        ;;
    file-read | file-write)
        runtime_command "$runtime" "$BUILD_DIR/file_ops" "${bench#file-}" "$FILE_MIB"
        key=ns_per_op scale=1e6
        ;;
    esac

    out=$({ timeout -k 5 "$RUN_TIMEOUT" "${CMD[@]}" </dev/null 2>&1 1>&3 3>&- |
        cat >"$err_file"; } 3>&1) || rc=$?
    value=$(awk -v key="$key" -v scale="$scale" \
        '$1 == key && $2 ~ /^[0-9.]+$/ { v = $2 / scale } END { if (v != "") print v }' \
        <<<"$out")
    if [[ $rc -eq 0 && -n $value ]]; then
        RESULT=$value
        return
    fi
    # Only a sandbox may lack what a workload needs; natively that is a failure.
    if [[ $rc -eq $NOT_AVAILABLE && $runtime != native && $out == "n/a "* ]]; then
        RESULT=n/a
        NA_REASON[$bench/$runtime]=${out#n/a }
        NA_REASON[$bench/$runtime]=${NA_REASON[$bench/$runtime]%%$'\n'*}
        return
    fi

    RESULT=FAIL
    {
        if [[ $rc -eq 124 || $rc -eq 137 ]]; then
            echo "  FAIL $bench/$runtime: timed out after ${RUN_TIMEOUT}s"
        elif [[ $rc -ne 0 ]]; then
            echo "  FAIL $bench/$runtime: exit status $rc"
        else
            echo "  FAIL $bench/$runtime: no '$key' line in its output"
        fi
        echo "    command: ${CMD[*]}"
        if [[ -n $out ]]; then
            sed -n '1,10s/^/    stdout: /p' <<<"$out"
        fi
        if [[ -s $err_file ]]; then
            tail -n 20 "$err_file" | sed 's/^/    stderr: /'
        fi
    } >&2
}

# --- statistics and formatting -------------------------------------------------------------
median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
        END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

unit_of() {
    case $1 in
    getpid-* | clock_gettime) echo "ns/call" ;;
    mmap) echo "ms/iter" ;;
    start) echo "ms" ;;
    fork | exec | pipe-pingpong | futex-pingpong | thread) echo "us/op" ;;
    file-getdents) echo "us/list" ;;
    file-read | file-write) echo "ms/${FILE_MIB}M" ;;
    file-*) echo "us/op" ;;
    esac
}

format_value() {
    case $1 in
    FAIL | - | skip | n/a) echo "$1" ;;
    *) awk -v v="$1" 'BEGIN { if (v >= 1000) printf "%.0f", v; else if (v >= 10) printf "%.1f", v;
                              else printf "%.2f", v }' ;;
    esac
}

ratio() {
    case $1/$2 in
    FAIL/* | */FAIL | -/* | */- | skip/* | */skip | n/a/* | */n/a) echo "-" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) { print "-"; exit } r = a / b
            if (r >= 100) printf "%.0fx", r; else if (r >= 10) printf "%.1fx", r;
            else printf "%.2fx", r }' ;;
    esac
}

# --- header --------------------------------------------------------------------------------
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "runsc benchmark   $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "kernel            $(uname -r)"
echo "cpu               ${cpu_model:-unknown} (nproc $(nproc), online $(nproc --all))"
echo "ours              $OURS_BIN: $OURS_VERSION"
echo "gvisor            $GVISOR_BIN ${GVISOR_FLAGS[*]}: $GVISOR_VERSION"
echo "reps              $REPS, order rotated each rep; runtimes: ${RUNTIMES[*]}"
echo "getpid            $GETPID_ITERS_SANDBOX calls sandboxed, $GETPID_ITERS_NATIVE native;" \
    "pinned = whole command under taskset -c $PIN_CPU"
echo "clock_gettime     $CLOCK_ITERS x clock_gettime(CLOCK_MONOTONIC) through libc (the vDSO)"
echo "mmap              $MMAP_ITERS x (mmap 64 MiB anon private, write each 4 KiB page, munmap)"
echo "start             fork to exit of 'RUNTIME do /bin/busybox true' (native: busybox true)"
echo "fork, exec        fork+_exit+wait; fork+execve of a static binary+wait"
echo "file              on files the workload makes in its /tmp (a sandbox's own /tmp):"
echo "                  open+close, stat, getdents64 (1000 entries), ${FILE_MIB} MiB read" \
    "(2nd, cached), ${FILE_MIB} MiB write;"
echo "                  file-*-host: open+close and stat of an existing host file"
for note in "${NOTES[@]+"${NOTES[@]}"}"; do
    echo "note: $note"
done
echo

# Untimed warm-up: page cache for the runtimes' binaries, and an early, readable failure if a
# runtime cannot start at all.
for runtime in "${RUNTIMES[@]}"; do
    run_once start "$runtime"
    if [[ $RESULT == FAIL ]]; then
        echo "note: warm-up of '$runtime' failed (see stderr)"
    fi
done

# --- measure, interleaved ------------------------------------------------------------------
declare -A SAMPLES FAILS NA_COUNT
for bench in "${SELECTED[@]}"; do
    for runtime in "${RUNTIMES[@]}"; do
        SAMPLES[$bench/$runtime]=""
        FAILS[$bench/$runtime]=0
        NA_COUNT[$bench/$runtime]=0
    done
    for ((rep = 0; rep < REPS; rep++)); do
        progress="$bench rep $((rep + 1))/$REPS:"
        count=${#RUNTIMES[@]}
        for ((i = 0; i < count; i++)); do
            runtime=${RUNTIMES[(rep + i) % count]}
            run_once "$bench" "$runtime"
            if [[ $RESULT == FAIL ]]; then
                FAILS[$bench/$runtime]=$((FAILS[$bench/$runtime] + 1))
            elif [[ $RESULT == n/a ]]; then
                NA_COUNT[$bench/$runtime]=$((NA_COUNT[$bench/$runtime] + 1))
            else
                SAMPLES[$bench/$runtime]+=" $RESULT"
            fi
            progress+=" $runtime=$(format_value "$RESULT")"
        done
        echo "$progress" >&2
    done
done

# --- report --------------------------------------------------------------------------------
# A cell is FAIL if any of its runs failed; the median of the runs that passed is noted below.
# It is n/a if every run said the runtime lacks what the workload needs (why is noted below);
# some n/a runs among measured ones count as failed runs.
declare -A MEDIAN
FAIL_NOTES=()
NA_NOTES=()
for bench in "${SELECTED[@]}"; do
    for runtime in native ours gvisor; do
        if ! has_runtime "$runtime"; then
            MEDIAN[$bench/$runtime]=skip
            continue
        fi
        if [[ ${NA_COUNT[$bench/$runtime]} -eq $REPS ]]; then
            MEDIAN[$bench/$runtime]=n/a
            NA_NOTES+=("$bench/$runtime: ${NA_REASON[$bench/$runtime]}")
            continue
        fi
        read -r -a samples <<<"${SAMPLES[$bench/$runtime]}"
        failed=$((FAILS[$bench/$runtime] + NA_COUNT[$bench/$runtime]))
        if [[ $failed -eq 0 ]]; then
            MEDIAN[$bench/$runtime]=$(median "${samples[@]}")
            continue
        fi
        MEDIAN[$bench/$runtime]=FAIL
        note="$bench/$runtime: $failed of $REPS runs failed"
        if [[ ${#samples[@]} -gt 0 ]]; then
            note+=", median of the rest $(format_value "$(median "${samples[@]}")")"
        fi
        FAIL_NOTES+=("$note")
    done
done

row_format="%-16s %-8s %10s %10s %10s %10s %10s %10s\n"
# shellcheck disable=SC2059 # the format is ours, fixed above
printf "$row_format" benchmark unit native ours gvisor ours/nat ours/gv gv/nat
# shellcheck disable=SC2059
printf "$row_format" ---------------- -------- ---------- ---------- ---------- ---------- \
    ---------- ----------
for bench in "${SELECTED[@]}"; do
    native=${MEDIAN[$bench/native]} ours=${MEDIAN[$bench/ours]} gvisor=${MEDIAN[$bench/gvisor]}
    # shellcheck disable=SC2059
    printf "$row_format" "$bench" "$(unit_of "$bench")" "$(format_value "$native")" \
        "$(format_value "$ours")" "$(format_value "$gvisor")" "$(ratio "$ours" "$native")" \
        "$(ratio "$ours" "$gvisor")" "$(ratio "$gvisor" "$native")"
done
for note in "${FAIL_NOTES[@]+"${FAIL_NOTES[@]}"}"; do
    echo "FAIL $note"
done
for note in "${NA_NOTES[@]+"${NA_NOTES[@]}"}"; do
    echo "n/a  $note"
done

echo
echo "samples (in run order within each runtime):"
for bench in "${SELECTED[@]}"; do
    for runtime in "${RUNTIMES[@]}"; do
        line=""
        for value in ${SAMPLES[$bench/$runtime]}; do
            line+=" $(format_value "$value")"
        done
        printf "  %-16s %-7s%s\n" "$bench" "$runtime" "${line:- (none)}"
    done
done
