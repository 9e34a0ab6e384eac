#!/usr/bin/env bash
# Python-suite conformance: runs CPython's own regression tests (Debian's libpython3.11-testsuite)
# natively, in our runsc and optionally in gVisor, and reports per module how many of the cases
# that pass natively also pass in each sandbox. See tools/pysuite.md.
set -euo pipefail
# The tests run in the caller's locale (test_io's test_default_encoding skips under LC_ALL=C);
# only this script's own text processing uses C.
CALLER_LOCALE=(env -u LC_ALL)
if [[ -n ${LC_ALL+set} ]]; then
    CALLER_LOCALE=(env "LC_ALL=$LC_ALL")
fi
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

OURS_BIN=$REPO_ROOT/build/release/runsc
GVISOR_BIN=/usr/bin/runsc
GVISOR_FLAGS=(--network=none --platform=ptrace)
# The Debian interpreter, whose test package libpython3.11-testsuite provides; a python3.11
# earlier in PATH (pyenv, a venv) may not have it.
PYTHON=/usr/bin/python3.11
DEFAULT_MODULES=(test_os test_fileio test_io test_stat test_glob test_shutil test_tempfile
    test_pathlib test_posixpath test_file)
# --quick also runs the process, signal and time modules that finish fast (about 3 min for both
# runtimes on 2 CPUs); test_subprocess and test_multiprocessing_fork take too long for CI.
QUICK_PROCESS_MODULES=(test_signal test_time test_resource test_pty test_threading
    test.test_asyncio.test_subprocess test.test_asyncio.test_unix_events
    test.test_asyncio.test_events)
THRESHOLD=95
TIMEOUT=""
FULL_TIMEOUT=900
QUICK_TIMEOUT=300
USE_GVISOR=0
QUICK=0
VERBOSE=0
LOG_DIR=""
FROM_LOGS=""
MODULES=()

usage() {
    cat <<EOF
usage: tools/pysuite.sh [options] [MODULE...]
       tools/pysuite.sh --parse LOG

Runs '$PYTHON -m test -v MODULE' natively, as 'RUNSC do ...' and (--gvisor) as
'GVISOR ${GVISOR_FLAGS[*]} do ...', and prints per module the cases passing natively and how
many of them pass in each sandbox. Exit status 0 only if, in every module, our runsc passes at
least the threshold share of the cases that pass natively.

  --runsc PATH       our runsc (default: $OURS_BIN)
  --gvisor           also run in gVisor
  --gvisor-bin PATH  gVisor's runsc (default: $GVISOR_BIN)
  --python PATH      interpreter to test (default: $PYTHON)
  --quick            the CI subset (see QUICK_ARGS in this script), shorter timeout
  --threshold N      percent of native passes runsc must reach per module (default: $THRESHOLD)
  --timeout SECONDS  per module and runtime (default: $FULL_TIMEOUT, --quick: $QUICK_TIMEOUT)
  --logs DIR         keep the logs in DIR/<runtime>/<module>.{log,rc}
  --from-logs DIR    run nothing: report from logs an earlier --logs DIR kept
  -v, --verbose      list the cases passing natively but not in a sandbox
  --parse LOG        print "<status> <case>" for each case in a verbose unittest log
                     (status: pass fail error skip xfail xpass unfinished)
default modules: ${DEFAULT_MODULES[*]}
EOF
}

die() {
    echo "pysuite.sh: $*" >&2
    exit 2
}

# --- parsing -------------------------------------------------------------------------------
# Reads a 'python -m test -v' (unittest verbosity 2) log and prints one line per case,
# "<status> <description>", in the order the cases started. The runner writes
#   NAME (MODULE.CLASS.NAME) ... ok|FAIL|ERROR|skipped 'why'|expected failure|unexpected success
# where the description may be followed by a docstring line that carries the " ... STATUS", and
# output of the test may come between " ... " and the status (which then starts a line).
# A failing subtest prints "  NAME (ID) [msg] (params) ... FAIL" and its parent then gets no
# status of its own: the parent counts as failed. A case that started but has no status when
# the next one starts or the log ends (a crash, a timeout) is "unfinished". Cases that never
# started (a crash ended the module first) are simply absent.
parse_log() {
    awk '
    function status_word(text) {
        if (text == "ok") return "pass"
        if (text == "FAIL") return "fail"
        if (text == "ERROR") return "error"
        if (text == "expected failure") return "xfail"
        if (text == "unexpected success") return "xpass"
        if (text ~ /^skipped( |$)/) return "skip"
        return ""
    }
    # A failed subtest sticks to its case; "unfinished" never overrides a real status.
    function record(id, st) {
        if (!(id in status)) {
            order[++count] = id
            status[id] = st
            return
        }
        if (st == "unfinished" || status[id] == "fail" || status[id] == "error")
            return
        status[id] = st
    }
    # The status that ends this line, if any: after the last " ... ", or the whole line.
    function trailing_status(text,    pos, tail) {
        tail = text
        while ((pos = index(tail, " ... ")) > 0)
            tail = substr(tail, pos + 5)
        return status_word(tail)
    }
    BEGIN {
        name = "[A-Za-z_][A-Za-z0-9_]*"
        start_re = "^" name " \\(" name "(\\." name ")+\\)"
        pending = ""
    }
    {
        sub(/\r$/, "")
        line = $0
        if (substr(line, 1, 2) == "  " && match(substr(line, 3), start_re " .* \\.\\.\\. ")) {
            # A subtest: only failures count, against the parent case.
            id = substr(line, 3)
            id = substr(id, 1, index(id, ")"))
            st = trailing_status(line)
            if (st == "fail" || st == "error")
                record(id, st)
            next
        }
        if (match(line, start_re) && (RLENGTH == length(line) ||
                                      substr(line, RLENGTH + 1, 5) == " ... ")) {
            if (pending != "")
                record(pending, "unfinished")
            pending = substr(line, 1, RLENGTH)
            if (RLENGTH == length(line))
                next
            line = substr(line, RLENGTH + 6)
            st = status_word(line)
            if (st != "") {
                record(pending, st)
                pending = ""
            }
            next
        }
        if (pending != "") {
            st = trailing_status(line)
            if (st != "") {
                record(pending, st)
                pending = ""
            }
        }
    }
    END {
        if (pending != "")
            record(pending, "unfinished")
        for (i = 1; i <= count; i++)
            print status[order[i]], order[i]
    }' "$1"
}

# compare NATIVE_CASES OTHER_CASES: the cases passing natively ("pass" or "xfail") and the same
# outcome in the other run. Prints "passed N" then "missing <status-there> <case>" for each
# native pass that did not pass there ("absent" if the case never ran there).
compare_cases() {
    awk '
    FILENAME == ARGV[1] {
        if ($1 == "pass" || $1 == "xfail") {
            id = substr($0, length($1) + 2)
            want[id] = $1
            order[++count] = id
        }
        next
    }
    {
        id = substr($0, length($1) + 2)
        got[id] = $1
    }
    END {
        passed = 0
        for (i = 1; i <= count; i++)
            if (order[i] in got && got[order[i]] == want[order[i]])
                passed++
        print "passed", passed
        for (i = 1; i <= count; i++) {
            id = order[i]
            if (!(id in got))
                print "missing", "absent", id
            else if (got[id] != want[id])
                print "missing", got[id], id
        }
    }' "$1" "$2"
}

# --- options -------------------------------------------------------------------------------
while [[ $# -gt 0 ]]; do
    case $1 in
    --runsc) [[ $# -ge 2 ]] || die "--runsc needs a path"; OURS_BIN=$2; shift 2 ;;
    --gvisor) USE_GVISOR=1; shift ;;
    --gvisor-bin) [[ $# -ge 2 ]] || die "--gvisor-bin needs a path"; GVISOR_BIN=$2; shift 2 ;;
    --python) [[ $# -ge 2 ]] || die "--python needs a path"; PYTHON=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --threshold) [[ $# -ge 2 ]] || die "--threshold needs a number"; THRESHOLD=$2; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs seconds"; TIMEOUT=$2; shift 2 ;;
    --logs) [[ $# -ge 2 ]] || die "--logs needs a directory"; LOG_DIR=$2; shift 2 ;;
    --from-logs) [[ $# -ge 2 ]] || die "--from-logs needs a directory"; FROM_LOGS=$2; shift 2 ;;
    -v | --verbose) VERBOSE=1; shift ;;
    --parse)
        [[ $# -eq 2 ]] || die "usage: --parse LOG"
        [[ -r $2 ]] || die "--parse: cannot read $2"
        parse_log "$2"
        exit 0
        ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *) MODULES+=("$1"); shift ;;
    esac
done
if ! [[ $THRESHOLD =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    ! awk -v t="$THRESHOLD" 'BEGIN { exit !(t <= 100) }'; then
    die "--threshold: not a percentage: $THRESHOLD"
fi
if [[ -z $TIMEOUT ]]; then
    TIMEOUT=$FULL_TIMEOUT
    [[ $QUICK -eq 1 ]] && TIMEOUT=$QUICK_TIMEOUT
fi
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "--timeout: not a positive number of seconds: $TIMEOUT"
if [[ ${#MODULES[@]} -eq 0 ]]; then
    MODULES=("${DEFAULT_MODULES[@]}")
    [[ $QUICK -eq 1 ]] && MODULES+=("${QUICK_PROCESS_MODULES[@]}")
fi
# The runs start in a scratch directory: relative paths are the caller's.
[[ $OURS_BIN == /* ]] || OURS_BIN=$PWD/$OURS_BIN
[[ $GVISOR_BIN == /* ]] || GVISOR_BIN=$PWD/$GVISOR_BIN
[[ $PYTHON == /* ]] || PYTHON=$PWD/$PYTHON
for module in "${MODULES[@]}"; do
    [[ $module =~ ^[A-Za-z_][A-Za-z0-9_.]*$ ]] || die "not a test module name: $module"
done

# --quick: every default module, minus what costs time without testing more of the kernel.
# test_io runs each test class twice, against the C implementation (io, class names C*) and the
# pure-Python one (_pyio, Py*); both make the same system calls, and the Py* half holds most of
# test_io's run time (signal-interruption tests that sleep 1-3 s each). The quick run keeps the
# C half, so EINTR/SA_RESTART behaviour (CSignalsTest), buffered and text I/O, and every other
# module in full: os, stat, fileio, glob, shutil, tempfile, pathlib, posixpath, file. About 25 s
# natively and 55 s in gVisor on a 2-CPU machine.
declare -A QUICK_ARGS=([test_io]="-i test.test_io.Py*")

# Per-module regrtest arguments, in every mode. Resources stay off unless a module's tests only
# use localhost: test_socketserver's 'network' resource serves and connects on 127.0.0.1 only
# (never enable it for a module that reaches outside). test_socket's threaded AF_VSOCK stream
# test connects to the host's vsock transport, which hangs natively on VMs without a vsock
# device (and the sandboxes have no AF_VSOCK): it is left out everywhere.
declare -A MODULE_ARGS=([test_socketserver]="-u network"
                        [test_socket]="-i *ThreadedVSOCKSocketStreamTest*")
# Modules that need longer than the default timeout natively (seconds, a floor under --timeout).
declare -A MODULE_TIMEOUT=([test_socket]=1800)

# --- runtimes ------------------------------------------------------------------------------
RUNTIMES=(native runsc)
[[ $USE_GVISOR -eq 1 ]] && RUNTIMES+=(gvisor)
NOTES=()

first_line() {
    local text
    text=$("$@" 2>&1 </dev/null) || true
    text=${text%%$'\n'*}
    echo "${text:-unknown (no output)}"
}

if [[ -n $FROM_LOGS ]]; then
    [[ -d $FROM_LOGS/native ]] || die "--from-logs: no $FROM_LOGS/native directory"
    LOG_DIR=$FROM_LOGS
    RUNTIMES=(native)
    for runtime in runsc gvisor; do
        [[ -d $FROM_LOGS/$runtime ]] && RUNTIMES+=("$runtime")
    done
else
    [[ -x $PYTHON ]] || die "no interpreter at $PYTHON"
    "$PYTHON" -c 'import test.libregrtest' 2>/dev/null ||
        die "$PYTHON has no regression tests: apt-get install libpython3.11-testsuite"
    if [[ ! -x $OURS_BIN || -d $OURS_BIN ]]; then
        NOTES+=("our runsc not found or not executable at $OURS_BIN: every runsc case fails")
    fi
    if [[ $USE_GVISOR -eq 1 ]]; then
        [[ -x $GVISOR_BIN && ! -d $GVISOR_BIN ]] || die "no gVisor runsc at $GVISOR_BIN"
        # As non-root, gVisor's 'do' fails creating its cgroup; --rootless works but is another
        # setup (see tools/bench/README.md).
        if [[ $EUID -ne 0 ]]; then
            GVISOR_FLAGS+=(--rootless)
            NOTES+=("not root: gVisor runs with --rootless")
        fi
    fi
fi

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pysuite.XXXXXX")
trap 'rm -rf "$WORK_DIR"' EXIT
if [[ -z $LOG_DIR ]]; then
    LOG_DIR=$WORK_DIR/logs
fi
LOG_DIR=$(mkdir -p "$LOG_DIR" && cd "$LOG_DIR" && pwd)

# Runs MODULE under RUNTIME, writing its output to LOG_DIR/RUNTIME/MODULE.log and its exit
# status to .rc. Output goes through a pipe, not a redirection to the file: gVisor writes a
# host regular file at its own offset from 0, not the host fd's (see tools/bench/README.md).
# The cwd is a scratch directory on the host, so it exists in the sandboxes too.
run_module() {
    local runtime=$1 module=$2 rc=0 out_dir=$LOG_DIR/$1 start=$SECONDS
    local -a cmd extra=()

    mkdir -p "$out_dir"
    local -a module_args=()
    local timeout=$TIMEOUT
    if [[ $QUICK -eq 1 && -n ${QUICK_ARGS[$module]:-} ]]; then
        read -r -a extra <<<"${QUICK_ARGS[$module]}"
    fi
    if [[ -n ${MODULE_ARGS[$module]:-} ]]; then
        read -r -a module_args <<<"${MODULE_ARGS[$module]}"
        extra+=("${module_args[@]}")
    fi
    if [[ -n ${MODULE_TIMEOUT[$module]:-} && ${MODULE_TIMEOUT[$module]} -gt $timeout ]]; then
        timeout=${MODULE_TIMEOUT[$module]}
    fi
    cmd=("$PYTHON" -m test -v "${extra[@]}" "$module")
    case $runtime in
    runsc) cmd=("$OURS_BIN" "do" "${cmd[@]}") ;;
    gvisor) cmd=("$GVISOR_BIN" "${GVISOR_FLAGS[@]}" "do" "${cmd[@]}") ;;
    esac
    if [[ $runtime == runsc && (! -x $OURS_BIN || -d $OURS_BIN) ]]; then
        echo "runsc not found at $OURS_BIN" >"$out_dir/$module.log"
        echo 127 >"$out_dir/$module.rc"
        return
    fi
    (cd "$WORK_DIR" && "${CALLER_LOCALE[@]}" timeout -k 10 "$timeout" "${cmd[@]}" </dev/null \
        2>&1 | cat >"$out_dir/$module.log"; exit "${PIPESTATUS[0]}") || rc=$?
    # timeout(1) exits 124, or 137 if it had to KILL; a guest killed by SIGKILL also makes
    # 'runsc do' exit 137, so the clock decides.
    if [[ $rc -eq 124 || ($rc -eq 137 && $((SECONDS - start)) -ge $timeout) ]]; then
        rc=timeout
    fi
    echo "$rc" >"$out_dir/$module.rc"
}

describe_exit() {
    case $1 in
    0) echo "ok" ;;
    2) echo "tests failed" ;;
    timeout) echo "timed out" ;;
    "") echo "no exit status" ;;
    *)
        if [[ $1 =~ ^[0-9]+$ && $1 -gt 128 ]]; then
            echo "exit $1 (signal $(($1 - 128)))"
        else
            echo "exit $1"
        fi
        ;;
    esac
}

# --- header --------------------------------------------------------------------------------
echo "pysuite           $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
if [[ -n $FROM_LOGS ]]; then
    echo "logs              $FROM_LOGS (nothing run)"
else
    echo "python            $PYTHON: $(first_line "$PYTHON" --version)"
    echo "runsc             $OURS_BIN do: $(first_line "$OURS_BIN" --version)"
    if [[ $USE_GVISOR -eq 1 ]]; then
        echo "gvisor            $GVISOR_BIN ${GVISOR_FLAGS[*]} do:" \
            "$(first_line "$GVISOR_BIN" --version)"
    fi
    mode="full"
    [[ $QUICK -eq 1 ]] && mode="quick (test_io: C implementation only)"
    echo "mode              $mode, timeout ${TIMEOUT}s per module and runtime"
fi
echo "threshold         runsc must pass ${THRESHOLD}% of each module's native passes"
for note in "${NOTES[@]+"${NOTES[@]}"}"; do
    echo "note: $note"
done
echo

# --- run -----------------------------------------------------------------------------------
if [[ -z $FROM_LOGS ]]; then
    for module in "${MODULES[@]}"; do
        for runtime in "${RUNTIMES[@]}"; do
            start=$SECONDS
            run_module "$runtime" "$module"
            echo "$module/$runtime: $(describe_exit "$(cat "$LOG_DIR/$runtime/$module.rc")")," \
                "$((SECONDS - start)) s" >&2
        done
    done
fi

# --- report --------------------------------------------------------------------------------
percent() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "-" }'
}

row_format="%-16s %7s %7s %7s %7s %7s  %s\n"
# shellcheck disable=SC2059 # the format is ours, fixed above
printf "$row_format" module native runsc runsc% gvisor gvisor% result
# shellcheck disable=SC2059
printf "$row_format" ---------------- ------- ------- ------- ------- ------- ------
failed_modules=0
total_native=0
declare -A TOTAL=([runsc]=0 [gvisor]=0)
DETAILS=()
for module in "${MODULES[@]}"; do
    log=$LOG_DIR/native/$module.log
    [[ -f $log ]] || die "no native log for $module in $LOG_DIR"
    parse_log "$log" >"$WORK_DIR/native.cases"
    native=$(awk '$1 == "pass" || $1 == "xfail"' "$WORK_DIR/native.cases" | wc -l)
    total_native=$((total_native + native))
    declare -A PASSED=([runsc]=- [gvisor]=-)
    reasons=()
    # regrtest exits 0, or 2 if a test failed; anything else (a crash, a timeout) means the
    # native figures are incomplete, and the module fails: raise --timeout or look at the log.
    native_rc=$(cat "$LOG_DIR/native/$module.rc" 2>/dev/null || true)
    native_complete=1
    if [[ $native_rc != 0 && $native_rc != 2 ]]; then
        native_complete=0
        reasons+=("native: $(describe_exit "$native_rc")")
    fi
    for runtime in runsc gvisor; do
        [[ -f $LOG_DIR/$runtime/$module.log ]] || continue
        parse_log "$LOG_DIR/$runtime/$module.log" >"$WORK_DIR/$runtime.cases"
        compare_cases "$WORK_DIR/native.cases" "$WORK_DIR/$runtime.cases" \
            >"$WORK_DIR/$runtime.compare"
        PASSED[$runtime]=$(awk '$1 == "passed" { print $2 }' "$WORK_DIR/$runtime.compare")
        TOTAL[$runtime]=$((TOTAL[$runtime] + PASSED[$runtime]))
        rc=$(cat "$LOG_DIR/$runtime/$module.rc" 2>/dev/null || true)
        if [[ $rc != 0 && $rc != 2 ]]; then
            reasons+=("$runtime: $(describe_exit "$rc")")
        fi
        # A run that produced no case at all usually failed to start: show how.
        if [[ ! -s $WORK_DIR/$runtime.cases && -s $LOG_DIR/$runtime/$module.log ]]; then
            DETAILS+=("$module/$runtime produced no test case; its log begins:")
            while IFS= read -r text; do
                DETAILS+=("    $text")
            done < <(head -n 5 "$LOG_DIR/$runtime/$module.log")
        fi
        if [[ $VERBOSE -eq 1 && ! -s $WORK_DIR/$runtime.cases ]]; then
            DETAILS+=("$module: none of the $native native passes ran in $runtime")
        elif [[ $VERBOSE -eq 1 ]] && grep -q '^missing ' "$WORK_DIR/$runtime.compare"; then
            DETAILS+=("$module: passing natively, not in $runtime (status there, case):")
            while read -r _ there id; do
                DETAILS+=("    $there $id")
            done < <(grep '^missing ' "$WORK_DIR/$runtime.compare")
        fi
    done
    result=ok
    if [[ $native -eq 0 ]]; then
        result=FAIL
        reasons=("no case passes natively" "${reasons[@]+"${reasons[@]}"}")
    elif [[ $native_complete -eq 0 ]]; then
        result=FAIL
    elif [[ ${PASSED[runsc]} == - ]] ||
        ! awk -v p="${PASSED[runsc]}" -v n="$native" -v t="$THRESHOLD" \
            'BEGIN { exit !(100 * p >= t * n) }'; then
        result=FAIL
    fi
    [[ $result == FAIL ]] && failed_modules=$((failed_modules + 1))
    if [[ ${#reasons[@]} -gt 0 ]]; then
        joined=$(printf '; %s' "${reasons[@]}")
        result+=" (${joined#; })"
    fi
    runsc_pct=-
    [[ ${PASSED[runsc]} != - ]] && runsc_pct=$(percent "${PASSED[runsc]}" "$native")
    gvisor_pct=-
    [[ ${PASSED[gvisor]} != - ]] && gvisor_pct=$(percent "${PASSED[gvisor]}" "$native")
    # shellcheck disable=SC2059
    printf "$row_format" "$module" "$native" "${PASSED[runsc]}" "$runsc_pct" "${PASSED[gvisor]}" \
        "$gvisor_pct" "$result"
    unset PASSED
done
total_runsc=-
total_gvisor=-
has() {
    local rt
    for rt in "${RUNTIMES[@]}"; do
        [[ $rt == "$1" ]] && return 0
    done
    return 1
}
has runsc && total_runsc=${TOTAL[runsc]}
has gvisor && total_gvisor=${TOTAL[gvisor]}
runsc_pct=-
[[ $total_runsc != - ]] && runsc_pct=$(percent "$total_runsc" "$total_native")
gvisor_pct=-
[[ $total_gvisor != - ]] && gvisor_pct=$(percent "$total_gvisor" "$total_native")
total_result="all ${#MODULES[@]} modules >= ${THRESHOLD}%"
if [[ $failed_modules -gt 0 ]]; then
    total_result="$failed_modules of ${#MODULES[@]} modules below ${THRESHOLD}%"
fi
# shellcheck disable=SC2059
printf "$row_format" total "$total_native" "$total_runsc" "$runsc_pct" "$total_gvisor" \
    "$gvisor_pct" "$total_result"

if [[ ${#DETAILS[@]} -gt 0 ]]; then
    echo
    printf '%s\n' "${DETAILS[@]}"
fi
[[ $failed_modules -eq 0 ]]
