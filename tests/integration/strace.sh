#!/usr/bin/env bash
# `runsc --strace` logs every guest syscall in strace's format: to stderr, or to --debug-log.
# shellcheck disable=SC1010,SC2016 # `runsc do` is not a loop; guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox

# A static busybox's startup, as strace prints it, then how the process ended.
run "$RUNSC" --strace do "$BUSYBOX" true
expect_status 0
expect_stdout ""
expect_stderr_matches '^arch_prctl\(0x1002, 0x[0-9a-f]+\) = 0$'
expect_stderr_matches '^set_tid_address\(0x[0-9a-f]+\) = 1$'
expect_stderr_matches '^brk\(NULL\) = 0x[0-9a-f]+$'
expect_stderr_line 'exit_group(0) = ?'
if [[ $ERR == *$'\n+++ exited with 0 +++\n' ]]; then
    pass "[$LAST_CMD] stderr ends with '+++ exited with 0 +++'"
else
    fail "[$LAST_CMD] stderr's last line" '+++ exited with 0 +++' "$(tail -n 3 <<<"$ERR")"
fi
# Unimplemented syscalls show up as ENOSYS: glibc's rseq registration at startup.
expect_stderr_matches '^rseq\(.*\) = -1 ENOSYS \(Function not implemented\)$'

# Arguments are decoded: the buffer of a write as a C string.
run "$RUNSC" --strace do "$BUSYBOX" echo hi
expect_status 0
expect_stdout $'hi\n'
expect_stderr_line 'write(1, "hi\n", 3) = 3'
expect_stderr_line '+++ exited with 0 +++'

# A non-zero exit status is logged as such.
run "$RUNSC" --strace do "$BUSYBOX" sh -c 'exit 3'
expect_status 3
expect_stderr_line 'exit_group(3) = ?'
expect_stderr_line '+++ exited with 3 +++'

# Without --strace, nothing is logged.
run "$RUNSC" do "$BUSYBOX" echo hi
expect_status 0
expect_stderr ""

# --debug-log=FILE takes the strace lines, and stderr keeps only the guest's own.
log=$TMP/debug.log
run "$RUNSC" --strace --debug-log="$log" do "$BUSYBOX" echo hi
expect_status 0
expect_stdout $'hi\n'
expect_stderr ""
expect_file_line "$log" 'write(1, "hi\n", 3) = 3'
expect_file_line "$log" 'exit_group(0) = ?'
expect_file_line "$log" '+++ exited with 0 +++'
