#!/usr/bin/env bash
# Nothing a guest does may crash or hang the sentry: a guest makes random system calls with
# random arguments (programs/syscall_fuzz.c: fixed seeds, each child bounded by an alarm), and
# the sandbox must come through: runsc exits with the guest's status 0, the guest's own check
# afterwards (fork, pipe, file) passes, and (in a sanitizer build) the sentry reports no memory
# error or undefined behaviour of its own.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

prog=$TMP/syscall_fuzz
cc -static -O1 -o "$prog" "$(dirname -- "$0")/programs/syscall_fuzz.c"

# 30 children of 2000 calls each, seeds 1..30 (about 15 s; a sanitizer build is slower, hence
# the timeout).
RUN_TIMEOUT=240 run "$RUNSC" --debug-log="$TMP/sentry.log" do "$prog" 30 2000 1
expect_status 0
expect_stdout_contains "survived 30 children"
# A sanitizer build reports the sentry's own memory errors and undefined behaviour there.
printf '%s\n' "$ERR" >>"$TMP/sentry.log"
check "no sanitizer report from the sandbox" \
    bash -c "! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' '$TMP/sentry.log'"
