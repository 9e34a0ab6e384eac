#!/usr/bin/env bash
# Tests tools/pysuite.sh without running Python in a sandbox: its log parser (--parse) on captured
# verbose unittest logs, and its report and exit status (--from-logs) on a set of logs.
#
# tests/tools/pysuite_logs/ holds, per runtime, MODULE.log and MODULE.rc as 'pysuite.sh --logs'
# keeps them. test_stat is real (Debian's python3.11 -m test -v test_stat natively, and in
# gVisor). native/test_sample.log is real output of 'python3.11 -m unittest -v test_sample' for a
# module with one case of each outcome: ok, FAIL, ERROR, skipped, expected failure, unexpected
# success, a docstring description, test output before the status, and failing subtests. The
# runsc and gvisor variants are edited from it: in runsc one case errors and the interpreter
# "crashes" in test_subtests_fail (the log ends there, exit 139); in gVisor the expected failure
# succeeds.
set -uo pipefail
export LC_ALL=C

TOOL=$(cd "$(dirname -- "$0")/../.." && pwd)/tools/pysuite.sh
LOGS=$(cd "$(dirname -- "$0")" && pwd)/pysuite_logs
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_pysuite.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT
failures=0
checks=0

check() { # NAME ACTUAL EXPECTED
    checks=$((checks + 1))
    if [[ $2 == "$3" ]]; then
        echo "ok $1"
    else
        failures=$((failures + 1))
        printf 'FAIL %s\n  actual:   %q\n  expected: %q\n' "$1" "$2" "$3"
    fi
}

check_contains() { # NAME TEXT NEEDLE
    checks=$((checks + 1))
    if [[ $2 == *"$3"* ]]; then
        echo "ok $1"
    else
        failures=$((failures + 1))
        printf 'FAIL %s: %q not found in:\n%s\n' "$1" "$3" "$2"
    fi
}

# "status count" pairs, sorted by status, on one line.
status_counts() {
    awk '{ n[$1]++ } END { for (s in n) print s, n[s] }' | sort | tr '\n' ' '
}

# The row of MODULE in a report, columns squeezed to single spaces.
row_of() { # REPORT MODULE
    awk -v m="$2" '$1 == m' <<<"$1" | tr -s ' '
}

# --- the parser ----------------------------------------------------------------------------
out=$("$TOOL" --parse "$LOGS/native/test_sample.log")
check "parse: sample statuses" "$(status_counts <<<"$out")" \
    "error 2 fail 2 pass 5 skip 1 xfail 1 xpass 1 "
check "parse: docstring on its own line" \
    "$(grep -c '^pass test_docstring (test_sample.Basics.test_docstring)$' <<<"$out")" 1
check "parse: status after the test's output" \
    "$(grep -c '^pass test_prints (test_sample.Basics.test_prints)$' <<<"$out")" 1
check "parse: failed subtests fail their case" \
    "$(grep -c '^fail test_subtests_fail (test_sample.Subtests.test_subtests_fail)$' <<<"$out")" 1
check "parse: an erroring subtest errors its case" \
    "$(grep -c '^error test_subtest_error (test_sample.Subtests.test_subtest_error)$' \
        <<<"$out")" 1
check "parse: passing subtests leave the case passing" \
    "$(grep -c '^pass test_subtests_pass (test_sample.Subtests.test_subtests_pass)$' <<<"$out")" 1
check "parse: cases in the order they ran" "$(head -n 1 <<<"$out")" \
    "pass test_docstring (test_sample.Basics.test_docstring)"
check "parse: nothing from the error summary" "$(grep -c 'setUpClass\|^.*: ' <<<"$out")" 0

out=$("$TOOL" --parse "$LOGS/runsc/test_sample.log")
check "parse: crashed run" "$(status_counts <<<"$out")" \
    "error 3 fail 1 pass 3 skip 1 unfinished 1 xfail 1 xpass 1 "
check "parse: the case running at the crash is unfinished" "$(tail -n 1 <<<"$out")" \
    "unfinished test_subtests_fail (test_sample.Subtests.test_subtests_fail)"

out=$("$TOOL" --parse "$LOGS/native/test_stat.log")
check "parse: real test_stat log" "$(status_counts <<<"$out")" "pass 14 skip 2 "
check "parse: skipped with a reason" \
    "$(grep -c '^skip test_file_attribute_constants (test.test_stat.TestFilemodeCStat.' \
        <<<"$out")" 1

printf 'foo (bar)\nok\nnot a test ... ok\nrunsc: exec /usr/bin/python3.11: failed\n' \
    >"$TMP/junk.log"
check "parse: no case in text that only looks like one" "$("$TOOL" --parse "$TMP/junk.log")" ""

# --- the report ----------------------------------------------------------------------------
report=$("$TOOL" --from-logs "$LOGS" test_sample test_stat)
status=$?
check "report: a module below 95% fails the run" "$status" 1
check "report: sample row" "$(row_of "$report" test_sample)" \
    "test_sample 6 4 66.7% 5 83.3% FAIL (runsc: exit 139 (signal 11))"
check "report: test_stat row" "$(row_of "$report" test_stat)" \
    "test_stat 14 14 100.0% 14 100.0% ok"
check "report: total row" "$(row_of "$report" total)" \
    "total 20 18 90.0% 19 95.0% 1 of 2 modules below 95%"
check "report: no case list without -v" "$(grep -c 'passing natively, not in' <<<"$report")" 0

"$TOOL" --from-logs "$LOGS" --threshold 60 test_sample test_stat >/dev/null
check "report: every module above --threshold 60 passes the run" "$?" 0
"$TOOL" --from-logs "$LOGS" --threshold 67 test_sample test_stat >/dev/null
check "report: 4 of 6 is below --threshold 67" "$?" 1

report=$("$TOOL" --from-logs "$LOGS" -v test_sample)
check_contains "report -v: erroring and absent cases listed" "$report" \
    "not in runsc (status there, case):
    error test_prints_stderr (test_sample.Basics.test_prints_stderr)
    absent test_subtests_pass (test_sample.Subtests.test_subtests_pass)
"
check_contains "report -v: different outcome in gVisor listed" "$report" \
    $'not in gvisor (status there, case):\n    xpass test_xfail (test_sample.Basics.test_xfail)'

# A sandbox that cannot start the interpreter: no case passes there, its log is shown.
mkdir -p "$TMP/logs/native" "$TMP/logs/runsc"
cp "$LOGS/native/test_stat."* "$TMP/logs/native/"
echo "runsc: exec /usr/bin/python3.11: dynamically linked" >"$TMP/logs/runsc/test_stat.log"
echo 126 >"$TMP/logs/runsc/test_stat.rc"
report=$("$TOOL" --from-logs "$TMP/logs" test_stat)
check "report: a runtime that cannot start fails the run" "$?" 1
check "report: its row, no gVisor column" "$(row_of "$report" test_stat)" \
    "test_stat 14 0 0.0% - - FAIL (runsc: exit 126)"
check_contains "report: its log is shown" "$report" \
    "test_stat/runsc produced no test case; its log begins:
    runsc: exec /usr/bin/python3.11: dynamically linked"

# A module with no native pass (a misspelt name, a broken interpreter) fails, whatever runsc did.
echo "test_nothing: no such module" >"$TMP/logs/native/test_nothing.log"
echo 1 >"$TMP/logs/native/test_nothing.rc"
cp "$TMP/logs/native/test_nothing."* "$TMP/logs/runsc/"
report=$("$TOOL" --from-logs "$TMP/logs" test_nothing)
check "report: no native pass fails the run" "$?" 1
check "report: no native pass row" "$(row_of "$report" test_nothing)" \
    "test_nothing 0 0 - - - FAIL (no case passes natively; native: exit 1; runsc: exit 1)"

# A native run that did not finish makes the module's figures incomplete: it fails, even though
# runsc passed every case that had passed natively before the timeout.
mkdir -p "$TMP/timeout/native" "$TMP/timeout/runsc"
cp "$LOGS/native/test_stat.log" "$TMP/timeout/native/"
echo timeout >"$TMP/timeout/native/test_stat.rc"
cp "$LOGS/native/test_stat.log" "$TMP/timeout/runsc/"
echo timeout >"$TMP/timeout/runsc/test_stat.rc"
report=$("$TOOL" --from-logs "$TMP/timeout" test_stat)
check "report: a native timeout fails the run" "$?" 1
check "report: timeout row" "$(row_of "$report" test_stat)" \
    "test_stat 14 14 100.0% - - FAIL (native: timed out; runsc: timed out)"

"$TOOL" --bogus >/dev/null 2>&1
check "usage error exits 2" "$?" 2
"$TOOL" --threshold 101 --from-logs "$LOGS" >/dev/null 2>&1
check "threshold above 100% refused" "$?" 2

echo "test_pysuite_parse: $((checks - failures)) of $checks checks passed"
[[ $failures -eq 0 ]]
